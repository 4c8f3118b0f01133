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


async def test_every_post_that_changes_something_honours_the_key(
    hostile: Api, backend_url: str
) -> None:
    """Not only intents: creating a scene, forking, merging, resolving, cancelling and
    registering a webhook, each retried at once under one key, happen once and every
    retry gets the first answer; the key with another body is refused."""
    api = hostile
    await api.studio("acme", rate_per_second=0)
    await api.scene("acme", "promo")
    shot = {"name": "add_node", "kind": "shot", "node": "s1"}
    assert (await api.intent("acme", "promo", action(shot))).status_code == 202
    sleeper = await api.intent("acme", "promo", diagnose(1, "sleep", params={"seconds": 5}))
    execution = sleeper.json()["execution_id"]

    await once_under_a_key(api, "/scenes", {"id": "teaser"}, {"id": "trailer"})
    await once_under_a_key(
        api, "/scenes/promo/branches", {"name": "storm"}, {"name": "storm", "at_version": 1}
    )
    for branch, value in (("main", "Noon"), ("storm", "Dusk")):
        title = {"name": "set_property", "node": "s1", "prop": "title", "value": value}
        assert (await api.intent("acme", "promo", action(title, branch))).status_code == 202
    await once_under_a_key(
        api, "/scenes/promo/merges", {"source": "storm"}, {"source": "storm", "into": "storm"}
    )
    conflicts = await api.request("GET", "/scenes/promo/conflicts", "acme")
    [conflict] = conflicts.json()["conflicts"]
    await once_under_a_key(
        api,
        f"/scenes/promo/conflicts/{conflict['conflict']}/resolution",
        {"choice": "ours"},
        {"choice": "theirs"},
    )
    await once_under_a_key(api, f"/scenes/promo/executions/{execution}/cancel", None, None)
    hook = await once_under_a_key(
        api, "/webhooks", {"url": "https://studio.example/a"}, {"url": "https://studio.example/b"}
    )

    history = (await api.request("GET", "/scenes/promo/history", "acme")).json()["entries"]
    assert sum(e["type"] == "MergeApplied" for e in history) == 1
    assert sum(e["type"] == "ConflictResolved" for e in history) == 1
    assert sum(e["type"] == "ExecutionFinished" for e in history) == 1  # the cancel
    storm = await api.request("GET", "/scenes/promo/history?branch=storm", "acme")
    assert sum(e["type"] == "BranchForked" for e in storm.json()["entries"]) == 1
    hooks = (await api.request("GET", "/webhooks", "acme")).json()["webhooks"]
    assert [h["id"] for h in hooks] == [hook["id"]]


def action(fields: dict[str, object], branch: str = "main") -> dict[str, object]:
    return {"kind": "structured_action", "branch": branch, "action": fields}


async def once_under_a_key(
    api: Api, path: str, body: dict[str, object] | None, other: dict[str, object] | None
) -> dict[str, object]:
    """POST `body` to `path` ten times at once under one fresh key: every answer is the
    first one, nine of them replays; then the key with the `other` body is refused."""
    key = {"Idempotency-Key": f"k-{path}"}
    sent = {} if body is None else {"json": body}
    answers = await asyncio.gather(
        *(api.request("POST", path, "acme", headers=key, **sent) for _ in range(10))
    )
    assert all(a.is_success for a in answers), [a.text for a in answers]
    assert len({a.text for a in answers}) == 1, {a.text for a in answers}
    assert sum(a.headers.get("Idempotent-Replayed") == "true" for a in answers) == 9, path
    later = await api.request("POST", path, "acme", headers=key, **sent)  # once it is done
    assert later.text == answers[0].text and later.headers["Idempotent-Replayed"] == "true"
    if other is not None:
        refused = await api.request("POST", path, "acme", headers=key, json=other)
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"]["code"] == "idempotency_key_reused", refused.text
    found: dict[str, object] = answers[0].json()
    return found


async def test_making_a_key_takes_no_idempotency_key(api: Api) -> None:
    """A key's token is shown once and never kept, so no retry could be given it again:
    the header is refused rather than ignored, and no key is made."""
    await api.studio("acme")
    admin = {**api.auth(None), "Idempotency-Key": "key-1"}
    refused = await api.http.post("/studios/acme/keys", json={"name": "ci"}, headers=admin)
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["field"] == "Idempotency-Key"
    keys = await api.http.get("/studios/acme/keys", headers=api.auth(None))
    assert [k["name"] for k in keys.json()] == ["tests"]
