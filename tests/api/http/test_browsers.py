"""An API browsers can use: CORS for the configured origins (preflight, credentials,
exposed headers), and stream tokens for the EventSource and WebSocket, which cannot
send an Authorization header; the API key never goes into a URL, and tokens never
into the logs."""

from __future__ import annotations

import dataclasses
import io
import json
import logging

import pytest

from api import stream_tokens
from api.config import Settings
from api.metrics import JsonLogFormatter
from tests.api.http.conftest import Api, diagnose, read_sse

ALLOWED = "https://studio.example"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    http = dataclasses.replace(settings.http, cors_origins=(ALLOWED,))
    return dataclasses.replace(settings, http=http)


async def test_a_preflight_from_an_allowed_origin_is_answered_before_any_key(api: Api) -> None:
    asked = {
        "Origin": ALLOWED,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type, idempotency-key",
    }
    answer = await api.http.options("/scenes/promo/intents", headers=asked)
    assert answer.status_code == 200, answer.text
    assert answer.headers["access-control-allow-origin"] == ALLOWED
    assert answer.headers["access-control-allow-credentials"] == "true"
    allowed = answer.headers["access-control-allow-headers"].lower()
    assert "authorization" in allowed and "idempotency-key" in allowed


async def test_a_page_from_another_origin_is_refused(api: Api) -> None:
    asked = {"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    answer = await api.http.options("/scenes/promo/intents", headers=asked)
    assert answer.status_code == 400
    assert "access-control-allow-origin" not in answer.headers
    await api.studio("acme")
    read = await api.request("GET", "/me", "acme", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in read.headers  # the browser hides it


async def test_answers_to_an_allowed_origin_expose_the_headers_scripts_need(api: Api) -> None:
    await api.studio("acme")
    await api.scene("acme", "promo")
    body = {"kind": "text_prompt", "text": "dawn"}
    headers = {"Origin": ALLOWED, "Idempotency-Key": "k"}
    await api.intent("acme", "promo", body, headers=headers)
    again = await api.intent("acme", "promo", body, headers=headers)
    assert again.headers["access-control-allow-origin"] == ALLOWED
    exposed = again.headers["access-control-expose-headers"]
    assert "Idempotent-Replayed" in exposed and "Retry-After" in exposed


async def test_a_stream_token_opens_its_stream_and_nothing_else(live: Api) -> None:
    await live.studio("acme")
    await live.scene("acme", "promo")
    await live.scene("acme", "other")
    minted = await live.request("POST", "/streams/tokens", "acme", json={"scene": "promo"})
    assert minted.status_code == 201, minted.text
    token = minted.json()["token"]
    assert token.startswith("sst_")
    work = await live.intent("acme", "promo", diagnose(1))
    async with live.http.stream("GET", f"{minted.json()['events']}&after=0") as stream:
        assert stream.status_code == 200
        async for message in read_sse(stream):
            if message.data.get("execution_id") == work.json()["execution_id"]:
                break
    for path in ("/scenes/other/events", "/scenes/promo", "/me"):
        refused = await live.http.get(f"{path}?token={token}")
        assert refused.status_code == 403, (path, refused.text)
    key = live.keys["acme"]
    in_url = await live.http.get(f"/scenes/promo/events?token={key}")
    assert in_url.status_code == 401 and "only a stream token" in in_url.json()["error"]["message"]


async def test_a_token_of_a_revoked_key_or_past_its_time_opens_nothing(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    await api.studio("acme")
    await api.scene("acme", "promo")
    monkeypatch.setattr(stream_tokens, "LIFETIME", -1.0)
    stale = (await api.request("POST", "/streams/tokens", "acme", json={"scene": "promo"})).json()
    expired = await api.http.get(stale["events"])
    assert expired.status_code == 401 and "expired" in expired.json()["error"]["message"]
    monkeypatch.setattr(stream_tokens, "LIFETIME", 300.0)
    fresh = (await api.request("POST", "/streams/tokens", "acme", json={"scene": "promo"})).json()
    forged = fresh["token"][:-4] + ("AAAA" if not fresh["token"].endswith("AAAA") else "BBBB")
    assert (await api.http.get(f"/scenes/promo/events?token={forged}")).status_code == 401
    cut = await api.http.get(f"/scenes/promo/events?token={fresh['token'].split('.')[0]}")
    assert cut.status_code == 401 and "stream token is malformed" in cut.text, cut.text
    key_id = (await api.request("GET", "/me", "acme")).json()["key_id"]
    await api.request("DELETE", f"/studios/acme/keys/{key_id}", None)
    assert (await api.http.get(fresh["events"])).status_code == 401


async def test_tokens_never_reach_the_log(api: Api) -> None:
    await api.studio("acme")
    await api.scene("acme", "promo")
    lines = io.StringIO()
    handler = logging.StreamHandler(lines)
    handler.setFormatter(JsonLogFormatter())
    logger = logging.getLogger("scenestate.api")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        minted = (
            await api.request("POST", "/streams/tokens", "acme", json={"scene": "promo"})
        ).json()
        await api.http.get(f"/scenes/other/events?token={minted['token']}")
    finally:
        logger.removeHandler(handler)
    logged = lines.getvalue()
    assert "/scenes/other/events" in logged
    assert minted["token"] not in logged and minted["token"][:20] not in logged
    assert all(json.loads(line) for line in logged.splitlines())


async def test_an_execution_on_a_branch_streams_by_token_and_by_unique_start(live: Api) -> None:
    """A token opens an execution on any branch (its events URL names the branch), and
    the stream of an execution given by a unique start of its id is that execution's."""
    await live.studio("acme")
    await live.scene("acme", "promo")
    forked = await live.request("POST", "/scenes/promo/branches", "acme", json={"name": "storm"})
    assert forked.status_code == 202, forked.text
    work = {**diagnose(2), "branch": "storm"}
    execution = (await live.intent("acme", "promo", work)).json()["execution_id"]
    await live.finished("acme", "promo", execution, branch="storm")

    body = {"scene": "promo", "execution": execution[:8], "branch": "storm"}
    minted = await live.request("POST", "/streams/tokens", "acme", json=body)
    assert minted.status_code == 201, minted.text
    assert "branch=storm" in minted.json()["events"]
    by_token = await live.http.get(minted.json()["events"] + "&until=finished")
    assert by_token.status_code == 200, by_token.text

    whole = f"/scenes/promo/executions/{execution}/events?branch=storm&until=finished"
    start = f"/scenes/promo/executions/{execution[:8]}/events?branch=storm&until=finished"
    streamed = [await live.request("GET", url, "acme") for url in (whole, start)]
    assert [s.status_code for s in streamed] == [200, 200]
    assert streamed[0].text == streamed[1].text == by_token.text
    assert f'"execution_id":"{execution}"' in streamed[0].text
