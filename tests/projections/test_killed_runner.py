"""A real runner process (`scenestate projections run`) killed with SIGKILL in the middle
of its work, then restarted: no event lost, none folded twice."""

from __future__ import annotations

import asyncio
import os
import random
import signal
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


async def kill_mid_run(url: str, env: dict[str, str], head: int) -> dict[str, int]:
    """Start the runner, let it commit something, SIGKILL it; the positions it reached."""
    runner = await asyncio.create_subprocess_exec(
        str(SCENESTATE),
        "projections",
        "run",
        "--batch-size",
        "2000",
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        before = await positions(url)
        for _ in range(600):
            now = await positions(url)
            if any(now.get(name, 0) > before.get(name, 0) for name in now):
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(random.uniform(0.0, 0.15))
        os.killpg(runner.pid, signal.SIGKILL)
    finally:
        await asyncio.wait_for(runner.wait(), 30)
    return await positions(url)


async def test_a_runner_killed_mid_batch_resumes_without_loss_or_repeat(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'killed.db'}"
    await migrate(url)
    head = await fill(url)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCENESTATE_")}
    env.update(SCENESTATE_DATABASE_URL=url, SCENESTATE_DATA_DIR=str(tmp_path / "data"))
    reached = [await kill_mid_run(url, env, head) for _ in range(2)]
    assert any(0 < p < head for r in reached for p in r.values()), reached  # killed mid-run
    store = open_store(url)
    read_models = open_read_models(url)
    try:
        await ProjectionRunner(store, read_models, default_projections()).catch_up()
        assert await active_rows(read_models) == scratch_rows(await whole_log(store))
    finally:
        await read_models.close()
        await store.close()
