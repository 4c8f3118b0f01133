"""Snapshots written off the request path: `engine.ports.SnapshotWriter` for a process.

The engine service says when a stream's state is due for a snapshot
(`snapshot_due`, which returns at once); a task of this process encodes and saves
it, then deletes all but the newest `keep` snapshots of the stream. States due while
one is being written wait in a map by stream, so a busy stream is written once per
pass, at its newest due state. A stream that stays busy would have the writer
encode its whole state again and again; so after each snapshot the writer rests
until snapshots have taken at most `share` of its time (a snapshot that took 40 ms:
120 ms of rest at a quarter), and loads fold a longer tail meanwhile. `flush`
waits, without rests, until nothing is due (the bootstrap calls it before the
store closes, so a short CLI command leaves its snapshot).
A snapshot that fails to save is logged and skipped: loads fold a longer tail
until the next one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from engine.ports import EventStore, StoredSnapshot, StreamId
from engine.scene import SceneState
from engine.snapshots import SNAPSHOT_SCHEMA, encode_snapshot

log = logging.getLogger("scenestate.snapshots")

SHARE = 0.25  # of the writer's time that snapshots may take while streams stay busy


class Snapshotter:
    def __init__(self, store: EventStore, keep: int = 2, share: float = SHARE) -> None:
        if not 0 < share <= 1:
            raise ValueError(f"share must be above 0 and at most 1, not {share!r}")
        self.store = store
        self.keep = max(keep, 1)
        self.share = share
        self.written = 0
        self._due: dict[StreamId, SceneState] = {}
        self._writing: asyncio.Task[None] | None = None
        self._hurry: asyncio.Event | None = None  # set while someone flushes
        self._rested_at = 0.0  # monotonic time the writer may write again

    def snapshot_due(self, state: SceneState) -> None:
        stream = StreamId(state.scene, state.branch)
        held = self._due.get(stream)
        if held is None or held.version < state.version:
            self._due[stream] = state
        if self._writing is None or self._writing.done():
            self._writing = asyncio.get_running_loop().create_task(self._write_all())

    async def flush(self) -> None:
        """Until every snapshot due so far is written (the writer skips its rests)."""
        hurry = self._hurry = self._hurry or asyncio.Event()
        hurry.set()
        try:
            while self._writing is not None and not self._writing.done():
                await asyncio.shield(self._writing)
        finally:
            hurry.clear()

    async def close(self) -> None:
        await self.flush()

    async def _write_all(self) -> None:
        while self._due:
            await self._rest(self._rested_at - time.monotonic())
            stream = next(iter(self._due))
            state = self._due.pop(stream)
            began = time.monotonic()
            try:
                await self._write(stream, state)
            except Exception:  # a snapshot is an optimisation: never fail its caller
                log.exception("snapshot of %s at v%d not saved", stream, state.version)
            took = time.monotonic() - began
            self._rested_at = began + took / self.share

    async def _rest(self, seconds: float) -> None:
        hurry = self._hurry = self._hurry or asyncio.Event()
        if seconds > 0 and not hurry.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(hurry.wait(), seconds)

    async def _write(self, stream: StreamId, state: SceneState) -> None:
        # encoding a big scene takes a while; other requests go on meanwhile
        data = await asyncio.to_thread(encode_snapshot, state)
        snapshot = StoredSnapshot(state.scene, state.branch, state.version, SNAPSHOT_SCHEMA, data)
        await self.store.save_snapshot(snapshot)
        await self.store.prune_snapshots(stream, self.keep)
        self.written += 1
