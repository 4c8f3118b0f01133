"""What the intents of one batch (`SceneService.submit_together`) look up while they are
planned, asked of the outside once: a studio's model choices, and what the work cache
knows of each content key. Intents planned one after the other on one scene ask about
nearly the same keys (an edit changes the works of one shot), so the batch asks about
each key once, instead of one round trip per intent for the whole scene's keys."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection

from engine.models import ModelChoices
from engine.planning import CachedWork
from engine.ports import WorkCache


class BatchLookups:
    def __init__(
        self, models: Callable[[str], Awaitable[ModelChoices]], work_cache: WorkCache
    ) -> None:
        self._models = models
        self._work_cache = work_cache
        self._choices: dict[str, ModelChoices] = {}
        self._known: dict[tuple[str, str], CachedWork | None] = {}

    async def models_for(self, studio: str) -> ModelChoices:
        if studio not in self._choices:
            self._choices[studio] = await self._models(studio)
        return self._choices[studio]

    async def find_work(self, studio: str, keys: Collection[str]) -> dict[str, CachedWork]:
        """As `WorkCache.find_work`, asking the cache only about keys not asked before."""
        unknown = [key for key in keys if (studio, key) not in self._known]
        if unknown:
            found = await self._work_cache.find_work(studio, unknown)
            for key in unknown:
                self._known[(studio, key)] = found.get(key)
        return {key: work for key in keys if (work := self._known[(studio, key)]) is not None}
