"""Idempotency keys and intent ids as a hostile or careless client uses them, on both
backends: retries racing under one key all get the first answer, naming things that
exist; a key reused for another request is refused and writes nothing; an intent id
is used once."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pytest

from api.config import Settings
from tests.api.http.conftest import Api, diagnose
from tests.api.http.hostile import backend_url, changed, hostile, settled_tables

__all__ = ["backend_url", "hostile"]  # fixtures


async def test_retries_racing_under_one_key_all_get_the_first_answer(
    hostile: Api, backend_url: str
) -> None:
    api = hostile
    await api.studio("acme", rate_per_second=0)
    await api.scene("acme", "promo")
    key = {"Idempotency-Key": "diagnose-1"}
    answers = await asyncio.gather(
        *(api.intent("acme", "promo", diagnose(2), headers=key) for _ in range(20))
    )
    assert {a.status_code for a in answers} == {202}, [a.text for a in answers]
    bodies = {a.text for a in answers}
    assert len(bodies) == 1, bodies
    first = answers[0].json()
    assert sum(a.headers.get("Idempotent-Replayed") == "true" for a in answers) == 19
    execution = await api.request("GET", first["links"]["execution"], "acme")
    assert execution.status_code == 200 and execution.json()["total"] == 2
    history = (await api.request("GET", "/scenes/promo/history", "acme")).json()["entries"]
    assert sum(e["type"] == "ExecutionStarted" for e in history) == 1


async def test_a_key_reused_for_another_request_is_refused_and_writes_nothing(
    hostile: Api, backend_url: str
) -> None:
    api = hostile
    await api.studio("acme")
    await api.scene("acme", "promo")
    await api.scene("acme", "other")
    key = {"Idempotency-Key": "k-1"}
    # quick diagnostic work, not a text prompt: a film still being made in the
    # background would change the tables between the two looks
    first = await api.intent("acme", "promo", diagnose(2), headers=key)
    assert first.status_code == 202, first.text
    await api.finished("acme", "promo", first.json()["execution_id"])
    before = await settled_tables(backend_url)
    body = await api.intent("acme", "promo", diagnose(3), headers=key)
    assert body.status_code == 422, body.text
    assert body.json()["error"]["code"] == "idempotency_key_reused"
    assert "different body" in body.json()["error"]["message"]
    path = await api.intent("acme", "other", diagnose(2), headers=key)
    assert path.status_code == 422 and "/scenes/promo/intents" in path.json()["error"]["message"]
    after = await settled_tables(backend_url)
    assert not changed(before, after), changed(before, after)
    again = await api.intent("acme", "promo", diagnose(2), headers=key)
    assert again.status_code == 202 and again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"


async def test_a_refused_request_leaves_its_key_free(hostile: Api, backend_url: str) -> None:
    api = hostile
    await api.studio("acme")
    await api.scene("acme", "promo")
    key = {"Idempotency-Key": "k-2"}
    edit = {"kind": "direct_edit", "node": "shot-9", "prop": "title", "value": "x"}
    before = await settled_tables(backend_url)
    refused = await api.intent("acme", "promo", edit, headers=key)
    assert refused.status_code == 422, refused.text
    assert not changed(before, await settled_tables(backend_url))
    add = {"kind": "structured_action", "action": {"name": "add_node", "kind": "shot"}}
    assert (await api.intent("acme", "promo", add, headers=key)).status_code == 202


async def test_an_intent_id_is_used_once(hostile: Api, backend_url: str) -> None:
    api = hostile
    await api.studio("acme")
    await api.studio("bolt")
    await api.scene("acme", "promo")
    await api.scene("bolt", "theirs")
    chosen = {**diagnose(3), "id": "my-intent-1"}
    first = await api.intent("acme", "promo", chosen)
    assert first.status_code == 202, first.text
    before = await settled_tables(backend_url)
    for studio, scene, body in (
        ("acme", "promo", chosen),
        ("acme", "promo", {**diagnose(1), "id": "my-intent-1"}),
        ("bolt", "theirs", chosen),
    ):
        again = await api.intent(studio, scene, body)
        assert again.status_code == 409, again.text
        assert again.json()["error"]["code"] == "intent_id_taken"
    assert not changed(before, await settled_tables(backend_url))
    execution = await api.request("GET", first.json()["links"]["execution"], "acme")
    assert execution.json()["total"] == 3


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, idempotency_ttl=1.0)


async def test_an_expired_key_may_be_used_again(api: Api, tmp_path: Path) -> None:
    await api.studio("acme")
    await api.scene("acme", "promo")
    key = {"Idempotency-Key": "k-3"}
    first = await api.intent("acme", "promo", {"kind": "text_prompt", "text": "a"}, headers=key)
    assert first.status_code == 202
    await asyncio.sleep(1.1)  # the key's time to live (1 s here) passes
    other = await api.intent("acme", "promo", {"kind": "text_prompt", "text": "b"}, headers=key)
    assert other.status_code == 202, other.text
    assert other.json()["intent_id"] != first.json()["intent_id"]
