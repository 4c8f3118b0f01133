"""Artifacts on a local disk, content-addressed: `<root>/ab/cdef...` for sha256 `abcdef...`,
with their metadata beside them in `<root>/ab/cdef....json`.

Writes go to a temporary file in the same directory and are renamed into place,
so a reader never sees half a file; the metadata is renamed into place before the
bytes, so an artifact that exists always has it. Puts that arrive together are
written together, with one pass making them durable (`_disk_batches`). Only 64-hex
names are accepted, so no name a caller supplies can reach outside the store.
"""

from __future__ import annotations

import asyncio
import os
import re
import tempfile
import weakref
from collections.abc import AsyncIterator
from pathlib import Path

from adapters._failures import translates_failures
from adapters.artifacts._disk_batches import DiskBatches, DiskWriter
from adapters.artifacts.metadata import (
    ArtifactMetadata,
    check_range,
    decode_metadata,
    describe,
    encode_metadata,
)
from engine.errors import NotFound

_SHA256 = re.compile(r"^[0-9a-f]{64}\Z")
CHUNK = 256 * 1024


@translates_failures("artifact store", (OSError,))
class FilesystemArtifactStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._writer = DiskWriter(root)
        # puts that arrive together are written together (`_disk_batches`), per loop
        self._batches: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, DiskBatches] = (
            weakref.WeakKeyDictionary()
        )

    def path(self, artifact: str) -> Path:
        """Where an artifact's bytes live (whether or not they exist yet)."""
        if not isinstance(artifact, str) or not _SHA256.match(artifact):
            raise ValueError(f"{artifact!r} is not an artifact id (64 lowercase hex digits)")
        return self.root / artifact[:2] / artifact[2:]

    def _sidecar(self, artifact: str) -> Path:
        target = self.path(artifact)
        return target.with_name(target.name + ".json")

    async def put(self, data: bytes, media_type: str) -> str:
        loop = asyncio.get_running_loop()
        batches = self._batches.get(loop)
        if batches is None:
            batches = self._batches[loop] = DiskBatches(self._writer.write_batch)
        return await batches.put(data, media_type)

    async def get(self, artifact: str) -> bytes:
        target = self.path(artifact)
        try:
            return await asyncio.to_thread(target.read_bytes)
        except FileNotFoundError:
            raise NotFound(f"no artifact {artifact}") from None

    async def exists(self, artifact: str) -> bool:
        return self.path(artifact).exists()

    async def metadata(self, artifact: str) -> ArtifactMetadata:
        return await asyncio.to_thread(self._metadata, artifact)

    def _metadata(self, artifact: str) -> ArtifactMetadata:
        sidecar = self._sidecar(artifact)
        try:
            return decode_metadata(sidecar.read_bytes())
        except FileNotFoundError:
            pass
        # Stores written before metadata existed kept only the media type; describe
        # such an artifact on first request and keep the answer.
        target = self.path(artifact)
        try:
            data = target.read_bytes()
        except FileNotFoundError:
            raise NotFound(f"no artifact {artifact}") from None
        legacy = target.with_name(target.name + ".type")
        media_type = legacy.read_text() if legacy.exists() else "application/octet-stream"
        metadata = describe(data, media_type)
        _write_atomically(sidecar, encode_metadata(metadata))
        return metadata

    def media_type(self, artifact: str) -> str:
        return self._metadata(artifact).media_type

    async def open_range(
        self, artifact: str, start: int = 0, end: int | None = None
    ) -> AsyncIterator[bytes]:
        target = self.path(artifact)
        try:
            size = (await asyncio.to_thread(target.stat)).st_size
        except FileNotFoundError:
            raise NotFound(f"no artifact {artifact}") from None
        stop = check_range(artifact, start, end, size)
        return _chunks(target, start, stop)


async def _chunks(target: Path, start: int, stop: int) -> AsyncIterator[bytes]:
    handle = await asyncio.to_thread(target.open, "rb")
    try:
        await asyncio.to_thread(handle.seek, start)
        position = start
        while position < stop:
            chunk = await asyncio.to_thread(handle.read, min(CHUNK, stop - position))
            if not chunk:
                return
            position += len(chunk)
            yield chunk
    finally:
        handle.close()


def _write_atomically(target: Path, data: bytes) -> None:
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
