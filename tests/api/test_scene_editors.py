"""The queue of one process's intents per scene branch (`api.services.editors`): intents
that arrive while an append is under way wait, then go together; each caller gets its
own receipt or error, and a caller that gives up while waiting appends nothing."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Sequence
from typing import Any

from api.services.editors import SceneEditors
from engine.errors import InvalidIntent
from engine.events import NewEvent
from engine.intents import AnyIntent, parse_intent
from engine.ports import AppendResult, AppendRun, StreamId
from engine.service import Receipt
from tests.engine.scenes import FixedClock, Studio, shots
from tests.memory_store import MemoryStore


class GatedStore(MemoryStore):
    """A store whose appends wait at a gate while it is closed, counting the writes."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.gate.set()
        self.arrived = asyncio.Event()
        self.writes = 0

    async def append(
        self,
        stream: StreamId,
        events: Sequence[NewEvent],
        expected_version: int,
        idempotency_key: str | None = None,
    ) -> AppendResult:
        self.arrived.set()
        await self.gate.wait()
        self.writes += 1
        return await super().append(stream, events, expected_version, idempotency_key)

    async def append_runs(
        self, stream: StreamId, runs: Sequence[AppendRun], expected_version: int
    ) -> list[AppendResult]:
        self.arrived.set()
        await self.gate.wait()
        self.writes += 1
        return await super().append_runs(stream, runs, expected_version)


def edit(studio: Studio, node: str, title: str) -> AnyIntent:
    raw: dict[str, Any] = {
        "studio": "st",
        "actor": "ana",
        "scene": studio.scene,
        "kind": "direct_edit",
        "node": node,
        "prop": "title",
        "value": title,
    }
    return parse_intent(raw, now=FixedClock().now, new_id=studio.service.ids.new_id)


async def scene_with_a_held_append() -> tuple[Studio, GatedStore, SceneEditors, asyncio.Task[Any]]:
    """Three shots, and a first edit whose append waits at the closed gate."""
    store = GatedStore()
    studio = Studio(store)
    await shots(studio, 3)
    editors = SceneEditors()
    store.gate.clear()
    store.arrived.clear()
    first = asyncio.create_task(editors.submit(studio.service, edit(studio, "shot-1", "first")))
    await store.arrived.wait()
    return studio, store, editors, first


async def test_intents_that_arrive_during_an_append_go_together_after_it() -> None:
    studio, store, editors, first = await scene_with_a_held_append()
    writes = store.writes
    later = [edit(studio, f"shot-{n % 3 + 1}", f"take {n}") for n in range(6)]
    waiting = [asyncio.create_task(editors.submit(studio.service, i)) for i in later]
    store.gate.set()
    receipts = [await first, *await asyncio.gather(*waiting)]
    assert store.writes == writes + 2  # the first alone, the six others together
    spans = sorted((r.first_version, r.last_version) for r in receipts)
    assert all(a[1] < b[0] for a, b in itertools.pairwise(spans))
    assert await studio.value("main", "shot-3", "title") == "take 5"


async def test_a_refused_intent_in_the_queue_gets_its_own_error() -> None:
    studio, store, editors, first = await scene_with_a_held_append()
    good = asyncio.create_task(editors.submit(studio.service, edit(studio, "shot-2", "ok")))
    bad = asyncio.create_task(editors.submit(studio.service, edit(studio, "shot-404", "no")))
    store.gate.set()
    assert isinstance(await first, Receipt) and isinstance(await good, Receipt)
    outcome = await asyncio.gather(bad, return_exceptions=True)
    assert isinstance(outcome[0], InvalidIntent) and "shot-404" in str(outcome[0])


async def test_an_intent_given_up_while_it_waits_is_never_appended() -> None:
    studio, store, editors, first = await scene_with_a_held_append()
    gone = asyncio.create_task(editors.submit(studio.service, edit(studio, "shot-2", "gone")))
    kept = asyncio.create_task(editors.submit(studio.service, edit(studio, "shot-3", "kept")))
    await asyncio.sleep(0)  # one turn of the loop: both run up to waiting in the queue
    gone.cancel()
    store.gate.set()
    await first
    await kept
    assert await studio.value("main", "shot-2", "title") == "Shot 2"
    assert await studio.value("main", "shot-3", "title") == "kept"
