"""A real runner process (`scenestate projections run`) killed with SIGKILL in the middle
of its work, then restarted: no event lost, none folded twice."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sqlite3
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

from adapters.store import migrate, open_store
from adapters.store.read_models import open_read_models
from engine.events import EventMetadata, IntentAccepted, NewEvent, NodeAdded, PropertySet
from engine.ports import StreamId
from projections.catalog import default_projections
from projections.generations import list_generations
from projections.runner import ProjectionRunner
from tests.projections.conftest import active_rows, scratch_rows, whole_log

SCENESTATE = Path(sys.executable).parent / "scenestate"
EVENTS = 20_000


async def fill(url: str) -> int:
    """A scene of EVENTS events, appended a few hundred at a time."""
    store = open_store(url)
    meta = EventMetadata("st", "ana", "i-1", "x-1", "test", 1)
    now = datetime.now(UTC)

    def event(payload: object) -> NewEvent:
        return NewEvent(str(uuid.uuid4()), payload, meta, now)  # type: ignore[arg-type]

    try:
        version = 0
        while version < EVENTS:
            batch = [event(IntentAccepted("structured_action", f"edit {version}"))]
            batch += [
                event(NodeAdded(f"n-{version}-{k}", "shot", "root", f"a{k}"))
                if k % 5 == 0
                else event(PropertySet(f"n-{version}-0", "title", f"t{k}"))
                for k in range(499)
            ]
            await store.append(StreamId("big"), batch, version)
            version += len(batch)
        return await store.head_position()
    finally:
        await store.close()


async def positions(url: str) -> dict[str, int]:
    read_models = open_read_models(url)
    try:
        return {g.projection: g.position for g in await list_generations(read_models)}
    finally:
        await read_models.close()


def copy_database(source: Path, target: Path) -> None:
    """A consistent copy of a SQLite database (its write-ahead log included)."""
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)


async def kill_mid_run(url: str, env: dict[str, str]) -> dict[str, int]:
    """Start the runner, SIGKILL it as soon as it has committed something; the
    positions it reached. Small batches leave it a hundred commits to be caught in."""
    read_models = open_read_models(url)
    before = {g.projection: g.position for g in await list_generations(read_models)}
    runner = await asyncio.create_subprocess_exec(
        str(SCENESTATE),
        "projections",
        "run",
        "--batch-size",
        "200",
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        async with asyncio.timeout(60):
            while runner.returncode is None:
                now = await list_generations(read_models)
                if any(g.position > before.get(g.projection, 0) for g in now):
                    break
                await asyncio.sleep(0.005)
        await asyncio.sleep(random.uniform(0.0, 0.02))
        os.killpg(runner.pid, signal.SIGKILL)
    finally:
        if runner.returncode is None:
            os.killpg(runner.pid, signal.SIGKILL)
        await asyncio.wait_for(runner.wait(), 30)
        await read_models.close()
    return await positions(url)


async def test_a_runner_killed_mid_batch_resumes_without_loss_or_repeat(tmp_path: Path) -> None:
    filled = tmp_path / "filled.db"
    await migrate(f"sqlite+aiosqlite:///{filled}")
    head = await fill(f"sqlite+aiosqlite:///{filled}")
    reached: list[dict[str, int]] = []
    for attempt in range(5):  # a fast machine can finish before the kill lands: try again
        database = tmp_path / f"killed-{attempt}.db"
        copy_database(filled, database)
        url = f"sqlite+aiosqlite:///{database}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("SCENESTATE_")}
        env.update(SCENESTATE_DATABASE_URL=url, SCENESTATE_DATA_DIR=str(tmp_path / "data"))
        reached = [await kill_mid_run(url, env)]
        if any(0 < p < head for p in reached[0].values()):
            break
    assert any(0 < p < head for p in reached[0].values()), reached  # killed mid-run
    reached.append(await kill_mid_run(url, env))  # and once more, resuming from there
    store = open_store(url)
    read_models = open_read_models(url)
    try:
        await ProjectionRunner(store, read_models, default_projections()).catch_up()
        assert await active_rows(read_models) == scratch_rows(await whole_log(store))
    finally:
        await read_models.close()
        await store.close()
