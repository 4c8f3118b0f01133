"""The generation pipeline end to end: intents plan tasks, the dispatcher sends them
over the bus, workers run them, results fold back. On SQLite with the in-process
bus, and on PostgreSQL with NATS JetStream (real servers)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from adapters.bus import JetStreamTaskBus
from adapters.dispatcher import Dispatcher
from api.bootstrap import open_services
from api.config import Settings
from api.runtime import Runtime
from api.services import Services
from api.services.executions import follow
from engine.intents import parse_intent
from engine.ports import StreamId
from engine.retry import RetryPolicy
from engine.tasks import Cancellation, TaskResult, TaskStatus
from tests.conftest import fresh_postgres_database, require_nats

FAST_RETRIES = {"fail": RetryPolicy(initial_interval=0.05, max_attempts=3)}


@pytest.fixture(params=["embedded", "postgres+nats"])
async def services(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Services]:
    options: dict[str, Any] = {"ack_wait": 2.0}
    if request.param == "embedded":
        settings = Settings(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}", None)
        async with open_services(settings, bus_options=options) as opened:
            yield opened
        return
    nats = require_nats()
    options["prefix"] = f"test_{uuid.uuid4().hex[:10]}"
    async with fresh_postgres_database("pipe") as url:
        settings = Settings(tmp_path, url, nats)
        async with open_services(settings, bus_options=options) as opened:
            yield opened
        await JetStreamTaskBus(nats, prefix=options["prefix"]).close(delete=True)


async def act(services: Services, scene: str, action: dict[str, Any]) -> str:
    scenes = services.scenes
    raw = {
        "kind": "structured_action",
        "studio": "st",
        "actor": "ana",
        "scene": scene,
        "action": action,
    }
    receipt = await scenes.submit(parse_intent(raw, now=scenes.clock.now, new_id=scenes.ids.new_id))
    return receipt.execution_id


async def finish(services: Services, scene: str, execution: str, runtime: Runtime) -> Any:
    return await asyncio.wait_for(
        follow(services, scene, "main", execution, check=runtime.check if runtime else None), 60
    )


async def test_tasks_run_on_workers_and_fold_back(services: Services) -> None:
    await act(services, "s", {"name": "create_scene"})
    execution = await act(services, "s", {"name": "diagnose", "count": 12, "operation": "echo"})
    async with Runtime(services, workers=2) as runtime:
        progress = await finish(services, "s", execution, runtime)
    assert (progress.status, progress.done, progress.total) == ("succeeded", 12, 12)
    for task in progress.tasks:
        assert task.status == TaskStatus.SUCCEEDED and task.artifact is not None
        assert await services.artifacts.exists(task.artifact)
        assert task.worker and task.run_time >= 0


async def test_a_permanent_failure_fails_at_once_and_blocks_dependents(services: Services) -> None:
    await act(services, "s", {"name": "create_scene"})
    execution = await act(
        services,
        "s",
        {
            "name": "diagnose",
            "count": 3,
            "operation": "fail",
            "chain": True,
            "params": {"kind": "invalid_input"},
        },
    )
    async with Runtime(services, policies=FAST_RETRIES) as runtime:
        progress = await finish(services, "s", execution, runtime)
    first, *rest = sorted(progress.tasks, key=lambda t: t.description)
    assert progress.status == "failed"
    assert (first.status, first.error_kind) == (TaskStatus.FAILED, "invalid_input")
    assert all(t.status == TaskStatus.BLOCKED and t.cause == first.id for t in rest)


async def test_transient_failures_retry_then_give_up_with_the_reason(services: Services) -> None:
    await act(services, "s", {"name": "create_scene"})
    execution = await act(
        services,
        "s",
        {
            "name": "diagnose",
            "operation": "fail",
            "params": {"kind": "unavailable", "message": "503"},
        },
    )
    async with Runtime(services, policies=FAST_RETRIES) as runtime:
        progress = await finish(services, "s", execution, runtime)
    (task,) = progress.tasks
    assert (task.status, task.error_kind, task.error) == (TaskStatus.FAILED, "unavailable", "503")


async def test_a_failed_task_is_retried_in_place_and_nothing_else_reruns(
    services: Services,
) -> None:
    await act(services, "s", {"name": "create_scene"})
    execution = await act(
        services,
        "s",
        {
            "name": "diagnose",
            "operation": "fail",
            "params": {"kind": "invalid_input", "succeed_from_attempt": 2},
        },
    )
    async with Runtime(services, policies=FAST_RETRIES) as runtime:
        failed = await finish(services, "s", execution, runtime)
        first = next(t for t in failed.tasks if t.status == TaskStatus.FAILED)
        await act(services, "s", {"name": "retry_task", "task": first.id})
        done = await finish(services, "s", execution, runtime)
    (retried,) = done.tasks
    assert (done.status, retried.id, retried.attempt) == ("succeeded", first.id, 2)


async def test_cancelling_an_execution_reaches_the_running_worker(services: Services) -> None:
    await act(services, "s", {"name": "create_scene"})
    execution = await act(
        services, "s", {"name": "diagnose", "operation": "sleep", "params": {"seconds": 60}}
    )
    async with Runtime(services, heartbeat=0.2) as runtime:
        for _ in range(400):
            state = await services.scenes.load("s")
            if any(t.status == TaskStatus.RUNNING for t in state.tasks.values()):
                break
            await asyncio.sleep(0.05)
        await act(services, "s", {"name": "cancel_execution", "execution": execution})
        progress = await finish(services, "s", execution, runtime)
        assert progress.status == "canceled"
        # the worker stopped: it reports the task canceled on the bus
        stopped = False
        for _ in range(100):
            log = await services.store.read_all(0, 10_000)
            stopped = any(type(e.payload).__name__ == "TaskCanceled" for e in log)
            if stopped:
                break
            await asyncio.sleep(0.05)
    assert stopped


async def test_a_result_published_twice_is_folded_once(services: Services) -> None:
    await act(services, "s", {"name": "create_scene"})
    execution = await act(services, "s", {"name": "diagnose", "operation": "echo"})
    async with Runtime(services) as runtime:
        progress = await finish(services, "s", execution, runtime)
        (task,) = progress.tasks
        head = (await services.scenes.load("s")).version
        again = TaskResult(
            task.id,
            task.attempt,
            execution,
            "s",
            "main",
            TaskStatus.SUCCEEDED,
            artifact=task.artifact,
            studio="st",
        )
        await services.bus.publish_result(again)
        await services.bus.publish_result(
            TaskResult(
                task.id, task.attempt, execution, "s", "main", TaskStatus.FAILED, studio="st"
            )
        )
        # Results are folded in the order they were published: once a later execution's
        # result is in, the two repeats were seen, and the log says what they did.
        later = await act(services, "s", {"name": "diagnose", "operation": "echo"})
        await finish(services, "s", later, runtime)
    since = await services.store.read_stream(StreamId("s"), head)
    assert any(event.metadata.execution_id == later for event in since)
    assert [e for e in since if getattr(e.payload, "task", None) == task.id] == []


async def test_a_plan_grows_while_it_runs(services: Services) -> None:
    await act(services, "s", {"name": "create_scene"})
    execution = await act(
        services, "s", {"name": "diagnose", "operation": "fan_out", "params": {"count": 3}}
    )
    async with Runtime(services, workers=2) as runtime:
        progress = await finish(services, "s", execution, runtime)
    assert (progress.status, progress.total) == ("succeeded", 4)
    whole = next(t for t in progress.tasks if t.operation == "fan_out")
    parts = [t for t in progress.tasks if t.operation == "echo"]
    assert len(parts) == 3 and all(p.depends_on == [whole.id] for p in parts)


async def _heard_a_probe(services: Services, heard: asyncio.Queue[str]) -> None:
    """Wait until cancellations reach the listener: send probes until one is heard."""
    async with asyncio.timeout(10):
        while True:
            await services.bus.cancel(Cancellation("", "probe", "is the subscription up?"))
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(0.05):
                    if await heard.get() == "probe":
                        break
    while not heard.empty():
        heard.get_nowait()


async def test_a_task_planned_and_canceled_in_one_batch_is_canceled_on_the_bus(
    services: Services,
) -> None:
    """The dispatcher reads the log in batches: a cancellation that follows the task's
    planning in the same batch still reaches the workers."""
    await act(services, "s", {"name": "create_scene"})
    execution = await act(
        services, "s", {"name": "diagnose", "operation": "sleep", "params": {"seconds": 60}}
    )
    await act(services, "s", {"name": "cancel_execution", "execution": execution})
    canceled = await services.scenes.execution("s", "main", execution)
    assert canceled is not None
    planned = {t.id for t in canceled.tasks}
    heard: asyncio.Queue[str] = asyncio.Queue()

    async def listen() -> None:
        async for cancellation in services.bus.cancellations():
            heard.put_nowait(cancellation.task_id)

    listening = asyncio.create_task(listen())
    try:
        await _heard_a_probe(services, heard)
        batch = await services.store.read_all(0, 10_000)
        assert any(type(e.payload).__name__ == "TaskCanceled" for e in batch)
        await Dispatcher(services.store, services.scenes, services.bus).handle(batch)
        task = await asyncio.wait_for(heard.get(), 10)
        assert task in planned
    finally:
        listening.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listening
