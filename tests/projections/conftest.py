"""Fixtures for the projection tests: an event store, read models and a scene service on
one fresh database of each kind, and helpers that drive scenes through intents."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from adapters.store import migrate, open_store
from adapters.store.read_models import SqlReadModels, open_read_models
from adapters.system import RandomIds, SystemClock
from engine.events import RecordedEvent
from engine.executions import TaskState
from engine.intents import parse_intent
from engine.ports import EventStore, StreamId
from engine.service import Receipt, SceneService
from engine.tasks import TaskResult, TaskStatus
from projections.catalog import default_projections
from projections.executions import ExecutionsReadModel
from projections.generations import active_generation
from projections.ports import ReadModelStore, TableRows
from projections.projection import fold_rows
from projections.runner import ProjectionRunner
from tests.api.conftest import cli, database_url  # noqa: F401  (fixtures for test_cli)
from tests.conftest import require_postgres


@dataclass
class Backend:
    """One migrated database: its event store, read models and a scene service on it."""

    name: str
    url: str
    schema: str | None
    store: EventStore
    read_models: SqlReadModels
    scenes: SceneService

    def runner(self, batch_size: int = 5000) -> ProjectionRunner:
        return ProjectionRunner(
            self.store, self.read_models, default_projections(), batch_size=batch_size
        )

    async def act(
        self,
        scene: str,
        action: dict[str, Any],
        *,
        branch: str = "main",
        actor: str = "ana",
        studio: str = "st",
    ) -> Receipt:
        raw = {
            "kind": "structured_action",
            "studio": studio,
            "actor": actor,
            "scene": scene,
            "branch": branch,
            "action": action,
        }
        scenes = self.scenes
        return await scenes.submit(
            parse_intent(raw, now=scenes.clock.now, new_id=scenes.ids.new_id)
        )

    async def tasks(self, scene: str, branch: str = "main") -> list[TaskState]:
        """Every task of the branch's executions, running or finished, oldest first."""
        state = await self.scenes.load(scene, branch)
        stream = StreamId(scene, branch)
        finished = await self.scenes.archive.executions(stream, state.version)
        done = [t for record in finished for t in record.tasks if t.id not in state.tasks]
        return [*done, *state.tasks.values()]

    async def finish_task(
        self, scene: str, task_id: str, artifact: str | None, *, ok: bool = True
    ) -> None:
        """Report a task's outcome as a worker would (no bus, no worker)."""
        state = await self.scenes.load(scene)
        task = state.tasks[task_id]
        await self.scenes.record_result(
            TaskResult(
                task_id,
                task.attempt,
                task.execution,
                scene,
                "main",
                TaskStatus.SUCCEEDED if ok else TaskStatus.FAILED,
                artifact=artifact if ok else None,
                worker="w1",
                studio="st",
                operation=task.operation,
            )
        )


@pytest.fixture(params=["sqlite", "postgresql"])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    if request.param == "sqlite":
        async with _backend("sqlite", f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}") as found:
            yield found
        return
    async with postgres_backend() as found:
        yield found


@pytest.fixture
async def sqlite_backend(tmp_path: Path) -> AsyncIterator[Backend]:
    async with _backend("sqlite", f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}") as found:
        yield found


@asynccontextmanager
async def postgres_backend() -> AsyncIterator[Backend]:
    """A new schema of the test PostgreSQL database, dropped afterwards."""
    url = require_postgres()
    schema = f"proj_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(**make_url(url).translate_connect_args(username="user"))
    try:
        async with _backend("postgresql", url, schema) as found:
            yield found
    finally:
        await admin.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        await admin.close()


@asynccontextmanager
async def _backend(name: str, url: str, schema: str | None = None) -> AsyncIterator[Backend]:
    await migrate(url, schema=schema)
    options = {"schema": schema} if schema else {}
    store = open_store(url, **options)
    read_models = open_read_models(url, schema=schema)
    archive = ExecutionsReadModel(store, read_models)
    scenes = SceneService(store, SystemClock(), RandomIds(), archive=archive)
    try:
        yield Backend(name, url, schema, store, read_models, scenes)
    finally:
        await read_models.close()
        await store.close()


def scratch_rows(events: list[RecordedEvent]) -> dict[str, list[tuple[Any, ...]]]:
    """Every read-model row, folded from scratch over the whole log in one go."""
    rows: dict[str, list[tuple[Any, ...]]] = {}
    for projection in default_projections():
        for table, found in fold_rows(projection, events).items():
            rows[table] = sorted(found, key=repr)
    return rows


async def active_rows(read_models: ReadModelStore) -> dict[str, list[tuple[Any, ...]]]:
    """Every row the active generations hold, table by table."""
    rows: dict[str, list[tuple[Any, ...]]] = {}
    for projection in default_projections():
        generation = await active_generation(read_models, projection.name)
        for table in projection.tables:
            rows[table] = sorted(await read_models.dump(table, generation), key=repr)
    return rows


async def whole_log(store: EventStore) -> list[RecordedEvent]:
    return await store.read_all(0, 1_000_000)


class Crashing:
    """Read models whose `crash_at`-th commit dies inside its transaction, after the
    batch's real rows, on a row the database refuses (a NOT NULL column left empty)."""

    def __init__(self, inner: ReadModelStore, crash_at: int) -> None:
        self.inner = inner
        self.crash_at = crash_at
        self.commits = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def commit(
        self, projection: str, generation: int, after: int, up_to: int, rows: Sequence[TableRows]
    ) -> bool:
        self.commits += 1
        if self.commits == self.crash_at and rows:
            table, columns, found = rows[-1]
            poisoned = [*found, tuple(None for _ in columns)]
            rows = [*rows[:-1], (table, columns, poisoned)]
        return await self.inner.commit(projection, generation, after, up_to, rows)
