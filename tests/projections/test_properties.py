"""Property tests: for random event sequences, every read model kept up batch by batch
(with restarts and commits that die half-way) equals one folded from scratch, and
every live draft view equals a timeline built from a fresh load."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import make_url

from adapters.store import migrate
from adapters.store.read_models import open_read_models
from engine.errors import InvalidIntent, NotFound, StoreError
from engine.events import RecordedEvent
from engine.intents import parse_intent
from engine.ports import StreamId
from engine.service import SceneService
from engine.tasks import TaskResult, TaskStatus
from projections.catalog import default_projections
from projections.drafts import DraftViews
from projections.errors import ProjectionFailed
from projections.generations import list_generations
from projections.runner import ProjectionRunner
from projections.timeline import timeline_of
from tests.conftest import require_postgres
from tests.memory_store import MemoryStore
from tests.projections.conftest import Crashing, active_rows, scratch_rows

SCENE = "s"
Step = tuple[Any, ...]

steps = st.one_of(
    st.tuples(st.just("shot"), st.integers(1, 4)),
    st.tuples(st.just("title"), st.integers(1, 4), st.sampled_from("abc"), st.booleans()),
    st.tuples(st.just("remove"), st.integers(1, 4)),
    st.tuples(st.just("bind"), st.integers(1, 4), st.integers(0, 3)),
    st.tuples(st.just("diagnose"), st.integers(1, 3), st.booleans()),
    st.tuples(st.just("finish"), st.integers(0, 20), st.booleans()),
    st.tuples(st.just("fork")),
    st.tuples(st.just("merge")),
)
scripts = st.lists(steps, min_size=8, max_size=30)
# (events revealed, batch size, restart the runner, the commit that dies or 0)
plans = st.lists(
    st.tuples(st.integers(1, 40), st.integers(1, 9), st.booleans(), st.integers(0, 3)),
    min_size=1,
    max_size=6,
)


class SteppingClock:
    def __init__(self) -> None:
        self.moment = datetime(2026, 11, 1, tzinfo=UTC)

    def now(self) -> datetime:
        self.moment += timedelta(milliseconds=7)
        return self.moment


class CountingIds:
    def __init__(self) -> None:
        self._next = itertools.count(1)

    def new_id(self) -> str:
        return f"id-{next(self._next)}"


async def play(scenes: SceneService, script: list[Step]) -> None:
    """Run the steps as intents, on a scene that starts with two shots; steps the engine
    refuses are skipped."""
    await _act(scenes, {"name": "create_scene", "title": "S"})
    for n in (1, 2):
        await _step(scenes, ("shot", n))
    for step in script:
        try:
            await _step(scenes, step)
        except (InvalidIntent, NotFound):
            continue


async def _step(scenes: SceneService, step: Step) -> None:
    kind, *args = step
    if kind == "shot":
        await _act(scenes, {"name": "add_node", "kind": "shot", "node": f"shot-{args[0]}"})
    elif kind == "title":
        edit = {"name": "set_property", "node": f"shot-{args[0]}", "prop": "title"}
        await _act(scenes, {**edit, "value": args[1]}, "alt" if args[2] else "main")
    elif kind == "remove":
        await _act(scenes, {"name": "remove_node", "node": f"shot-{args[0]}"})
    elif kind == "bind":
        artifact = hashlib.sha256(f"upload {args[1]}".encode()).hexdigest()
        bind = {"name": "bind_artifact", "node": f"shot-{args[0]}", "slot": "image"}
        await _act(scenes, {**bind, "artifact": artifact})
    elif kind == "diagnose":
        await _act(scenes, {"name": "diagnose", "count": args[0], "chain": args[1]})
    elif kind == "finish":
        await _finish(scenes, args[0], args[1])
    elif kind == "fork":
        await _act(scenes, {"name": "fork_branch"}, "alt")
    else:
        await _act(scenes, {"name": "merge_branch", "source": "alt"})


async def _act(scenes: SceneService, action: dict[str, Any], branch: str = "main") -> None:
    raw = {
        "kind": "structured_action",
        "studio": "st",
        "actor": "ana",
        "scene": SCENE,
        "branch": branch,
        "action": action,
    }
    await scenes.submit(parse_intent(raw, now=scenes.clock.now, new_id=scenes.ids.new_id))


async def _finish(scenes: SceneService, pick: int, ok: bool) -> None:
    state = await scenes.load(SCENE)
    open_tasks = sorted(t for t, task in state.tasks.items() if task.status == TaskStatus.PLANNED)
    if not open_tasks:
        return
    task = state.tasks[open_tasks[pick % len(open_tasks)]]
    artifact = hashlib.sha256(task.id.encode()).hexdigest() if ok else None
    status = TaskStatus.SUCCEEDED if ok else TaskStatus.FAILED
    result = TaskResult(
        task.id, task.attempt, task.execution, SCENE, "main", status, artifact=artifact, studio="st"
    )
    await scenes.record_result(result)


class Revealed:
    """The first `shown` events of a log: a log that grows as the test says."""

    def __init__(self, log: list[RecordedEvent]) -> None:
        self.log = log
        self.shown = 0

    async def head_position(self) -> int:
        return self.shown

    async def read_all(self, after_position: int, limit: int = 1000) -> list[RecordedEvent]:
        return self.log[after_position : min(self.shown, after_position + limit)]


async def check_read_models(
    url: str, schema: str | None, script: list[Step], plan: list[tuple[int, int, bool, int]]
) -> None:
    store = MemoryStore()
    await play(SceneService(store, SteppingClock(), CountingIds()), script)
    read_models = open_read_models(url, schema=schema)
    try:
        tables = {p.name: list(p.tables) for p in default_projections()}
        for old in await list_generations(read_models):  # the previous example's
            await read_models.drop(old.projection, old.generation, tables[old.projection])
        log = Revealed(store.log)
        runner: ProjectionRunner | None = None
        for reveal, batch, restart, crash in plan:
            log.shown = min(len(store.log), log.shown + reveal)
            used = Crashing(read_models, crash) if crash else read_models
            if runner is None or restart or crash:
                runner = ProjectionRunner(log, used, default_projections(), batch_size=batch)  # type: ignore[arg-type]
            try:
                await runner.catch_up()
            except (StoreError, ProjectionFailed):
                runner = None  # its commit was refused half-way: start another
        log.shown = len(store.log)
        await ProjectionRunner(log, read_models, default_projections()).catch_up()  # type: ignore[arg-type]
        assert await active_rows(read_models) == scratch_rows(store.log)
    finally:
        await read_models.close()


@pytest.fixture
def sqlite_db(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'props.db'}"
    asyncio.run(migrate(url))
    return url


@pytest.fixture
def postgres_db() -> Iterator[tuple[str, str]]:
    url = require_postgres()
    schema = f"props_{uuid.uuid4().hex[:12]}"
    asyncio.run(migrate(url, schema=schema))
    yield url, schema
    asyncio.run(_drop_schema(url, schema))


async def _drop_schema(url: str, schema: str) -> None:
    conn = await asyncpg.connect(**make_url(url).translate_connect_args(username="user"))
    try:
        await conn.execute(f"DROP SCHEMA {schema} CASCADE")
    finally:
        await conn.close()


FIXTURE_REUSED = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]


@settings(max_examples=20, deadline=None, suppress_health_check=FIXTURE_REUSED)
@given(script=scripts, plan=plans)
def test_sqlite_read_models_equal_a_fold_from_scratch(
    sqlite_db: str, script: list[Step], plan: list[tuple[int, int, bool, int]]
) -> None:
    asyncio.run(check_read_models(sqlite_db, None, script, plan))


@settings(max_examples=6, deadline=None, suppress_health_check=FIXTURE_REUSED)
@given(script=scripts, plan=plans)
def test_postgres_read_models_equal_a_fold_from_scratch(
    postgres_db: tuple[str, str], script: list[Step], plan: list[tuple[int, int, bool, int]]
) -> None:
    asyncio.run(check_read_models(*postgres_db, script, plan))


async def check_draft_views(script: list[Step]) -> None:
    store = MemoryStore()
    scenes = SceneService(store, SteppingClock(), CountingIds(), cache_size=0)
    drafts = DraftViews(store, scenes)
    following = asyncio.create_task(drafts.run())
    try:
        await asyncio.sleep(0)
        for branch in ("main", "alt"):
            await drafts.timeline(SCENE, branch)
        await play(scenes, script)
        fresh = SceneService(store, SteppingClock(), CountingIds(), cache_size=0)
        for branch in ("main", "alt"):
            head = await store.head_version(_stream(branch))
            live = await asyncio.wait_for(drafts.wait_for(SCENE, branch, head), 10)
            built = timeline_of(await fresh.load(SCENE, branch))
            assert msgspec.structs.replace(live, position=None) == built
    finally:
        following.cancel()


def _stream(branch: str) -> StreamId:
    return StreamId(SCENE, branch)


@settings(max_examples=30, deadline=None)
@given(script=scripts)
def test_live_draft_views_equal_timelines_built_from_scratch(script: list[Step]) -> None:
    asyncio.run(check_draft_views(script))
