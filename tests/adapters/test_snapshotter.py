"""Snapshots off the append's path: the append that makes one due returns before it is
written; the writer saves the newest due state of each stream and keeps only the
newest few; a snapshot that cannot be saved fails nobody."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from adapters.snapshotter import Snapshotter
from engine.ports import StoredSnapshot, StreamId
from tests.engine.scenes import Studio
from tests.memory_store import MemoryStore


async def test_a_due_snapshot_is_written_after_the_append_returns() -> None:
    store = MemoryStore()
    snapshotter = Snapshotter(store, keep=2)
    studio = Studio(store, snapshot_every=5, snapshots=snapshotter)
    await studio.act("main", "create_scene")
    for n in range(3):
        await studio.set("main", "root", "title", f"take {n}")  # versions 3 .. 8
    assert store.snapshots == {}  # due at version 6, not written on the append's path
    await snapshotter.flush()
    (kept,) = store.snapshots[StreamId(studio.scene)].values()
    assert kept.version == 6
    for n in range(20):
        await studio.set("main", "root", "title", f"again {n}")
    await snapshotter.flush()
    versions = sorted(store.snapshots[StreamId(studio.scene)])
    head = (await studio.state()).version
    assert len(versions) == 2 and versions[-1] > head - 5
    assert await Studio(store).state() == await studio.state()


class Refusing(MemoryStore):
    async def save_snapshot(self, snapshot: StoredSnapshot) -> None:
        raise OSError("disk full")


async def test_a_snapshot_that_cannot_be_saved_fails_nobody(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = Refusing()
    snapshotter = Snapshotter(store)
    studio = Studio(store, snapshot_every=2, snapshots=snapshotter)
    await studio.act("main", "create_scene")
    await studio.set("main", "root", "title", "still here")
    await snapshotter.close()
    assert "not saved" in caplog.text and snapshotter.written == 0
    fresh: Any = Studio(store)
    assert (await fresh.state()).title == "still here"


async def test_a_busy_stream_waits_out_the_writers_rest_but_a_flush_does_not() -> None:
    store = MemoryStore()
    # snapshots may take a millionth of the writer's time: after one, it rests for ages
    snapshotter = Snapshotter(store, keep=5, share=1e-6)
    studio = Studio(store, snapshot_every=2, snapshots=snapshotter)
    await studio.act("main", "create_scene")
    await snapshotter.flush()
    assert snapshotter.written == 1
    await studio.set("main", "root", "title", "later")  # due again
    await studio.set("main", "root", "title", "latest")
    for _ in range(20):  # the writer gets its turns, and rests through them
        await asyncio.sleep(0)
    assert snapshotter.written == 1
    await snapshotter.flush()
    head = (await studio.state()).version
    assert snapshotter.written == 2
    assert max(store.snapshots[StreamId(studio.scene)]) == head


def test_a_share_outside_0_to_1_is_refused() -> None:
    for share in (0.0, -0.5, 1.5):
        with pytest.raises(ValueError, match="share"):
            Snapshotter(MemoryStore(), share=share)
