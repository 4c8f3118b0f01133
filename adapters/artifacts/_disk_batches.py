"""Artifacts that arrive together are written to disk together.

A worker running many short tasks stores an artifact per task. Written one by one,
each costs a hop to a thread, two temporary files made with `mkstemp`, two
buffered writes and two `fsync`s. Here every put that arrives while a batch is
being written joins the next one, and a batch is one hop to a thread that:

1. writes each new artifact's metadata and bytes to temporary files beside their
   final names (plain `os.open`/`os.write`, under names only this writer uses);
2. makes them all durable in one pass;
3. renames them into place, the metadata before the bytes (so an artifact that
   exists always has its metadata) and makes the renames durable in one pass.

The one pass is `syncfs` on the store's file system where the platform has it
(one call, one journal commit, for the whole batch); elsewhere each file is
synced, then each directory touched once. A reader never sees half a file, and a
put returns only once its artifact would survive a crash: more than before, when
the renames were never synced.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import hashlib
import itertools
import os
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from adapters.artifacts.metadata import describe, encode_metadata

_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
_names = itertools.count()


@dataclass
class _Put:
    data: bytes
    media_type: str
    done: asyncio.Future[str]


@dataclass
class _Staged:
    """One new artifact's temporary files, and where they go."""

    moves: list[tuple[str, str]] = field(default_factory=list)  # (temporary, final)


Outcome = str | OSError


class DiskBatches:
    """Puts of one event loop, written a batch at a time by `write_batch`."""

    def __init__(self, write_batch: Callable[[Sequence[tuple[bytes, str]]], list[Outcome]]) -> None:
        self._write_batch = write_batch
        self._waiting: list[_Put] = []
        self._writer: asyncio.Task[None] | None = None

    async def put(self, data: bytes, media_type: str) -> str:
        loop = asyncio.get_running_loop()
        item = _Put(data, media_type, loop.create_future())
        self._waiting.append(item)
        if self._writer is None or self._writer.done():
            self._writer = loop.create_task(self._write_waiting())
        # the put's caller may give up; the batch it joined is written all the same
        return await asyncio.shield(item.done)

    async def _write_waiting(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting, []
            try:
                outcomes = await asyncio.to_thread(
                    self._write_batch, [(p.data, p.media_type) for p in batch]
                )
            except BaseException as exc:  # the thread itself failed: so did every put
                for put in batch:
                    if not put.done.done():
                        put.done.set_exception(exc)
                if isinstance(exc, asyncio.CancelledError):
                    raise
                continue
            for put, outcome in zip(batch, outcomes, strict=True):
                if put.done.done():
                    continue
                if isinstance(outcome, OSError):
                    put.done.set_exception(outcome)
                else:
                    put.done.set_result(outcome)


class DiskWriter:
    """Writes batches of artifacts under `root` (`<root>/ab/cdef...` and `....json`)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._made: set[str] = set()  # fan-out directories known to exist
        # exclusive names: this writer's own, whichever process or host shares the disk
        self._tag = f".incoming-{secrets.token_hex(6)}-"

    def write_batch(self, items: Sequence[tuple[bytes, str]]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        staged: dict[str, _Staged] = {}
        for data, media_type in items:
            artifact = hashlib.sha256(data).hexdigest()
            outcomes.append(artifact)
            if artifact in staged:
                continue
            try:
                new = self._stage(artifact, data, media_type)
            except OSError as exc:
                outcomes[-1] = exc
                continue
            if new is not None:
                staged[artifact] = new
        if not staged:
            return outcomes
        try:
            self._commit(list(staged.values()))
        except OSError as exc:
            for stage in staged.values():
                for temporary, _ in stage.moves:
                    _remove(temporary)
            failed = set(staged)
            return [exc if isinstance(o, str) and o in failed else o for o in outcomes]
        return outcomes

    def _stage(self, artifact: str, data: bytes, media_type: str) -> _Staged | None:
        """Temporary files for an artifact not stored yet; None if it is stored."""
        folder = os.path.join(self.root, artifact[:2])
        target = os.path.join(folder, artifact[2:])
        if folder in self._made and os.path.exists(target):
            return None
        if folder not in self._made:
            os.makedirs(folder, exist_ok=True)
            self._made.add(folder)
            if os.path.exists(target):
                return None
        sidecar = encode_metadata(describe(data, media_type))
        try:
            return self._stage_files(folder, target, sidecar, data)
        except FileNotFoundError:  # the directory was removed since: make it again
            os.makedirs(folder, exist_ok=True)
            return self._stage_files(folder, target, sidecar, data)

    def _stage_files(self, folder: str, target: str, sidecar: bytes, data: bytes) -> _Staged:
        stage = _Staged()
        try:
            stage.moves.append((self._write(folder, sidecar), target + ".json"))
            stage.moves.append((self._write(folder, data), target))
        except BaseException:
            for temporary, _ in stage.moves:
                _remove(temporary)
            raise
        return stage

    def _write(self, folder: str, data: bytes) -> str:
        temporary = os.path.join(folder, f"{self._tag}{next(_names)}")
        fd = os.open(temporary, _FLAGS, 0o644)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            if _syncfs is None:  # no pass over the whole file system: this file now
                os.fsync(fd)
        except BaseException:
            os.close(fd)
            _remove(temporary)
            raise
        os.close(fd)
        return temporary

    def _commit(self, stages: list[_Staged]) -> None:
        moves = [move for stage in stages for move in stage.moves]
        if _syncfs is not None:
            self._sync_file_system()  # every temporary file, in one call
        for temporary, final in moves:  # per artifact: its metadata, then its bytes
            os.replace(temporary, final)
        if _syncfs is not None:
            self._sync_file_system()  # every rename, in one call
            return
        for folder in sorted({os.path.dirname(final) for _, final in moves}):
            fd = os.open(folder, os.O_RDONLY)
            try:
                _sync_directory(fd)
            finally:
                os.close(fd)

    def _sync_file_system(self) -> None:
        assert _syncfs is not None
        fd = os.open(self.root, os.O_RDONLY)
        try:
            if _syncfs(fd) != 0:
                error = ctypes.get_errno()
                raise OSError(error, os.strerror(error), str(self.root))
        finally:
            os.close(fd)


def _sync_directory(fd: int) -> None:
    with contextlib.suppress(OSError):  # some platforms cannot sync a directory
        os.fsync(fd)


def _remove(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def _find_syncfs() -> Callable[[int], int] | None:
    """Linux's syncfs(2): one call makes everything written on a file system durable."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name, use_errno=True)
        function = libc.syncfs
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int]
    function.restype = ctypes.c_int
    return function


_syncfs = _find_syncfs()
