"""A studio's model choices as planning reads them: every intent that plans asks which
models its studio chose, so they are asked of the tenancy store once per studio and
kept for `KEEP_SECONDS`, and callers that ask at the same moment share one query.

A choice made through this process is seen by the next intent (`forget`); one made
by another process (the CLI, another server) within `KEEP_SECONDS`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from engine.models import ModelChoices
from engine.ports import StudioModels

KEEP_SECONDS = 1.0
KEEP_STUDIOS = 10_000


class ChosenModels:
    """`engine.ports.StudioModels` in front of the tenancy store's, kept briefly."""

    def __init__(
        self,
        store: StudioModels,
        keep_seconds: float = KEEP_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._keep = keep_seconds
        self._clock = clock
        self._kept: dict[str, tuple[float, ModelChoices]] = {}
        self._asking: dict[str, asyncio.Task[ModelChoices]] = {}
        self._forgotten = 0  # bumped by forget(): answers asked for before it are not kept

    async def model_choices(self, studio: str) -> ModelChoices:
        kept = self._kept.get(studio)
        if kept is not None and self._clock() - kept[0] < self._keep:
            return kept[1]
        asking = self._asking.get(studio)
        if asking is None:
            asking = asyncio.ensure_future(self._ask(studio, self._forgotten))
            # its outcome is seen even when every caller gave up waiting
            asking.add_done_callback(lambda done: done.cancelled() or done.exception())
            self._asking[studio] = asking
        return await asyncio.shield(asking)

    def forget(self, studio: str) -> None:
        """The studio's choices changed: the next intent asks the store again."""
        self._forgotten += 1
        self._kept.pop(studio, None)
        self._asking.pop(studio, None)

    async def _ask(self, studio: str, forgotten: int) -> ModelChoices:
        asked_at = self._clock()
        try:
            choices = await self._store.model_choices(studio)
        finally:
            if self._asking.get(studio) is asyncio.current_task():
                del self._asking[studio]
        if forgotten == self._forgotten:
            if len(self._kept) >= KEEP_STUDIOS:
                self._kept.clear()
            self._kept[studio] = (asked_at, choices)
        return choices
