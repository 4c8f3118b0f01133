"""Which scenes and artifacts belong to which studio, over the `TenancyStore` port.

Scene ids are global: the first studio to send an intent to an unused id claims
it. Whatever belongs to another studio answers as if it did not exist (404).
Owners and readable artifacts are cached once known (they never change hands).

`ArtifactGrants` follows the log and records which studio may read which artifact
(the artifacts its tasks made or its intents bound), so reading one needs no walk
through scene state.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

from engine.errors import InvalidIntent, NotFound
from engine.events import ArtifactBound, RecordedEvent, TaskSucceeded
from engine.ports import EventStore, TenancyStore

OWNER_CACHE_SIZE = 100_000
GRANT_CATCH_UP = 2.0  # seconds a check waits for the grants index to catch up

Follow = Callable[[int], AsyncIterator[list[RecordedEvent]]]


def now_micros() -> int:
    return time.time_ns() // 1000


def artifact_grants(events: Iterable[RecordedEvent]) -> list[tuple[str, str]]:
    """(studio, artifact) for every artifact a studio's task made or its intent bound."""
    found = []
    for event in events:
        payload: Any = event.payload
        if isinstance(payload, TaskSucceeded | ArtifactBound) and payload.artifact:
            found.append((event.metadata.studio, payload.artifact))
    return found


class ArtifactGrants:
    """Follows the log from its checkpoint and grants each studio its artifacts.
    Granting is idempotent, so the checkpoint is saved now and then rather than per
    batch: a restart repeats a little work, nothing more. A process that does not
    `run` it (a CLI command) indexes what the log holds on demand (`catch_up`)."""

    CHECKPOINT = "api.artifact_grants"
    SAVE_EVERY = 1.0  # seconds

    def __init__(self, events: EventStore, tenancy: TenancyStore, follow: Follow) -> None:
        self.events = events
        self.tenancy = tenancy
        self._follow = follow
        self.position = -1
        self.running = False
        self._advanced = asyncio.Event()

    async def run(self) -> None:
        position = await self.events.load_checkpoint(self.CHECKPOINT)
        self._advance(position)
        saved = time.monotonic()
        self.running = True
        try:
            async for batch in self._follow(position):
                await self._grant(batch)
                if time.monotonic() - saved >= self.SAVE_EVERY:
                    await self.events.save_checkpoint(self.CHECKPOINT, self.position)
                    saved = time.monotonic()
        finally:
            self.running = False

    async def _grant(self, batch: list[RecordedEvent]) -> None:
        grants = artifact_grants(batch)
        if grants:
            await self.tenancy.grant_artifacts(grants)
        last = batch[-1].position
        assert last is not None
        self._advance(last)

    def _advance(self, position: int) -> None:
        self.position = position
        advanced, self._advanced = self._advanced, asyncio.Event()
        advanced.set()

    async def catch_up(self) -> None:
        """Wait until everything in the log now has been indexed (indexing it here
        when nothing runs the follower)."""
        target = await self.events.head_position()
        if not self.running:
            await self._index_until(target)
            return
        while self.position < target:
            await self._advanced.wait()

    async def _index_until(self, target: int) -> None:
        position = max(self.position, await self.events.load_checkpoint(self.CHECKPOINT))
        while position < target:
            batch = await self.events.read_all(position, 1000)
            if not batch:
                break
            await self._grant(batch)
            position = self.position
        await self.events.save_checkpoint(self.CHECKPOINT, position)


class Tenancy:
    """Which scenes and artifacts belong to which studio, cached once known."""

    def __init__(self, store: TenancyStore, grants: ArtifactGrants) -> None:
        self.store = store
        self.grants = grants
        self._owners: OrderedDict[str, str] = OrderedDict()
        self._artifacts: set[tuple[str, str]] = set()

    async def owner(self, scene: str) -> str | None:
        known = self._owners.get(scene)
        if known is not None:
            return known
        found = await self.store.scene_owner(scene)
        if found is not None:
            self._remember(scene, found)
        return found

    def _remember(self, scene: str, studio: str) -> None:
        self._owners[scene] = studio
        if len(self._owners) > OWNER_CACHE_SIZE:
            self._owners.popitem(last=False)

    async def require_scene(self, studio: str, scene: str) -> None:
        """NotFound unless the scene belongs to `studio`."""
        if await self.owner(scene) != studio:
            raise NotFound(f"no scene {scene!r}")

    async def claim_scene(self, studio: str, scene: str) -> int | None:
        """Let `studio` write to `scene`: its own, or an id no one has claimed yet.
        Returns the time of the claim when this call made it (`release_scene` undoes
        it), None when the scene was the studio's already."""
        owner = await self.owner(scene)
        if owner is not None:
            if owner != studio:
                raise NotFound(f"no scene {scene!r}")
            return None
        now = now_micros()
        owner = await self.store.claim_scene(scene, studio, now)
        self._remember(scene, owner)
        if owner != studio:
            raise NotFound(f"no scene {scene!r}")
        return now

    async def release_scene(self, studio: str, scene: str, claimed_at: int) -> None:
        """Undo a claim of this process's whose request was refused."""
        self._owners.pop(scene, None)
        await self.store.release_scene(scene, studio, claimed_at)

    async def require_artifact(self, studio: str, artifact: str, field: str | None = None) -> None:
        """NotFound (InvalidIntent naming `field`, for an input) unless the studio may
        read the artifact."""
        if (studio, artifact) in self._artifacts:
            return
        granted = await self.store.has_artifact(studio, artifact)
        if not granted:
            # A result streamed a moment ago may not be indexed yet: catch up once.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(GRANT_CATCH_UP):
                    await self.grants.catch_up()
            granted = await self.store.has_artifact(studio, artifact)
        if not granted:
            if field is not None:
                raise InvalidIntent(field, f"no artifact {artifact} in this studio")
            raise NotFound(f"no artifact {artifact}")
        self._artifacts.add((studio, artifact))

    async def grant(self, studio: str, artifact: str) -> None:
        await self.store.grant_artifacts([(studio, artifact)])
        self._artifacts.add((studio, artifact))
