"""Intents for one scene branch decided and appended together (`submit_together`): each
is decided on the state the ones before it leave, all land in one append, and each
caller gets what it would have got alone: its own receipt, or its own refusal."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.errors import IntentIdTaken, InvalidIntent
from engine.intents import AnyIntent, parse_intent
from engine.ports import StreamId
from engine.service import Receipt
from tests.engine.scenes import FixedClock, Studio, shots

SETTINGS = settings(
    max_examples=int(os.environ.get("TOGETHER_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def intent(studio: Studio, name: str, intent_id: str | None = None, **fields: Any) -> AnyIntent:
    raw: dict[str, Any] = {
        "studio": "st",
        "actor": "ana",
        "scene": studio.scene,
        "kind": "structured_action",
        "action": {"name": name, **fields},
    }
    if intent_id is not None:
        raw["id"] = intent_id
    return parse_intent(raw, now=FixedClock().now, new_id=studio.service.ids.new_id)


def titled(studio: Studio, node: str, title: str, intent_id: str | None = None) -> AnyIntent:
    return intent(studio, "set_property", intent_id, node=node, prop="title", value=title)


async def assert_receipts_hold_their_events(
    studio: Studio, intents: list[AnyIntent], outcomes: list[Receipt | Exception]
) -> None:
    """Each receipt's versions hold exactly its intent's events."""
    log = await studio.store.read_stream(StreamId(studio.scene))
    for sent, outcome in zip(intents, outcomes, strict=True):
        if isinstance(outcome, Receipt):
            mine = [e.version for e in log if e.metadata.intent_id == sent.id]
            assert mine == list(range(outcome.first_version, outcome.last_version + 1))
            assert outcome.intent_id == sent.id


async def test_intents_together_land_in_order_each_with_its_own_versions() -> None:
    studio = Studio()
    await shots(studio, 3)
    head = (await studio.state()).version
    intents = [titled(studio, f"shot-{n}", f"take {n}") for n in (1, 2, 3, 1)]
    outcomes = await studio.service.submit_together(intents)
    receipts = [o for o in outcomes if isinstance(o, Receipt)]
    assert len(receipts) == 4
    starts = [head + 1] + [r.last_version + 1 for r in receipts[:-1]]
    assert [r.first_version for r in receipts] == starts
    assert all(r.last_version >= r.first_version for r in receipts)
    await assert_receipts_hold_their_events(studio, intents, outcomes)
    assert await studio.value("main", "shot-1", "title") == "take 1"
    assert await studio.value("main", "shot-2", "title") == "take 2"


async def test_an_intent_is_decided_on_what_the_ones_before_it_made() -> None:
    studio = Studio()
    await shots(studio, 1)
    intents = [
        intent(studio, "add_node", kind="shot", node="shot-9"),
        titled(studio, "shot-9", "New"),
    ]
    outcomes = await studio.service.submit_together(intents)
    assert all(isinstance(o, Receipt) for o in outcomes), outcomes
    assert await studio.value("main", "shot-9", "title") == "New"


async def test_a_refused_intent_gets_its_own_error_and_the_others_land() -> None:
    studio = Studio()
    await shots(studio, 2)
    intents = [
        titled(studio, "shot-1", "A"),
        titled(studio, "shot-404", "B"),
        titled(studio, "shot-2", "C"),
    ]
    first, refused, last = await studio.service.submit_together(intents)
    assert isinstance(first, Receipt) and isinstance(last, Receipt)
    assert isinstance(refused, InvalidIntent) and "shot-404" in str(refused)
    assert last.first_version == first.last_version + 1
    await assert_receipts_hold_their_events(studio, intents, [first, refused, last])


async def test_an_intent_id_used_before_is_refused_and_the_others_land() -> None:
    studio = Studio()
    await shots(studio, 2)
    await studio.service.submit(titled(studio, "shot-1", "first", intent_id="taken"))
    intents = [titled(studio, "shot-2", "A"), titled(studio, "shot-1", "B", intent_id="taken")]
    landed, refused = await studio.service.submit_together(intents)
    assert isinstance(landed, Receipt)
    assert isinstance(refused, IntentIdTaken)
    assert await studio.value("main", "shot-1", "title") == "first"


async def test_a_retry_among_new_intents_gets_its_first_receipt() -> None:
    studio = Studio()
    await shots(studio, 2)

    def retried(title: str) -> AnyIntent:
        raw = {
            "studio": "st",
            "actor": "ana",
            "scene": studio.scene,
            "id": "once",
            "idempotency_key": "req-1",
            "kind": "structured_action",
            "action": {"name": "set_property", "node": "shot-1", "prop": "title", "value": title},
        }
        return parse_intent(raw, now=FixedClock().now, new_id=studio.service.ids.new_id)

    first = await studio.service.submit(retried("once"))
    outcomes = await studio.service.submit_together(
        [titled(studio, "shot-2", "A"), retried("once")]
    )
    new, again = outcomes
    assert isinstance(new, Receipt) and not new.duplicate
    assert isinstance(again, Receipt) and again.duplicate
    assert (again.first_version, again.last_version) == (first.first_version, first.last_version)


async def test_intents_land_after_another_process_moved_the_scene_on() -> None:
    one = Studio()
    await shots(one, 2)
    two = Studio(one.store)
    await two.state()  # two's cache holds the scene as it is now
    await one.set("main", "shot-1", "title", "elsewhere")
    intents = [titled(two, "shot-1", "A"), titled(two, "shot-2", "B")]
    outcomes = await two.service.submit_together(intents)
    assert all(isinstance(o, Receipt) for o in outcomes), outcomes
    assert await one.value("main", "shot-1", "title") == "A"


async def test_intents_of_two_scene_branches_or_a_merge_are_not_submitted_together() -> None:
    studio = Studio()
    await shots(studio, 1)
    other = Studio(studio.store, scene="other")
    with pytest.raises(ValueError, match="one scene branch"):
        await studio.service.submit_together(
            [titled(studio, "shot-1", "A"), titled(other, "shot-1", "B")]
        )
    merge = intent(studio, "merge_branch", source="alt")
    with pytest.raises(ValueError, match="merges"):
        await studio.service.submit_together([titled(studio, "shot-1", "A"), merge])


# -- together is some serial order ------------------------------------------------------

edits = st.lists(
    st.tuples(st.sampled_from(["set", "add", "remove"]), st.integers(1, 5), st.integers(0, 9)),
    min_size=1,
    max_size=12,
)


def edit_intent(studio: Studio, number: int, edit: tuple[str, int, int]) -> AnyIntent:
    """The `number`th intent of a run: its id is fixed, so two studios make the same."""
    kind, shot, value = edit
    node, intent_id = f"shot-{shot}", f"edit-{number}"
    if kind == "add":
        return intent(studio, "add_node", intent_id, kind="shot", node=node)
    if kind == "remove":
        return intent(studio, "remove_node", intent_id, node=node)
    return titled(studio, node, f"take {value}", intent_id)


async def outcomes_both_ways(plan: list[tuple[str, int, int]]) -> list[list[Any]]:
    """The outcomes and logs of `plan` submitted together, and one after the other."""
    together, alone = Studio(), Studio()
    for studio in (together, alone):
        await shots(studio, 2)
    batch = [edit_intent(together, n, edit) for n, edit in enumerate(plan)]
    got = await together.service.submit_together(batch)
    await assert_receipts_hold_their_events(together, batch, got)
    serial: list[Any] = []
    for n, edit in enumerate(plan):
        try:
            serial.append(await alone.service.submit(edit_intent(alone, n, edit)))
        except InvalidIntent as exc:
            serial.append(exc)
    logs = [
        [(e.version, e.metadata.intent_id, e.payload) for e in await s.store.read_stream(stream)]
        for s in (together, alone)
        for stream in [StreamId(s.scene)]
    ]
    return [got, serial, *logs]


@SETTINGS
@given(edits)
def test_intents_together_are_the_same_as_one_after_the_other(
    plan: list[tuple[str, int, int]],
) -> None:
    got, serial, log_together, log_alone = asyncio.run(outcomes_both_ways(plan))

    def shape(outcome: Any) -> Any:
        if isinstance(outcome, Receipt):
            return ("landed", outcome.first_version, outcome.last_version)
        return (type(outcome).__name__, str(outcome))

    assert [shape(o) for o in got] == [shape(o) for o in serial]
    assert log_together == log_alone
