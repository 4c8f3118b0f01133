"""Folds workers' results from the bus into their scenes, then acknowledges them.

A result is acknowledged only after its events are appended (or it was found to be
a duplicate), so a folder killed in between gets it again and folds it once.
"""

from __future__ import annotations

import logging

from engine.errors import ScenestateError
from engine.ports import TaskBus
from engine.service import SceneService

log = logging.getLogger("scenestate.results")


class ResultFolder:
    def __init__(self, bus: TaskBus, scenes: SceneService) -> None:
        self.bus = bus
        self.scenes = scenes

    async def run(self) -> None:
        async for delivery in self.bus.results():
            result = delivery.result
            try:
                await self.scenes.record_result(result)
            except ScenestateError:
                # the scene refused it for good (gone, corrupt): keeping it would loop
                log.exception("result for task %s could not be folded", result.task_id)
            await delivery.ack()
