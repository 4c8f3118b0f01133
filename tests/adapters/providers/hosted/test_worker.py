"""Hosted operations under the real worker loop and the in-process bus: the result a
worker reports says which provider made the artifact and what it cost, and cancelling
the task through the bus cancels the job at the provider."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import AsyncIterator

import pytest

from adapters.bus.memory import MemoryTaskBus
from adapters.operations.hosted import hosted_operations, hosted_providers
from adapters.workers import Worker
from engine.errors import NotFound
from engine.tasks import LANES, Cancellation, TaskResult, TaskStatus

from . import samples
from .conftest import FAST, make_task, until
from .fake_fal import FakeFal
from .fake_replicate import FakeReplicate


class DictArtifacts:
    def __init__(self) -> None:
        self.stored: dict[str, bytes] = {}

    async def put(self, data: bytes, media_type: str) -> str:
        name = hashlib.sha256(data).hexdigest()
        self.stored[name] = data
        return name

    async def get(self, artifact: str) -> bytes:
        if artifact not in self.stored:
            raise NotFound(artifact)
        return self.stored[artifact]

    async def exists(self, artifact: str) -> bool:
        return artifact in self.stored


@pytest.fixture
async def bus() -> AsyncIterator[MemoryTaskBus]:
    bus = MemoryTaskBus()
    yield bus
    await bus.close()


async def settled_result(bus: MemoryTaskBus) -> TaskResult:
    async for delivery in bus.results():
        await delivery.ack()
        if delivery.result.status not in (TaskStatus.RUNNING, TaskStatus.QUEUED):
            return delivery.result
    raise AssertionError("the bus closed before the task settled")


@contextlib.asynccontextmanager
async def worker_on(env: dict[str, str], bus: MemoryTaskBus) -> AsyncIterator[DictArtifacts]:
    providers = hosted_providers(env)
    artifacts = DictArtifacts()
    operations = hosted_operations(env, providers=providers, schedule=FAST)
    worker = Worker(bus, artifacts, operations, LANES, name="hosted-worker", heartbeat=0.05)
    running = asyncio.create_task(worker.run())
    try:
        yield artifacts
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        for provider in providers.values():
            await provider.aclose()


async def test_the_reported_result_names_the_provider_that_made_it_and_its_cost(
    env: dict[str, str], bus: MemoryTaskBus, replicate: FakeReplicate, fal: FakeFal
) -> None:
    replicate.plan.unavailable_creates = 1
    priced = {**env, "SCENESTATE_FAL_USD_PER_SECOND": "0.004"}
    task = make_task("text_to_image", "flux-schnell", "hosted", prompt="a quiet harbour")

    async with worker_on(priced, bus) as artifacts:
        await bus.publish_task(task)
        result = await asyncio.wait_for(settled_result(bus), 10)

        assert result.status == TaskStatus.SUCCEEDED
        assert result.artifact is not None and artifacts.stored[result.artifact] == samples.png()
        assert result.outputs["provider"] == "fal"
        assert result.outputs["fallback_from"][0]["provider"] == "replicate"
        assert result.metrics.cost == pytest.approx(1.25 * 0.004)


async def test_cancelling_the_task_on_the_bus_cancels_it_at_the_provider(
    env: dict[str, str], bus: MemoryTaskBus, fal: FakeFal
) -> None:
    fal.plan.queue_positions = tuple(range(10_000, 0, -1))
    task = make_task("text_to_image", "flux-schnell", "fal", prompt="a quiet harbour")

    async with worker_on(env, bus):
        await bus.publish_task(task)
        await until(lambda: any(entry["reads"] >= 2 for entry in fal.requests.values()))
        await bus.cancel(Cancellation(task.execution_id, task.task_id, "changed my mind"))
        result = await asyncio.wait_for(settled_result(bus), 10)

        assert result.status == TaskStatus.CANCELED
        assert fal.canceled == list(fal.requests)
