"""Many editors on one scene: the intents of this process for one scene branch are
appended together. While one append for a branch is under way, later intents for it
queue; when it lands, everything queued is decided in order on the newest state and
appended in one write (`SceneService.submit_together`), each under its own key and
with its own receipt or error. So intents of one process never race one another for
a version (a race with another process is decided again, see `intake`), and a busy
scene costs one append per batch instead of one per intent.

A lone intent goes on its own (`SceneService.submit`), as before. A caller cancelled
while its intent waits in the queue takes it out; once its batch is under way the
intent may land, like any statement already sent to a database.
"""

from __future__ import annotations

import asyncio

from engine.intents import AnyIntent
from engine.ports import StreamId
from engine.service import Receipt, SceneService

# Bounds one batch (its decisions run on the event loop, its append is one statement).
MAX_TOGETHER = 64

Queued = tuple[AnyIntent, "asyncio.Future[Receipt]"]


class SceneEditors:
    """The queue of intents per scene branch of one process, and the one task per busy
    branch that decides and appends them."""

    def __init__(self, max_together: int = MAX_TOGETHER) -> None:
        if max_together < 1:
            raise ValueError("max_together must be positive")
        self._max_together = max_together
        self._queued: dict[StreamId, list[Queued]] = {}
        self._appending: dict[StreamId, asyncio.Task[None]] = {}

    async def submit(self, scenes: SceneService, intent: AnyIntent) -> Receipt:
        """Decide and append `intent` with the others of its branch queued beside it:
        its receipt, or what `scenes.submit(intent)` alone would have raised."""
        stream = StreamId(intent.scene, intent.branch)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Receipt] = loop.create_future()
        self._queued.setdefault(stream, []).append((intent, future))
        if stream not in self._appending:
            self._appending[stream] = loop.create_task(self._append_queued(scenes, stream))
        return await future

    def _take(self, stream: StreamId) -> list[Queued]:
        """The oldest queued intents of `stream` whose callers still wait."""
        queued = [q for q in self._queued.pop(stream, []) if not q[1].done()]
        taken, left = queued[: self._max_together], queued[self._max_together :]
        if left:
            self._queued[stream] = left
        return taken

    async def _append_queued(self, scenes: SceneService, stream: StreamId) -> None:
        batch: list[Queued] = []
        try:
            while batch := self._take(stream):
                intents = [intent for intent, _ in batch]
                try:
                    outcomes = await _together(scenes, intents)
                except Exception as exc:  # the batch's fate is everyone's
                    outcomes = [exc] * len(batch)
                for (_, future), outcome in zip(batch, outcomes, strict=True):
                    if future.done():  # its caller was cancelled
                        continue
                    if isinstance(outcome, Exception):
                        future.set_exception(outcome)
                    else:
                        future.set_result(outcome)
        except asyncio.CancelledError:
            for _, future in [*batch, *self._queued.pop(stream, [])]:
                future.cancel()
            raise
        finally:
            del self._appending[stream]


async def _together(scenes: SceneService, intents: list[AnyIntent]) -> list[Receipt | Exception]:
    if len(intents) > 1:
        return await scenes.submit_together(intents)
    try:
        return [await scenes.submit(intents[0])]
    except Exception as exc:
        return [exc]
