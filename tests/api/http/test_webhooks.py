"""Webhooks: a finished execution is delivered to the studio's URL, signed with
HMAC-SHA256 over timestamp and body, retried with backoff after a failure, and every
attempt can be read back from the delivery log."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.webhooks import SIGNATURE_HEADER, verify_signature
from tests.api.http.conftest import Api, diagnose


@dataclass
class Receiver:
    """A loopback endpoint that fails its first `failures` requests."""

    url: str
    failures: int = 1
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def endpoint(self, request: Request) -> Response:
        self.received.append((dict(request.headers), await request.body()))
        if len(self.received) <= self.failures:
            return Response("not yet", status_code=500)
        self.arrived.set()
        return Response("ok")


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    found = Receiver(f"http://127.0.0.1:{sock.getsockname()[1]}/hooks")
    app = Starlette(routes=[Route("/hooks", found.endpoint, methods=["POST"])])
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    yield found
    server.should_exit = True
    await asyncio.wait_for(serving, 10)
    sock.close()


async def test_a_finished_execution_is_delivered_signed_after_a_retry(
    api: Api, receiver: Receiver
) -> None:
    await api.studio("acme")
    await api.scene("acme", "promo")
    made = await api.request("POST", "/webhooks", "acme", json={"url": receiver.url})
    assert made.status_code == 201, made.text
    hook = made.json()
    execution = (await api.intent("acme", "promo", diagnose(2))).json()["execution_id"]

    async with asyncio.timeout(10):
        await receiver.arrived.wait()
    assert len(receiver.received) == 2  # one 500, then the retry that got through
    headers, body = receiver.received[-1]
    assert verify_signature(hook["secret"], headers[SIGNATURE_HEADER.lower()], body)
    assert not verify_signature("whsec_wrong", headers[SIGNATURE_HEADER.lower()], body)
    assert not verify_signature(hook["secret"], headers[SIGNATURE_HEADER.lower()], body + b" ")
    sent = json.loads(body)
    assert sent["event"] == "execution.completed"
    assert sent["data"]["execution_id"] == execution and sent["data"]["scene"] == "promo"
    assert headers["scenestate-attempt"] == "2"
    assert receiver.received[0][1] == body  # the same delivery, retried

    async with asyncio.timeout(10):
        while True:
            log = await api.request("GET", f"/webhooks/{hook['id']}/deliveries", "acme")
            [delivery] = log.json()["deliveries"]
            if delivery["status"] != "pending":
                break
            await asyncio.sleep(0.05)
    assert delivery["status"] == "delivered" and delivery["attempts"] == 2
    assert [a["status_code"] for a in delivery["attempt_log"]] == [500, 200]
    assert delivery["attempt_log"][0]["error"] == "the receiver answered 500"
    assert delivery["body"] == sent


async def test_webhook_urls_must_be_http(api: Api) -> None:
    await api.studio("acme")
    too_long = "https://studio.example/" + "a" * 3_000
    for url in ("ftp://example.com/x", "not a url", "file:///etc/passwd", too_long):
        refused = await api.request("POST", "/webhooks", "acme", json={"url": url})
        assert refused.status_code == 422, url
        assert refused.json()["error"]["field"] == "url"
    events = await api.request(
        "POST", "/webhooks", "acme", json={"url": "http://127.0.0.1/", "events": ["nope"]}
    )
    assert events.status_code == 422


async def test_each_studio_hears_of_its_own_executions_once(api: Api, receiver: Receiver) -> None:
    """Executions of several studios finishing close together (one batch of the log
    holds several) are each delivered once, to the webhooks of their own studio that
    asked for how they ended, and to no other."""
    receiver.failures = 0
    for studio in ("acme", "globex", "initech"):
        await api.studio(studio)
        await api.scene(studio, f"{studio}-promo")
    hooks = {
        "acme": {"url": receiver.url},
        "globex": {"url": receiver.url + "?studio=globex"},
        "initech": {"url": receiver.url, "events": ["execution.failed"]},
    }
    for studio, body in hooks.items():
        assert (await api.request("POST", "/webhooks", studio, json=body)).status_code == 201
    intents = [(studio, n) for n in range(4) for studio in hooks]
    accepted = await asyncio.gather(
        *(api.intent(studio, f"{studio}-promo", diagnose(1)) for studio, _ in intents)
    )
    executions = {
        a.json()["execution_id"]: studio for a, (studio, _) in zip(accepted, intents, strict=True)
    }
    expected = {e: s for e, s in executions.items() if s != "initech"}  # asked for failures

    async with asyncio.timeout(15):
        while len(receiver.received) < len(expected):
            await receiver.arrived.wait()
            receiver.arrived.clear()
    told = [json.loads(body)["data"] for _, body in receiver.received]
    assert sorted(t["execution_id"] for t in told) == sorted(expected)
    assert all(t["scene"] == f"{expected[t['execution_id']]}-promo" for t in told)


async def test_a_delivery_that_cannot_be_sent_fails_alone(
    api: Api, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A delivery whose sending raises (a URL the HTTP client refuses, say) is recorded
    as a failed attempt with the reason; the sender goes on with every other one."""
    receiver.failures = 0
    transport = api.app.state.api.services.webhook_transport
    post = transport.post

    async def refusing(url: str, body: bytes, headers: Any) -> Any:
        if "broken" in url:
            raise ValueError("this URL cannot be sent")
        return await post(url, body, headers)

    monkeypatch.setattr(transport, "post", refusing)
    await api.studio("acme")
    await api.scene("acme", "promo")
    broken = {"url": receiver.url + "?broken"}
    hook = (await api.request("POST", "/webhooks", "acme", json=broken)).json()
    assert (await api.request("POST", "/webhooks", "acme", json={"url": receiver.url})).is_success
    for _ in range(2):
        await api.intent("acme", "promo", diagnose(1))

    async with asyncio.timeout(15):
        while len(receiver.received) < 2:  # both executions reach the working hook
            await receiver.arrived.wait()
            receiver.arrived.clear()
        while True:
            log = await api.request("GET", f"/webhooks/{hook['id']}/deliveries", "acme")
            tried = [d for d in log.json()["deliveries"] if d["attempts"] > 0]
            if len(tried) == 2:
                break
            await asyncio.sleep(0.05)
    for delivery in tried:
        assert "this URL cannot be sent" in delivery["attempt_log"][0]["error"]
