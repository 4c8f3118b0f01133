"""A hostile or careless client, on both backends: every refusal names what was wrong,
and a refused request leaves every table of the database as it was."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx

from tests.api.http.conftest import Api, diagnose
from tests.api.http.hostile import backend_url, changed, hostile, settled_tables

__all__ = ["backend_url", "hostile"]  # fixtures

LARGE = str(2**64)


async def _refused(answer: httpx.Response, status: int, field: str | None = None) -> None:
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    if field is not None:
        assert error["field"] == field, error


async def test_text_and_numbers_no_store_can_hold_are_refused_and_write_nothing(
    hostile: Api, backend_url: str
) -> None:
    api = hostile
    await api.studio("acme")
    await api.scene("acme", "promo")
    before = await settled_tables(backend_url)

    nul = await api.intent("acme", "promo", {"kind": "text_prompt", "text": "a\x00b"})
    await _refused(nul, 422, "text")
    assert "NUL" in nul.json()["error"]["message"]
    edit = {"name": "set_property", "node": "root", "prop": "title", "value": 2**64}
    await _refused(
        await api.intent("acme", "promo", {"kind": "structured_action", "action": edit}),
        422,
        "action.value",
    )
    keyed = {"kind": "text_prompt", "text": "hi", "idempotency_key": "k\x00"}
    await _refused(await api.intent("acme", "promo", keyed), 422, "idempotency_key")
    admin = api.auth(None)
    named = await api.http.post("/studios", json={"id": "bolt", "name": "B\x00"}, headers=admin)
    await _refused(named, 422, "name")
    key = await api.http.post("/studios/acme/keys", json={"name": "k\x00"}, headers=admin)
    await _refused(key, 422, "name")
    for query, field in (
        (f"version={LARGE}", "version"),
        (f"as_of={LARGE}", "as_of"),
        ("actor=%00", "actor"),
    ):
        path = "/scenes/promo/history" if field == "actor" else "/scenes/promo"
        await _refused(await api.request("GET", f"{path}?{query}", "acme"), 422, field)
    await _refused(
        await api.request("GET", f"/scenes/promo/history?after_version={LARGE}", "acme"),
        422,
        "after_version",
    )
    events = await api.request(
        "GET", "/scenes/promo/events", "acme", headers={"Last-Event-ID": LARGE}
    )
    await _refused(events, 422, "Last-Event-ID")

    after = await settled_tables(backend_url)
    assert not changed(before, after), changed(before, after)
    # and the read models carry on for everyone
    accepted = await api.intent("acme", "promo", diagnose(1))
    assert accepted.status_code == 202, accepted.text
    await api.finished("acme", "promo", accepted.json()["execution_id"])
    found = await api.request(
        "GET", f"/scenes/promo/history?execution={accepted.json()['execution_id']}", "acme"
    )
    assert found.status_code == 200 and found.json()["entries"], found.text


async def test_a_refused_intent_claims_no_scene_id(hostile: Api, backend_url: str) -> None:
    api = hostile
    await api.studio("acme")
    await api.studio("bolt")
    before = await settled_tables(backend_url)
    edit = {"kind": "direct_edit", "node": "shot-1", "prop": "title", "value": "x"}
    refused = await api.intent("bolt", "ghost", edit)
    assert refused.status_code in (404, 422), refused.text
    after = await settled_tables(backend_url)
    assert not changed(before, after), changed(before, after)
    made = await api.request("POST", "/scenes", "acme", json={"id": "ghost"})
    assert made.status_code == 201, made.text


async def test_webhooks_to_internal_destinations_are_refused(
    hostile: Api, backend_url: str
) -> None:
    api = hostile
    await api.studio("acme")
    before = await settled_tables(backend_url)
    for url in (
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/",
        "http://metadata.google.internal/computeMetadata/v1/",
        "http://10.0.0.7/hook",
        "http://172.16.1.1/hook",
        "http://192.168.1.10/hook",
        "http://127.0.0.1:8000/hook",
        "http://2130706433/hook",
        "http://0x7f000001/hook",
        "http://127.1/hook",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://0.0.0.0/hook",
        "http://localhost:9000/hook",
        "https://user:secret@hooks.example.com/x",
        "ftp://hooks.example.com/x",
    ):
        answer = await api.request("POST", "/webhooks", "acme", json={"url": url})
        assert answer.status_code == 422, (url, answer.text)
        assert answer.json()["error"]["field"] == "url", (url, answer.text)
    after = await settled_tables(backend_url)
    assert not changed(before, after), changed(before, after)
    public = await api.request("POST", "/webhooks", "acme", json={"url": "https://8.8.8.8/h"})
    assert public.status_code == 201, public.text


async def test_the_key_is_checked_before_the_body_is_read(hostile: Api) -> None:
    api = hostile
    broken = await api.http.post(
        "/scenes/promo/intents",
        content=b'{"kind": ',
        headers={"Content-Type": "application/json"},
    )
    assert broken.status_code == 401, broken.text


async def test_failed_authentication_is_rate_limited_per_address(hostile: Api) -> None:
    api = hostile
    codes = []
    for attempt in range(40):
        wrong = {"Authorization": f"Bearer ssk_{attempt:016x}_nope"}
        codes.append((await api.http.get("/me", headers=wrong)).status_code)
    assert codes[0] == 401 and codes[-1] == 429, codes
    limited = await api.http.get("/me", headers={"Authorization": "Bearer ssk_x_y"})
    assert limited.status_code == 429 and "Retry-After" in limited.headers


async def test_an_oversize_body_is_413_however_it_is_sent(hostile: Api) -> None:
    api = hostile
    await api.studio("acme")
    text = "x" * 100_000
    body = ('{"kind": "text_prompt", "text": "' + text + '"}').encode()

    async def chunked() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 8192):
            yield body[start : start + 8192]

    for content in (body, chunked()):
        answer = await api.request(
            "POST",
            "/scenes/promo/intents",
            "acme",
            content=content,
            headers={"Content-Type": "application/json"},
        )
        assert answer.status_code == 413, answer.text


async def test_a_body_the_server_cannot_read_says_where_and_why(
    hostile: Api, backend_url: str
) -> None:
    api = hostile
    await api.studio("acme")
    await api.scene("acme", "promo")
    before = await settled_tables(backend_url)
    as_json = {"Content-Type": "application/json"}
    for path in ("/scenes", "/scenes/promo/intents"):
        broken = await api.request("POST", path, "acme", content=b'{"id":\n  ', headers=as_json)
        await _refused(broken, 400)
        message = broken.json()["error"]["message"]
        assert "not valid JSON" in message and "line 2, column 3" in message, message
    unlabelled = await api.request(
        "POST", "/scenes", "acme", content=b'{"id": "other"}', headers={"Content-Type": ""}
    )
    await _refused(unlabelled, 415)
    assert "Content-Type: application/json" in unlabelled.json()["error"]["message"]
    texted = await api.request(
        "POST",
        "/scenes",
        "acme",
        content=b'{"id": "other"}',
        headers={"Content-Type": "text/plain"},
    )
    await _refused(texted, 415)
    assert "(was: text/plain)" in texted.json()["error"]["message"]
    after = await settled_tables(backend_url)
    assert not changed(before, after), changed(before, after)
