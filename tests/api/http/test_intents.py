"""Intents over HTTP: enqueue first (202 before any generation), idempotent retries,
refusals that name the field, and concurrency conflicts that carry the version."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator

from tests.api.http.conftest import Api, diagnose


async def test_an_intent_is_accepted_before_its_generation_runs(api: Api) -> None:
    await api.studio("acme")
    await api.scene("acme", "promo", "Promo")
    started = time.perf_counter()
    sleeper = diagnose(1, "sleep", params={"seconds": 2.0})
    accepted = await api.intent("acme", "promo", sleeper)
    took = time.perf_counter() - started
    assert accepted.status_code == 202, accepted.text
    body = accepted.json()
    assert took < 1.0  # the task sleeps 2 s; the answer did not wait for it
    assert body["execution_started"] is True
    assert body["position"] >= body["first_position"] > 0
    execution = await api.request("GET", body["links"]["execution"], "acme")
    assert execution.json()["status"] == "running"


async def test_every_link_an_answer_gives_is_there(api: Api) -> None:
    """An accepted request links to its scene, and to its execution and that stream
    only when it started one: a link never leads to a 404."""
    await api.studio("acme")
    made = await api.scene("acme", "promo")
    edit = {"kind": "structured_action", "action": {"name": "add_node", "kind": "shot"}}
    answers = [made, (await api.intent("acme", "promo", edit)).json()]
    answers.append((await api.intent("acme", "promo", diagnose(1))).json())
    assert [a["execution_started"] for a in answers] == [False, False, True]
    for answer in answers:
        links = answer["links"]
        started = answer["execution_started"]
        assert (links["execution"] is not None, links["events"] is not None) == (started, started)
        for link in (links["scene"], links["execution"]):
            if link is not None:
                found = await api.request("GET", link, "acme")
                assert found.status_code == 200, (link, found.text)
        if links["events"] is not None:
            ended = await api.request("GET", links["events"] + "&until=finished", "acme")
            assert ended.status_code == 200, ended.text


async def test_a_retried_post_with_the_same_idempotency_key_returns_the_first_answer(
    api: Api,
) -> None:
    await api.studio("acme")
    await api.scene("acme", "promo")
    edit = {"kind": "structured_action", "action": {"name": "add_node", "kind": "shot"}}
    first = await api.intent("acme", "promo", edit, headers={"Idempotency-Key": "shot-1"})
    again = await api.intent("acme", "promo", edit, headers={"Idempotency-Key": "shot-1"})
    assert first.status_code == again.status_code == 202
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    history = await api.request("GET", "/scenes/promo/history", "acme")
    shots = [e for e in history.json()["entries"] if e["type"] == "NodeAdded"]
    assert len(shots) == 1  # the retry appended nothing


async def test_bad_input_names_the_field_and_writes_nothing(api: Api) -> None:
    await api.studio("acme")
    await api.scene("acme", "promo")
    before = (await api.request("GET", "/scenes/promo", "acme")).json()["version"]
    empty = await api.intent("acme", "promo", {"kind": "text_prompt", "text": ""})
    assert empty.status_code == 422
    assert empty.json()["error"]["field"] == "text"
    unknown = await api.intent(
        "acme", "promo", {"kind": "direct_edit", "node": "nope", "prop": "title", "value": "x"}
    )
    assert unknown.status_code == 422
    assert unknown.json()["error"]["field"] == "node"
    assert "nope" in unknown.json()["error"]["message"]
    studio = await api.intent("acme", "promo", {"kind": "text_prompt", "text": "hi", "studio": "x"})
    assert studio.status_code == 422 and studio.json()["error"]["field"] == "studio"
    broken = await api.request(
        "POST",
        "/scenes/promo/intents",
        "acme",
        content=b'{"kind": "text_prompt", "text": ',
        headers={"Content-Type": "application/json"},
    )
    assert broken.status_code == 400
    assert broken.json()["error"]["code"] == "bad_request"
    after = (await api.request("GET", "/scenes/promo", "acme")).json()["version"]
    assert after == before


async def test_a_body_over_the_limit_is_refused_with_413(api: Api) -> None:
    await api.studio("acme")
    huge = {"kind": "text_prompt", "text": "x" * 100_000}
    refused = await api.intent("acme", "promo", huge)
    assert refused.status_code == 413
    assert "limit" in refused.json()["error"]["message"]


async def test_two_merges_racing_into_one_branch_one_gets_409_with_the_version(
    api: Api,
) -> None:
    await api.studio("acme")
    await api.scene("acme", "promo")
    outcomes: list[int] = []
    for attempt in range(5):
        for side in ("left", "right"):
            name = f"{side}-{attempt}"
            forked = await api.request(
                "POST", "/scenes/promo/branches", "acme", json={"name": name}
            )
            assert forked.status_code == 202, forked.text
            shot = {"kind": "structured_action", "action": {"name": "add_node", "kind": "shot"}}
            added = await api.intent("acme", "promo", shot, params={"branch": name})
            assert added.status_code == 202, added.text
        merges = await asyncio.gather(
            *(
                api.request(
                    "POST", "/scenes/promo/merges", "acme", json={"source": f"{s}-{attempt}"}
                )
                for s in ("left", "right")
            )
        )
        outcomes = sorted(m.status_code for m in merges)
        if outcomes == [202, 409]:
            conflict = next(m for m in merges if m.status_code == 409).json()["error"]
            head = (await api.request("GET", "/scenes/promo", "acme")).json()["version"]
            assert conflict["code"] == "conflict"
            assert conflict["current_version"] == head
            return
    raise AssertionError(f"the merges never raced: {outcomes}")


async def test_a_streamed_body_over_the_limit_is_refused_with_413(api: Api) -> None:
    await api.studio("acme")

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(40):
            yield b"x" * 32 * 1024  # 1.25 MiB in all, with no Content-Length

    refused = await api.request("POST", "/artifacts", "acme", content=chunks())
    assert refused.status_code == 413
    assert refused.json()["error"]["code"] == "too_large"


async def test_many_editors_on_one_scene_all_land_none_gets_409(api: Api) -> None:
    """Intents that arrive together for one scene are decided in turn and appended
    together: every one lands, each answer's versions hold exactly its events."""
    editors = 12
    await api.studio("acme")
    await api.scene("acme", "promo")
    for n in range(editors):
        shot = {"kind": "structured_action", "action": {"name": "add_node", "kind": "shot"}}
        shot["action"]["node"] = f"shot-{n}"
        assert (await api.intent("acme", "promo", shot)).status_code == 202
    before = (await api.request("GET", "/scenes/promo", "acme")).json()["version"]

    def edit(n: int, take: int) -> dict[str, object]:
        return {"kind": "direct_edit", "node": f"shot-{n}", "prop": "title", "value": f"{take}"}

    answers = await asyncio.gather(
        *(api.intent("acme", "promo", edit(n, t)) for t in range(3) for n in range(editors))
    )
    assert [a.status_code for a in answers] == [202] * len(answers), [a.text for a in answers]
    landed = sorted((a.json()["first_version"], a.json()["last_version"]) for a in answers)
    assert landed[0][0] == before + 1
    assert all(a[1] < b[0] for a, b in itertools.pairwise(landed))  # none overlap
    history = await api.request(
        "GET", "/scenes/promo/history", "acme", params={"after_version": before}
    )
    by_intent: dict[str, list[int]] = {}
    for entry in history.json()["entries"]:
        by_intent.setdefault(entry["intent_id"], []).append(entry["version"])
    for answer in answers:
        body = answer.json()
        first, last = body["first_version"], body["last_version"]
        # (what its execution's tasks record later carries its id too)
        assert [v for v in by_intent[body["intent_id"]] if v <= last] == [*range(first, last + 1)]
