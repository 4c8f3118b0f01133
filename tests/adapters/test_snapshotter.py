"""Snapshots off the append's path: the append that makes one due returns before it is
written; the writer saves the newest due state of each stream and keeps only the
newest few; a snapshot that cannot be saved fails nobody."""

from __future__ import annotations

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
