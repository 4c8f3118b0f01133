"""On SQLite, read models opened beside the process's event store on the same file
commit through its writer thread: appends and projection commits go in the same
groups, never waiting for each other in SQLite's busy handler, and every row still
lands exactly once."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import make_url

from adapters.store import SqliteEventStore, migrate, open_store
from adapters.store.read_models import open_read_models
from engine.events import EventMetadata, IntentAccepted, NewEvent, NodeAdded, PropertySet
from engine.ports import StreamId
from projections.catalog import default_projections
from projections.runner import ProjectionRunner
from tests.projections.conftest import active_rows, scratch_rows, whole_log

META = EventMetadata("st", "ana", "i-1", "x-1", "test", 1)


def edits(scene: str, start: int) -> list[NewEvent]:
    now = datetime.now(UTC)
    payloads: list[object] = [IntentAccepted("structured_action", f"edit {start}")]
    payloads += [NodeAdded(f"{scene}-n{start}", "shot", "root", f"a{start}")]
    payloads += [PropertySet(f"{scene}-n{start}", "title", f"t{k}") for k in range(3)]
    return [NewEvent(str(uuid.uuid4()), p, META, now) for p in payloads]  # type: ignore[arg-type]


async def test_appends_and_projection_commits_share_the_writer_and_lose_nothing(
    tmp_path: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'one.db'}"
    await migrate(url)
    store = open_store(url)
    read_models = open_read_models(url, beside=store)
    assert isinstance(store, SqliteEventStore)
    assert store.writer_of(make_url(url)) is not None
    assert store.writer_of(make_url(f"sqlite+aiosqlite:///{tmp_path / 'other.db'}")) is None
    runner = ProjectionRunner(store, read_models, default_projections())
    try:

        async def edit(scene: str) -> None:
            version = 0
            for _ in range(20):
                batch = edits(scene, version)
                await store.append(StreamId(scene), batch, version)
                version += len(batch)

        async def fold_meanwhile(editing: asyncio.Future[list[None]]) -> None:
            while not editing.done():
                await runner.catch_up()
                await asyncio.sleep(0)

        editing = asyncio.gather(*(edit(f"scene-{n}") for n in range(8)))
        await asyncio.gather(editing, fold_meanwhile(editing))
        await runner.catch_up()
        assert await active_rows(read_models) == scratch_rows(await whole_log(store))
    finally:
        await read_models.close()
    # the writer stays the store's: closing the read models does not stop appends
    await store.append(StreamId("after"), edits("after", 0), 0)
    await store.close()
