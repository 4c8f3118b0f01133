"""Streams under a hostile or careless client, over a real server: a revoked key's
open streams end within seconds, and every refused WebSocket handshake carries the
status and error body a GET of the same stream would get."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import time

from tests.api.http.conftest import Api, read_sse


async def test_revoking_a_key_ends_its_open_streams_within_seconds(live: Api) -> None:
    await live.studio("acme")
    await live.scene("acme", "promo")
    key_id = (await live.request("GET", "/me", "acme")).json()["key_id"]
    headers = live.auth("acme")
    async with live.http.stream("GET", "/scenes/promo/events", headers=headers) as response:
        assert response.status_code == 200
        messages = read_sse(response)
        revoked = await live.request("DELETE", f"/studios/acme/keys/{key_id}", None)
        assert revoked.status_code == 204
        started = time.monotonic()
        async with asyncio.timeout(5):
            last = [m async for m in messages]
        assert time.monotonic() - started < 5
    assert last and last[-1].event == "revoked"
    again = await live.http.get("/scenes/promo/events", headers=headers)
    assert again.status_code == 401


async def _handshake(
    live: Api, path: str, headers: dict[str, str]
) -> tuple[int, dict[str, object]]:
    """The HTTP answer to a WebSocket upgrade of `path`: its status and JSON body."""
    url = live.http.base_url
    reader, writer = await asyncio.open_connection(url.host, url.port)
    lines = [
        f"GET {path} HTTP/1.1",
        f"Host: {url.host}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}",
        "Sec-WebSocket-Version: 13",
        *(f"{name}: {value}" for name, value in headers.items()),
    ]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    await writer.drain()
    raw = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    status = int(head.split()[1])
    return status, json.loads(body)["error"]


async def test_refused_websocket_handshakes_carry_the_status_and_error_body(live: Api) -> None:
    await live.studio("acme")
    await live.studio("bolt")
    await live.scene("acme", "promo")
    for path, headers, status, code in (
        ("/scenes/promo/ws", {}, 401, "unauthenticated"),
        ("/scenes/promo/ws", live.auth("bolt"), 404, "not_found"),
        ("/scenes/promo/ws?after=-1", live.auth("acme"), 422, "invalid"),
        ("/scenes/promo/executions/nope/ws", live.auth("acme"), 404, "not_found"),
        ("/nowhere/ws", live.auth("acme"), 404, "not_found"),
    ):
        got, error = await _handshake(live, path, headers)
        assert (got, error["code"]) == (status, code), (path, got, error)
        assert error["message"]
