"""Live streams of a scene (or one execution) for SSE and WebSocket clients, resumable
by global position.

One `StreamHub` per process follows the global log once and fans every event out
to the subscribers of its scene: a thousand clients cost one subscription to the
store. Each message is one event, and its id is the event's global position, so a
client that reconnects with `Last-Event-ID: P` gets exactly the matching events
after P, none missed and none twice:

- subscribing records the hub's position L and joins the fan-out in one step (no
  await between), so every event after L reaches the subscriber's queue;
- events in (P, L] come from the hub's recent window, or from the store when P is
  older than the window (`read_all`, gap-free by the store's contract);
- anything at or below the last position sent is dropped, so overlaps are harmless.

A subscriber too slow to keep its queue under `queue_limit` is not cut off: its
queue stops filling, and once drained it rejoins and catches up from the store.

Messages (`api.schemas.streams`) need the branch's state at each event's version:
the hub folds each watched stream with the engine's reducers, a reducer step per
event, and caches messages by position for all subscribers. The same hub feeds the
process's other followers of the log (`follow`: raw batches, with the same catch-up
and resume), so they cost no subscription of their own either.
"""

from __future__ import annotations

import asyncio
import bisect
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from api.schemas.streams import Message, narrate
from engine.events import BranchForked, ExecutionFinished, RecordedEvent
from engine.ports import EventStore, StreamId
from engine.reducers import apply
from engine.scene import SceneState
from engine.service import SceneService

BURST = 256  # messages at most in one batch of a stream


def _drained(queue: asyncio.Queue[Message], first: Message) -> list[Message]:
    """`first` and whatever else waits in `queue` now (up to BURST in all)."""
    found = [first]
    while len(found) < BURST and not queue.empty():
        found.append(queue.get_nowait())
    return found


class MessageCache:
    """Messages by position, shared by the live fan-out and every catch-up."""

    def __init__(self, size: int = 8192) -> None:
        self._size = size
        self._messages: OrderedDict[int, Message] = OrderedDict()

    def get(self, position: int) -> Message | None:
        return self._messages.get(position)

    def put(self, message: Message) -> None:
        self._messages[message.position] = message
        if len(self._messages) > self._size:
            self._messages.popitem(last=False)


class Narrator:
    """Keeps the state of the streams it narrates, one reducer step per event."""

    def __init__(self, scenes: SceneService, cache: MessageCache, streams: int = 512) -> None:
        self._scenes = scenes
        self._cache = cache
        self._streams = streams
        self._states: OrderedDict[StreamId, SceneState] = OrderedDict()

    async def message(self, event: RecordedEvent) -> Message:
        assert event.position is not None
        stream = StreamId(event.scene, event.branch)
        cached = self._cache.get(event.position)
        if cached is not None:
            self._keep(stream, cached.state)
            return cached
        before = self._states.get(stream)
        if (
            before is not None
            and before.version == event.version - 1
            and not isinstance(event.payload, BranchForked)
        ):
            state = apply(before, event)
        else:
            # A branch's first event, or a version this narrator never saw: load it,
            # which starts a branch from its parent's state at the fork.
            state = await self._scenes.load(event.scene, event.branch, event.version)
            before = None
            if isinstance(event.payload, ExecutionFinished):  # it says how it ended
                before = await self._scenes.load(event.scene, event.branch, event.version - 1)
        self._keep(stream, state)
        message = narrate(event, state, before)
        self._cache.put(message)
        return message

    def _keep(self, stream: StreamId, state: SceneState) -> None:
        self._states[stream] = state
        self._states.move_to_end(stream)
        if len(self._states) > self._streams:
            self._states.popitem(last=False)


@dataclass(frozen=True)
class StreamFilter:
    """What one subscriber wants: a scene, optionally one branch and one execution."""

    scene: str
    branch: str | None = None
    execution: str | None = None
    view: bool = False

    def wants(self, message: Message) -> bool:
        if message.scene != self.scene:
            return False
        if self.branch is not None and message.branch != self.branch:
            return False
        return self.execution is None or message.execution == self.execution


@dataclass(eq=False)
class _Subscriber:
    """A stream's client (`filter` set, gets messages) or an in-process follower of
    the whole log (`filter` None, gets raw batches)."""

    filter: StreamFilter | None
    queue: asyncio.Queue[Any]
    overflowed: bool = False

    def offer(self, item: Message | list[RecordedEvent]) -> None:
        if self.overflowed:
            return
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            self.overflowed = True


class StreamHub:
    def __init__(
        self,
        store: EventStore,
        scenes: SceneService,
        *,
        window: int = 4096,
        queue_limit: int = 10_000,
        batch_size: int = 500,
        observers: Sequence[Callable[[list[RecordedEvent]], None]] = (),
    ) -> None:
        self.store = store
        self.scenes = scenes
        self.position = 0
        self.window = window
        self.queue_limit = queue_limit
        self.batch_size = batch_size
        self.observers = list(observers)
        self.started = asyncio.Event()
        self._cache = MessageCache()
        self._narrator = Narrator(scenes, self._cache)
        self._recent: list[RecordedEvent] = []
        self._recent_positions: list[int] = []
        # (scene, branch, version) -> position, for the window's events, and the
        # callers waiting to learn where an append of theirs landed.
        self._landed: dict[tuple[str, str, int], int] = {}
        self._waiting: dict[tuple[str, str, int], list[asyncio.Future[int]]] = {}
        self._by_scene: dict[str, set[_Subscriber]] = {}
        self._followers: set[_Subscriber] = set()

    @property
    def subscribers(self) -> int:
        return sum(len(found) for found in self._by_scene.values())

    async def run(self) -> None:
        """Follow the log from its head and fan each event out, until cancelled."""
        self.position = await self.store.head_position()
        self.started.set()
        async for batch in self.store.follow(self.position, self.batch_size):
            # Window and position move before the fan-out awaits anything, so that a
            # subscriber joining meanwhile finds these events in its catch-up.
            self._remember(batch)
            last = batch[-1].position
            assert last is not None
            self.position = last
            for observe in self.observers:
                observe(batch)
            for follower in list(self._followers):
                follower.offer(batch)
            for event in batch:
                await self._fan_out(event)

    def _remember(self, batch: list[RecordedEvent]) -> None:
        for event in batch:
            assert event.position is not None
            self._recent.append(event)
            self._recent_positions.append(event.position)
            where = (event.scene, event.branch, event.version)
            self._landed[where] = event.position
            for waiter in self._waiting.pop(where, ()):
                if not waiter.done():
                    waiter.set_result(event.position)
        if len(self._recent) > 2 * self.window:
            for event in self._recent[: -self.window]:
                self._landed.pop((event.scene, event.branch, event.version), None)
            del self._recent[: -self.window]
            del self._recent_positions[: -self.window]

    async def position_of(self, scene: str, branch: str, version: int) -> int:
        """The global position of a version of a stream, once the hub has seen it:
        what an intent's answer reports, learnt without asking the store again.
        Waits for versions still on their way; the caller bounds the wait."""
        where = (scene, branch, version)
        known = self._landed.get(where)
        if known is not None:
            return known
        waiter: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(where, []).append(waiter)
        try:
            return await waiter
        finally:
            waiters = self._waiting.get(where)
            if waiters is not None and waiter in waiters:
                waiters.remove(waiter)
                if not waiters:
                    del self._waiting[where]

    async def _fan_out(self, event: RecordedEvent) -> None:
        subscribers = self._by_scene.get(event.scene)
        if not subscribers:
            return
        message = await self._narrator.message(event)
        for subscriber in list(subscribers):
            if subscriber.filter is not None and subscriber.filter.wants(message):
                subscriber.offer(message)

    def _join(self, subscriber: _Subscriber, after: int) -> tuple[int, list[RecordedEvent]]:
        """Join the fan-out; returns the live position and the window's events after
        `after` (synchronous, so that nothing slips between the two)."""
        if subscriber.filter is None:
            self._followers.add(subscriber)
        else:
            self._by_scene.setdefault(subscriber.filter.scene, set()).add(subscriber)
        start = bisect.bisect_right(self._recent_positions, after)
        return self.position, self._recent[start:]

    def _leave(self, subscriber: _Subscriber) -> None:
        if subscriber.filter is None:
            self._followers.discard(subscriber)
            return
        found = self._by_scene.get(subscriber.filter.scene)
        if found is not None:
            found.discard(subscriber)
            if not found:
                del self._by_scene[subscriber.filter.scene]

    async def stream(
        self, wanted: StreamFilter, after: int | None, heartbeat: float
    ) -> AsyncIterator[Message | None]:
        """Matching messages after position `after` (None: from now on), then live;
        None after every `heartbeat` seconds of silence."""
        async for batch in self.stream_batches(wanted, after, heartbeat):
            if batch is None:
                yield None
            else:
                for message in batch:
                    yield message

    async def stream_batches(
        self, wanted: StreamFilter, after: int | None, heartbeat: float
    ) -> AsyncIterator[list[Message] | None]:
        """`stream`, in batches of the messages that are there at once, so that a client
        gets a burst of them in one write (a write to a socket costs far more than the
        bytes in it, and a thousand subscribers of one execution get every burst)."""
        await self.started.wait()
        subscriber = _Subscriber(wanted, asyncio.Queue(self.queue_limit))
        narrator = Narrator(self.scenes, self._cache, streams=8)
        cursor = after if after is not None else self.position
        try:
            while True:
                live, recent = self._join(subscriber, cursor)
                async for events in self._between(cursor, live, recent):
                    found = [
                        message
                        for event in events
                        if event.scene == wanted.scene
                        and wanted.wants(message := await narrator.message(event))
                    ]
                    if found:
                        yield found
                cursor = max(cursor, live)
                while not (subscriber.overflowed and subscriber.queue.empty()):
                    try:
                        async with asyncio.timeout(heartbeat):
                            first: Message = await subscriber.queue.get()
                    except TimeoutError:
                        yield None
                        continue
                    fresh = [m for m in _drained(subscriber.queue, first) if m.position > cursor]
                    if fresh:
                        yield fresh
                        cursor = fresh[-1].position
                # Too slow for the live queue: rejoin and catch up from the store.
                self._leave(subscriber)
                subscriber.overflowed = False
        finally:
            self._leave(subscriber)

    async def follow(
        self, after: int, queue_limit: int = 256
    ) -> AsyncIterator[list[RecordedEvent]]:
        """Every event of the log after position `after`, in batches: what the store
        and the window hold, then live; resumable like a stream."""
        await self.started.wait()
        follower = _Subscriber(None, asyncio.Queue(queue_limit))
        cursor = after
        try:
            while True:
                live, recent = self._join(follower, cursor)
                async for batch in self._between(cursor, live, recent):
                    yield batch
                cursor = max(cursor, live)
                while not (follower.overflowed and follower.queue.empty()):
                    fresh = [e for e in await follower.queue.get() if e.position > cursor]
                    if fresh:
                        yield fresh
                        cursor = fresh[-1].position
                self._leave(follower)
                follower.overflowed = False
        finally:
            self._leave(follower)

    async def _between(
        self, after: int, up_to: int, recent: list[RecordedEvent]
    ) -> AsyncIterator[list[RecordedEvent]]:
        """The events in (after, up_to], in batches: from the store up to where the
        window starts, then from the window's events copied when the caller joined."""
        window_start = recent[0].position if recent else up_to + 1
        assert window_start is not None
        store_end = min(up_to, window_start - 1)
        position = after
        while position < store_end:
            batch = await self.store.read_all(position, self.batch_size)
            if not batch:
                break
            wanted = [e for e in batch if e.position is not None and e.position <= store_end]
            if wanted:
                yield wanted
            position = store_end if len(wanted) < len(batch) else batch[-1].position or position
        tail = [e for e in recent if e.position is not None and after < e.position <= up_to]
        for start in range(0, len(tail), self.batch_size):
            yield tail[start : start + self.batch_size]
