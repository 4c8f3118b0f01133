"""Live draft views: the timeline of every watched scene branch, kept in memory and
updated from the global log within milliseconds of each event.

`run()` follows the log (the store's subscription: notifications, polling behind
them). A branch is watched from the first time someone asks for it: its state is
loaded (snapshot and tail) and every later event of its stream is folded in with the
engine's reducers, so the view equals one built from scratch at the same version.
Events that arrive while the state loads are held and folded after it, and an
event the loaded state already holds is skipped by its version, so nothing is lost
or applied twice. `updates()` and `wait_for()` let callers (the API's SSE) observe
each new timeline as it is made.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from engine.events import BranchForked, RecordedEvent
from engine.ports import EventStore, StreamId
from engine.reducers import apply
from engine.scene import SceneState
from engine.service import SceneService
from projections.timeline import Timeline, timeline_of


@dataclass(eq=False)
class _Watched:
    stream: StreamId
    state: SceneState | None = None
    timeline: Timeline | None = None
    position: int = 0
    held: list[RecordedEvent] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    loading: asyncio.Task[None] | None = None


class DraftViews:
    def __init__(self, store: EventStore, scenes: SceneService, *, batch_size: int = 500) -> None:
        self.store = store
        self.scenes = scenes
        self.batch_size = batch_size
        self._watched: dict[StreamId, _Watched] = {}

    async def run(self) -> None:
        """Follow the log from its head and keep every watched timeline current."""
        position = await self.store.head_position()
        async for batch in self.store.follow(position, self.batch_size):
            touched: list[_Watched] = []
            for event in batch:
                watched = self._watched.get(StreamId(event.scene, event.branch))
                if watched is None:
                    continue
                if watched.loading is not None:
                    watched.held.append(event)
                elif await self._fold(watched, event):
                    touched.append(watched)
            for watched in dict.fromkeys(touched):
                self._publish(watched)

    async def timeline(self, scene: str, branch: str = "main") -> Timeline:
        """The current draft timeline; watches the branch from now on."""
        watched = await self._watch(StreamId(scene, branch))
        assert watched.timeline is not None  # set by the load
        return watched.timeline

    async def updates(self, scene: str, branch: str = "main") -> AsyncIterator[Timeline]:
        """The current timeline, then each new one as events change it."""
        watched = await self._watch(StreamId(scene, branch))
        while True:
            changed = watched.changed
            assert watched.timeline is not None
            yield watched.timeline
            await changed.wait()

    async def wait_for(self, scene: str, branch: str, version: int) -> Timeline:
        """The timeline once it reflects `version` of the branch (or a later one)."""
        async for timeline in self.updates(scene, branch):
            if timeline.version >= version:
                return timeline
        raise AssertionError("unreachable: updates() never ends")

    async def _watch(self, stream: StreamId) -> _Watched:
        watched = self._watched.get(stream)
        if watched is None:
            watched = self._watched[stream] = _Watched(stream)
            watched.loading = asyncio.create_task(self._load(watched))
        if watched.loading is not None:
            await asyncio.shield(watched.loading)
        return watched

    async def _load(self, watched: _Watched) -> None:
        stream = watched.stream
        try:
            # The head first: every event at or below it is in the state loaded after.
            position = await self.store.head_position()
            watched.state = await self.scenes.load(stream.scene, stream.branch)
        except BaseException:
            del self._watched[stream]  # the next caller tries again
            raise
        watched.position = max(watched.position, position)
        while watched.held:  # run() keeps holding events until this loop is done
            await self._fold(watched, watched.held.pop(0))
        watched.loading = None
        self._publish(watched)

    async def _fold(self, watched: _Watched, event: RecordedEvent) -> bool:
        """Fold one event of the stream; False when the state already held it."""
        state = watched.state
        assert state is not None
        if event.version <= state.version:
            return False
        if event.version == state.version + 1 and not isinstance(event.payload, BranchForked):
            watched.state = apply(state, event)
        else:
            # A branch's first event, or a version this view never saw: load afresh,
            # which starts a branch from its parent's state at the fork.
            watched.state = await self.scenes.load(event.scene, event.branch, event.version)
        watched.position = max(watched.position, event.position or 0)
        return True

    def _publish(self, watched: _Watched) -> None:
        assert watched.state is not None
        watched.timeline = timeline_of(watched.state, watched.position)
        changed, watched.changed = watched.changed, asyncio.Event()
        changed.set()
