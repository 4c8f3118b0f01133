"""Fixtures for the hosted provider tests: the three fake providers on loopback servers
(started once a session, reset for every test), an environment pointing at them, and
the operations built from it with polling fast enough for tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from adapters.operations.hosted import hosted_operations, hosted_providers
from adapters.providers.hosted.polling import PollSchedule
from adapters.providers.hosted.vocabulary import HostedProvider
from engine.errors import TaskFailure
from engine.ports import Operation
from engine.tasks import ErrorKind, Lane, TaskMessage

from .fake_elevenlabs import FakeElevenLabs
from .fake_fal import FakeFal
from .fake_replicate import FakeReplicate
from .loopback import LoopbackServer

REPLICATE_TOKEN = "r8_SECRETreplicateTOKEN0123456789"
FAL_KEY = "fal-key-id:SECRETfalKEY0123456789"
ELEVENLABS_KEY = "sk_SECRETelevenlabsKEY0123456789"
KEYS = (REPLICATE_TOKEN, FAL_KEY, ELEVENLABS_KEY)
FAST = PollSchedule(first=0.01, factor=1.5, longest=0.03)


class FakeContext:
    """What a worker gives an operation: its inputs' bytes, and a heartbeat we count."""

    def __init__(self, inputs: dict[str, bytes] | None = None) -> None:
        self.inputs = inputs or {}
        self.heartbeats = 0

    async def input(self, name: str) -> bytes:
        if name not in self.inputs:
            raise TaskFailure(ErrorKind.INVALID_INPUT, f"the task has no input {name!r}")
        return self.inputs[name]

    tries = 0  # the first try of each attempt

    async def heartbeat(self) -> None:
        self.heartbeats += 1


async def until(condition: Callable[[], bool], within: float = 5.0) -> None:
    """Wait for something a loopback server's thread does; the server has no event of
    ours to set, so we look every few milliseconds."""
    async with asyncio.timeout(within):
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.005)


def make_task(operation: str, model: str, provider: str, **params: Any) -> TaskMessage:
    inputs = {"image": "a" * 64} if operation == "image_to_video" else {}
    return TaskMessage(
        task_id="task-1",
        attempt=1,
        execution_id="execution-1",
        scene="scene-1",
        branch="main",
        studio="studio-1",
        lane=Lane.INTERACTIVE,
        operation=operation,
        model=model,
        provider=provider,
        content_key="key-1",
        params=params,
        inputs=inputs,
    )


@pytest.fixture(scope="session")
def replicate_server() -> Iterator[tuple[FakeReplicate, str]]:
    fake = FakeReplicate(REPLICATE_TOKEN)
    with LoopbackServer(fake.app()) as server:
        yield fake, server.url


@pytest.fixture(scope="session")
def fal_server() -> Iterator[tuple[FakeFal, str]]:
    fake = FakeFal(FAL_KEY)
    with LoopbackServer(fake.app()) as server:
        yield fake, server.url


@pytest.fixture(scope="session")
def elevenlabs_server() -> Iterator[tuple[FakeElevenLabs, str]]:
    fake = FakeElevenLabs(ELEVENLABS_KEY)
    with LoopbackServer(fake.app()) as server:
        yield fake, server.url


@pytest.fixture
def replicate(replicate_server: tuple[FakeReplicate, str]) -> FakeReplicate:
    replicate_server[0].reset()
    return replicate_server[0]


@pytest.fixture
def fal(fal_server: tuple[FakeFal, str]) -> FakeFal:
    fal_server[0].reset()
    return fal_server[0]


@pytest.fixture
def elevenlabs(elevenlabs_server: tuple[FakeElevenLabs, str]) -> FakeElevenLabs:
    elevenlabs_server[0].reset()
    return elevenlabs_server[0]


@pytest.fixture
def env(
    replicate: FakeReplicate,
    fal: FakeFal,
    elevenlabs: FakeElevenLabs,
    replicate_server: tuple[FakeReplicate, str],
    fal_server: tuple[FakeFal, str],
    elevenlabs_server: tuple[FakeElevenLabs, str],
) -> dict[str, str]:
    return {
        "REPLICATE_API_TOKEN": REPLICATE_TOKEN,
        "FAL_KEY": FAL_KEY,
        "ELEVENLABS_API_KEY": ELEVENLABS_KEY,
        "SCENESTATE_REPLICATE_URL": replicate_server[1],
        "SCENESTATE_FAL_URL": fal_server[1],
        "SCENESTATE_FAL_STORAGE_URL": fal_server[1],
        "SCENESTATE_ELEVENLABS_URL": elevenlabs_server[1],
    }


@pytest.fixture
async def providers(env: dict[str, str]) -> AsyncIterator[dict[str, HostedProvider]]:
    built = hosted_providers(env)
    yield built
    for provider in built.values():
        await provider.aclose()


@pytest.fixture
def operations(
    env: dict[str, str], providers: dict[str, HostedProvider]
) -> dict[tuple[str, str], Operation]:
    return hosted_operations(env, providers=providers, schedule=FAST)
