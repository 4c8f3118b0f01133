"""Live streams over a real HTTP server: an SSE client that disconnects in the middle
of an execution and reconnects with Last-Event-ID receives exactly what it missed,
results arrive as they exist, and the WebSocket carries the same stream."""

from __future__ import annotations

import asyncio
import json

import websockets

from tests.api.http.conftest import Api, SseMessage, diagnose, read_sse


async def _collect(
    api: Api, url: str, studio: str, stop_after: int | None = None, **headers: str
) -> list[SseMessage]:
    found: list[SseMessage] = []
    async with api.http.stream("GET", url, headers={**api.auth(studio), **headers}) as response:
        assert response.status_code == 200, await response.aread()
        assert response.headers["content-type"].startswith("text/event-stream")
        async for message in read_sse(response):
            found.append(message)
            if stop_after is not None and len(found) >= stop_after:
                break
    return found


async def test_a_client_that_reconnects_with_last_event_id_misses_nothing_and_sees_nothing_twice(
    live: Api,
) -> None:
    await live.studio("acme")
    await live.scene("acme", "promo")
    work = diagnose(6, "sleep", params={"seconds": 0.15}, chain=True)
    accepted = (await live.intent("acme", "promo", work)).json()
    events = accepted["links"]["events"] + "&until=finished"

    first = await _collect(live, events, "acme", stop_after=5)
    progress = await live.request("GET", accepted["links"]["execution"], "acme")
    assert progress.json()["status"] == "running"  # we really left in the middle
    rest = await _collect(live, events, "acme", **{"Last-Event-ID": str(first[-1].id)})
    whole = await _collect(live, events, "acme")

    assert [m.id for m in first + rest] == [m.id for m in whole]
    assert [m.data for m in first + rest] == [m.data for m in whole]
    assert whole[-1].data["type"] == "ExecutionFinished"
    assert whole[-1].data["progress"]["status"] == "succeeded"
    results = [m for m in whole if m.event == "result"]
    assert len(results) == 6
    assert results[0].data["artifact"]["first"] is True
    body = await live.request("GET", results[0].data["artifact"]["url"], "acme")
    assert body.status_code == 200 and json.loads(body.content) == {"slept": 0.15}


async def test_a_scene_stream_carries_every_branch_and_the_draft_view_on_request(
    live: Api,
) -> None:
    await live.studio("acme")
    await live.scene("acme", "promo")
    url = "/scenes/promo/events?view=draft&after=0"
    async with asyncio.TaskGroup() as group:
        reading = group.create_task(_collect(live, url, "acme", stop_after=6))
        shot = {"kind": "structured_action", "action": {"name": "add_node", "kind": "shot"}}
        await live.intent("acme", "promo", shot)
        await live.request("POST", "/scenes/promo/branches", "acme", json={"name": "alt"})
    seen = reading.result()
    assert [m.data["branch"] for m in seen].count("alt") >= 1
    assert all("view" in m.data for m in seen)
    assert "SceneCreated" in [m.data["type"] for m in seen[:2]] and seen[0].id > 0
    ids = [m.id for m in seen]
    assert ids == sorted(set(ids))


async def test_the_websocket_carries_the_same_messages(live: Api) -> None:
    await live.studio("acme")
    await live.scene("acme", "promo")
    accepted = (await live.intent("acme", "promo", diagnose(3))).json()
    execution = accepted["execution_id"]
    sse = await _collect(
        live, f"/scenes/promo/executions/{execution}/events?until=finished", "acme"
    )
    port = live.http.base_url.port
    url = f"ws://127.0.0.1:{port}/scenes/promo/executions/{execution}/ws"
    received = []
    async with websockets.connect(url, additional_headers=live.auth("acme")) as socket:
        while len(received) < len(sse):
            message = json.loads(await socket.recv())
            if message["event"] != "heartbeat":
                received.append(message)
    assert [m["id"] for m in received] == [m.id for m in sse]
    assert [m["data"] for m in received] == [m.data for m in sse]


async def test_a_websocket_is_refused_like_the_stream_it_asks_for(live: Api) -> None:
    await live.studio("acme")
    await live.studio("rival")
    await live.scene("acme", "promo")
    port = live.http.base_url.port
    base = f"ws://127.0.0.1:{port}/scenes/promo"
    for url, headers, status in (
        (f"{base}/ws?token=sst_nope_nope", {}, 401),
        (f"{base}/ws", {}, 401),
        (f"{base}/ws", live.auth("rival"), 404),
        (f"{base}/executions/nope/ws", live.auth("acme"), 404),
    ):
        try:
            async with websockets.connect(url, additional_headers=headers):
                raise AssertionError(f"{url} was accepted")
        except websockets.exceptions.InvalidStatus as refused:
            assert refused.response.status_code == status, url
            assert json.loads(refused.response.body)["error"]["status"] == status
