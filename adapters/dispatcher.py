"""The dispatcher: the event log is the outbox of generation work.

It follows the global log from its stored checkpoint. Whenever a scene's tasks
may have become ready (a task planned, succeeded or retried), it loads the scene
and publishes every ready task it has not handed out yet, then records that with
`TaskDispatched`; a per-scene ready index (`engine.ready_index`) says which tasks
the events point at, so a check does not look over all of a scene's waiting work.
A canceled task becomes a cancellation on the bus. The checkpoint moves only
after a batch is fully handled, so a dispatcher killed half-way re-publishes, and
the bus's de-duplication by `task_id:attempt` (and the task lifecycle) make that
harmless.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import msgspec

from engine.dispatch import input_artifacts, message_for
from engine.events import RecordedEvent, TaskCanceled
from engine.executions import TaskState
from engine.ports import EventStore, StreamId, TaskBus
from engine.ready_index import ReadyIndex
from engine.scene import SceneState
from engine.service import SceneService
from engine.tasks import Cancellation, TaskMessage, TaskStatus

log = logging.getLogger("scenestate.dispatcher")

PUBLISH_WINDOW = 64


class Dispatcher:
    def __init__(
        self,
        store: EventStore,
        scenes: SceneService,
        bus: TaskBus,
        *,
        name: str = "dispatcher",
        batch_size: int = 500,
        tier_of: Callable[[str], int] = lambda studio: 0,
        volatile_bus: bool = False,
    ) -> None:
        self.store, self.scenes, self.bus = store, scenes, bus
        self.name = name
        self.batch_size = batch_size
        self.tier_of = tier_of
        self.volatile_bus = volatile_bus
        self.replayed_to = 0
        self.index = ReadyIndex()

    async def run(self) -> None:
        """Dispatch until cancelled."""
        self.index = ReadyIndex()  # a run starts knowing nothing: full looks first
        if self.volatile_bus:
            await self.recover()
        position = await self.store.load_checkpoint(self.name)
        # Up to here an earlier run of this dispatcher may have handled the log
        # already (its checkpoint lags), so a scene's state as of an event this far
        # can be behind what that run published: decide on the head instead.
        self.replayed_to = await self.store.head_position()
        async for batch in self.store.follow(position, self.batch_size):
            await self.handle(batch)
            last = batch[-1].position
            if last is not None:
                await self.store.save_checkpoint(self.name, last)

    async def handle(self, batch: list[RecordedEvent]) -> None:
        dirty: dict[tuple[str, str], str] = {}
        handled: dict[tuple[str, str], int] = {}  # the last version of each stream seen
        for event in batch:
            payload = event.payload
            stream = (event.scene, event.branch)
            handled[stream] = event.version
            if self.index.noted(stream, payload):
                dirty[stream] = event.metadata.studio
            elif isinstance(payload, TaskCanceled):
                cancel = Cancellation("", payload.task, payload.reason, payload.attempt)
                await self.bus.cancel(cancel)
        live = (batch[-1].position or 0) > self.replayed_to
        for (scene, branch), studio in dirty.items():
            version = handled[(scene, branch)] if live else None
            await self.dispatch(scene, branch, studio, version)

    async def dispatch(
        self, scene: str, branch: str, studio: str, version: int | None = None
    ) -> int:
        """Publish every ready task of one scene branch as of `version` or later
        (default: its head); returns how many went out.

        The log's order makes any state from the last event handled on enough:
        whatever happens after it comes through the log too and is dispatched in
        turn, and what a later state already shows dispatched or canceled is rightly
        left alone. So the engine's newest state serves when it is that far (this
        process usually appended it): no read of the store and no fold, however far
        the results folded since have taken the scene past the log's batch."""
        try:
            if version is None:
                state = await self.scenes.load(scene, branch)
            else:
                state = await self.scenes.load_newer(scene, branch, version)
            # only the tasks the log says may have become ready are looked at
            ready = self.index.ready(state, studio, self.tier_of(studio))
            if not ready:
                return 0
            now = time.time()
            await self._publish_all([msgspec.structs.replace(m, published_at=now) for m in ready])
            done = [(m.task_id, m.attempt) for m in ready]
            await self.scenes.mark_dispatched(scene, branch, done, studio)
        except BaseException:
            self.index.forget((scene, branch))  # what it was told is not done: look again
            raise
        return len(ready)

    async def _publish_all(self, messages: list[TaskMessage]) -> None:
        """Publish with up to PUBLISH_WINDOW confirmations outstanding at once: the
        bus confirms each publish, and waiting for each in turn would cost a round
        trip per task. Any failure fails the whole call (the batch is redone)."""
        window = asyncio.Semaphore(PUBLISH_WINDOW)

        async def publish(message: TaskMessage) -> None:
            async with window:
                await self.bus.publish_task(message)

        async with asyncio.TaskGroup() as group:
            for message in messages:
                group.create_task(publish(message))

    async def recover(self) -> None:
        """An in-process bus forgets everything when the process stops: send again
        what was handed out but never finished, and what was ready but never sent."""
        for scene in await self.store.list_scenes():
            for branch in await self.store.list_branches(scene):
                state = await self.scenes.load(scene, branch)
                lost = [
                    t
                    for t in state.tasks.values()
                    if t.status in (TaskStatus.QUEUED, TaskStatus.RUNNING)
                ]
                studio = await self._studio_of(scene, branch)
                for task in lost:
                    message = _message_again(state, task, studio)
                    if message is not None:
                        await self.bus.publish_task(message)
                await self.dispatch(scene, branch, studio)

    async def _studio_of(self, scene: str, branch: str) -> str:
        first = await self.store.read_stream(StreamId(scene, branch), 0, 1)
        return first[0].metadata.studio if first else ""


def _message_again(state: SceneState, task: TaskState, studio: str) -> TaskMessage | None:
    inputs = input_artifacts(state, task)
    if inputs is None:
        return None
    return msgspec.structs.replace(
        message_for(state, task, inputs, studio, 0), published_at=time.time()
    )
