"""Folds workers' results from the bus into their scenes, then acknowledges them.

Results that arrive together are folded together (one append per scene branch for
the batch), which keeps the event store's write rate far below the task rate.
A result is acknowledged only after its events are appended (or it was found to
be a duplicate), so a folder killed in between gets it again and folds it once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from engine.errors import ScenestateError
from engine.ports import ResultDelivery, TaskBus
from engine.service import SceneService

log = logging.getLogger("scenestate.results")


class ResultFolder:
    def __init__(self, bus: TaskBus, scenes: SceneService, batch_size: int = 200) -> None:
        self.bus = bus
        self.scenes = scenes
        self.batch_size = batch_size

    async def run(self) -> None:
        arrived: asyncio.Queue[ResultDelivery] = asyncio.Queue(maxsize=self.batch_size * 2)

        async def receive() -> None:
            async for delivery in self.bus.results():
                await arrived.put(delivery)

        receiver = asyncio.create_task(receive())
        getter: asyncio.Task[ResultDelivery] | None = None
        try:
            while True:
                getter = asyncio.create_task(arrived.get())
                done, _ = await asyncio.wait({getter, receiver}, return_when="FIRST_COMPLETED")
                if getter not in done:
                    receiver.result()
                    return
                batch = [getter.result()]
                while len(batch) < self.batch_size and not arrived.empty():
                    batch.append(arrived.get_nowait())
                await self.fold(batch)
        finally:
            if getter is not None:
                getter.cancel()
            receiver.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await receiver

    async def fold(self, batch: list[ResultDelivery]) -> None:
        try:
            await self.scenes.record_results([d.result for d in batch])
        except ScenestateError:
            # one bad result must not hold the others back: fold them one by one
            for delivery in batch:
                try:
                    await self.scenes.record_results([delivery.result])
                except ScenestateError:
                    log.exception("result for task %s could not be folded", delivery.result.task_id)
        # all at once: each ack waits for the server's confirmation
        await asyncio.gather(*(delivery.ack() for delivery in batch))
