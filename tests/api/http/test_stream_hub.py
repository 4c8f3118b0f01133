"""The stream hub alone, on a real store: a subscriber resuming from before the hub's
window, one too slow for its queue, and subscribers joining while writers append all
get exactly the events of their scene after their position, in order, once."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

from api.bootstrap import open_services
from api.config import Settings
from api.services import Services
from api.streaming import Message, StreamFilter, StreamHub
from engine.intents import parse_intent
from engine.ports import StreamId


@pytest.fixture
async def services(settings: Settings) -> AsyncIterator[Services]:
    async with open_services(settings, migrate_first=False) as opened:
        yield opened


async def _add_shots(services: Services, scene: str, count: int) -> None:
    scenes = services.scenes
    for n in range(count):
        action: dict[str, Any] = (
            {"name": "create_scene"}
            if n == 0
            else {
                "name": "add_node",
                "kind": "shot",
            }
        )
        raw = {"kind": "structured_action", "scene": scene, "action": action}
        defaults = {"studio": "acme", "actor": "test"}
        intent = parse_intent(
            raw, now=scenes.clock.now, new_id=scenes.ids.new_id, defaults=defaults
        )
        await scenes.submit(intent)


async def _positions(services: Services, scene: str) -> list[int]:
    events = await services.store.read_stream(StreamId(scene))
    return [e.position for e in events if e.position is not None]


async def _take(stream: AsyncIterator[Message | None], count: int) -> list[int]:
    taken: list[int] = []
    async with asyncio.timeout(10):
        async for message in stream:
            if message is not None:
                taken.append(message.position)
                if len(taken) == count:
                    return taken
    return taken


@contextlib.asynccontextmanager
async def _running(hub: StreamHub) -> AsyncIterator[StreamHub]:
    task = asyncio.create_task(hub.run())
    await hub.started.wait()
    try:
        yield hub
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_a_resume_from_before_the_window_reads_the_store(services: Services) -> None:
    async with _running(StreamHub(services.store, services.scenes, window=4)) as hub:
        await asyncio.gather(_add_shots(services, "one", 15), _add_shots(services, "two", 15))
        wanted = await _positions(services, "one")
        async with asyncio.timeout(10):
            while hub.position < max(wanted):  # noqa: ASYNC110 (the hub has no event for it)
                await asyncio.sleep(0.01)
        resumed = _take(hub.stream(StreamFilter("one"), wanted[2], 0.1), len(wanted) - 3)
        assert await resumed == wanted[3:]


async def test_a_subscriber_too_slow_for_its_queue_catches_up_without_a_gap(
    services: Services,
) -> None:
    async with _running(StreamHub(services.store, services.scenes, queue_limit=3)) as hub:
        # no keep-alive within the test's time: the first thing it yields is an event
        stream = hub.stream(StreamFilter("one"), None, 60.0)
        first = asyncio.create_task(anext(stream))
        while hub.subscribers < 1:  # noqa: ASYNC110 (the hub has no event for it)
            await asyncio.sleep(0.005)
        # subscribed: now fall behind while 20 intents land
        await _add_shots(services, "one", 20)
        wanted = await _positions(services, "one")
        head = await first
        assert head is not None and head.position == wanted[0]
        assert await _take(stream, len(wanted) - 1) == wanted[1:]


async def test_subscribers_joining_while_writers_append_miss_nothing(services: Services) -> None:
    async with _running(StreamHub(services.store, services.scenes, window=8)) as hub:
        writers = asyncio.gather(*(_add_shots(services, scene, 12) for scene in ("a", "b", "c")))
        starts: list[tuple[int, asyncio.Task[list[int]]]] = []
        for _ in range(6):
            await asyncio.sleep(0.01)
            after = hub.position
            starts.append((after, asyncio.create_task(_collect_until_quiet(hub, after))))
        await writers
        wanted = await _positions(services, "a")
        for after, task in starts:
            assert await task == [p for p in wanted if p > after]


async def _collect_until_quiet(hub: StreamHub, after: int) -> list[int]:
    taken = []
    async for message in hub.stream(StreamFilter("a"), after, 0.3):
        if message is None:
            return taken
        taken.append(message.position)
    return taken
