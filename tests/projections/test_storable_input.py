"""Property: whatever an intent may carry that the core accepts (any Unicode text but
NUL and lone surrogates, the largest and smallest whole numbers, any finite float)
appends on SQLite and PostgreSQL and folds through every projection; and what the
core refuses it refuses naming the field."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from adapters.store import open_store
from adapters.store.read_models import open_read_models
from adapters.system import SystemClock
from engine.errors import InvalidIntent
from engine.intents import LARGEST_INT, SMALLEST_INT, parse_intent
from engine.service import SceneService
from projections.catalog import default_projections, statuses
from projections.history import HistoryQuery, find_history
from projections.runner import ProjectionRunner
from tests.projections.test_properties import postgres_db, sqlite_db

__all__ = ["postgres_db", "sqlite_db"]  # fixtures

ANY_CHARACTER = st.characters(min_codepoint=0, max_codepoint=0x10FFFF, categories=None)
texts = st.text(ANY_CHARACTER, max_size=60) | st.sampled_from(
    ["", "\x00", "a\ud800b", "é\U0001f3ac"]
)
numbers = st.one_of(
    st.integers(SMALLEST_INT, LARGEST_INT),
    st.sampled_from([SMALLEST_INT, LARGEST_INT, SMALLEST_INT - 1, LARGEST_INT + 1]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([float("inf"), float("nan")]),
)
values = st.one_of(st.none(), st.booleans(), numbers, texts)
actions = st.one_of(
    st.builds(lambda title: {"name": "create_scene", "title": title}, texts),
    st.builds(
        lambda prop, value: {"name": "set_property", "node": "root", "prop": prop, "value": value},
        texts,
        values,
    ),
    st.builds(
        lambda props: {"name": "add_node", "kind": "shot", "props": props},
        st.dictionaries(texts, values, max_size=3),
    ),
)
intents = st.one_of(
    st.builds(lambda action: {"kind": "structured_action", "action": action}, actions),
    st.builds(lambda text: {"kind": "text_prompt", "text": text}, texts),
    st.builds(
        lambda value: {"kind": "direct_edit", "node": "root", "prop": "title", "value": value},
        values,
    ),
)
SLOW = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]


def _unstorable(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value or any(0xD800 <= ord(c) <= 0xDFFF for c in value)
    if isinstance(value, bool) or value is None:
        return False
    if isinstance(value, int):
        return not SMALLEST_INT <= value <= LARGEST_INT
    if isinstance(value, float):
        return value != value or value in (float("inf"), float("-inf"))
    if isinstance(value, dict):
        return any(_unstorable(k) or _unstorable(v) for k, v in value.items())
    return False


def _accepted(raw: dict[str, Any]) -> list[Any]:
    try:
        intent = parse_intent(raw, now=lambda: datetime.now(UTC), new_id=lambda: uuid.uuid4().hex)
    except InvalidIntent as refused:
        if _unstorable(raw):  # the reason must name where the input is
            assert refused.field != "(body)" or not isinstance(raw, dict), refused
        return []
    assert not _unstorable(raw), raw
    return [intent]


async def _append_and_fold(url: str, schema: str | None, steps: list[dict[str, Any]]) -> None:
    options = {} if schema is None else {"schema": schema}
    store = open_store(url, **options)
    read_models = open_read_models(url, **options)
    scene = f"s-{uuid.uuid4().hex[:10]}"
    scenes = SceneService(store, SystemClock(), _Ids(), work_cache=store)
    try:
        create = {"kind": "structured_action", "action": {"name": "create_scene"}}
        appended = 0
        for raw in [create, *steps]:
            fields = {**raw, "scene": scene, "studio": "st", "actor": "ana"}
            for intent in _accepted(fields):
                try:
                    receipt = await scenes.submit(intent)
                except InvalidIntent:
                    continue  # refused by the scene (a prompt with nothing to plan...)
                appended = receipt.last_version
        assume(appended > 1)
        await ProjectionRunner(store, read_models, default_projections()).catch_up()
        head = await store.head_position()
        assert all(
            s.error is None for s in await statuses(read_models, default_projections(), head)
        )
        found = await find_history(read_models, HistoryQuery(scene=scene))
        assert len(found) == appended
    finally:
        await read_models.close()
        await store.close()


class _Ids:
    def new_id(self) -> str:
        return uuid.uuid4().hex


@settings(max_examples=25, deadline=None, suppress_health_check=SLOW)
@given(steps=st.lists(intents, min_size=1, max_size=6))
def test_what_the_core_accepts_sqlite_stores_and_folds(
    sqlite_db: str, steps: list[dict[str, Any]]
) -> None:
    asyncio.run(_append_and_fold(sqlite_db, None, steps))


@settings(max_examples=15, deadline=None, suppress_health_check=SLOW)
@given(steps=st.lists(intents, min_size=1, max_size=6))
def test_what_the_core_accepts_postgresql_stores_and_folds(
    postgres_db: tuple[str, str], steps: list[dict[str, Any]]
) -> None:
    asyncio.run(_append_and_fold(*postgres_db, steps))
