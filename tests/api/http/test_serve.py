"""End to end: `scenestate serve` as its own process on loopback, on PostgreSQL and NATS
JetStream, driven over HTTP like a studio's front end. An SSE client disconnects in
the middle of an execution and resumes with Last-Event-ID: it gets exactly the rest."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from adapters.bus import JetStreamTaskBus
from tests.api.conftest import SCENESTATE
from tests.api.http.conftest import ADMIN_KEY, SseMessage, diagnose, read_sse
from tests.conftest import fresh_postgres_database, require_nats


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, Path]]:
    nats = require_nats()
    prefix = f"test_{uuid.uuid4().hex[:10]}"
    async with fresh_postgres_database("api") as url:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SCENESTATE_")}
        env.update(
            SCENESTATE_DATA_DIR=str(tmp_path / "data"),
            SCENESTATE_DATABASE_URL=url,
            SCENESTATE_NATS_URL=nats,
            SCENESTATE_BUS_PREFIX=prefix,
            SCENESTATE_ADMIN_KEY=ADMIN_KEY,
        )
        port = _free_port()
        log = tmp_path / "serve.log"
        with log.open("wb") as sink:
            process = await asyncio.create_subprocess_exec(
                str(SCENESTATE), "serve", "--port", str(port), env=env, stderr=sink
            )
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=20) as http:
                await _until_up(http, process, log)
                yield http, log
        finally:
            process.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(process.wait(), 20)
            except TimeoutError:
                process.kill()
                await process.wait()
            await JetStreamTaskBus(nats, prefix=prefix).close(delete=True)


async def _until_up(
    http: httpx.AsyncClient, process: asyncio.subprocess.Process, log: Path
) -> None:
    async with asyncio.timeout(60):
        while True:
            if process.returncode is not None:
                output = await asyncio.to_thread(log.read_text)
                raise AssertionError(f"scenestate serve exited:\n{output}")
            try:
                if (await http.get("/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)


async def _read(
    http: httpx.AsyncClient,
    url: str,
    key: dict[str, str],
    stop_after: int | None = None,
    **more: str,
) -> list[SseMessage]:
    found: list[SseMessage] = []
    async with http.stream("GET", url, headers={**key, **more}) as response:
        assert response.status_code == 200
        async for message in read_sse(response):
            found.append(message)
            if len(found) == stop_after:
                break
    return found


async def test_serve_on_postgres_and_nats_with_an_sse_client_that_resumes(
    server: tuple[httpx.AsyncClient, Path],
) -> None:
    http, log = server
    ready = await http.get("/readyz")
    body = ready.json()
    assert (body["status"], body["checks"], body["stopped"]) == (
        "ready",
        {"database": "ok", "nats": "ok"},
        {},
    )
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    assert (await http.post("/studios", json={"id": "acme"}, headers=admin)).status_code == 201
    made = await http.post("/studios/acme/keys", json={"name": "web"}, headers=admin)
    key = {"Authorization": f"Bearer {made.json()['token']}"}
    assert (await http.post("/scenes", json={"id": "promo"}, headers=key)).status_code == 201

    work = diagnose(5, "sleep", params={"seconds": 0.2}, chain=True)
    posted = await http.post(
        "/scenes/promo/intents", json=work, headers={**key, "Idempotency-Key": "render-1"}
    )
    assert posted.status_code == 202, posted.text
    accepted = posted.json()
    events = accepted["links"]["events"] + "&until=finished"

    first = await _read(http, events, key, stop_after=4)
    running = await http.get(accepted["links"]["execution"], headers=key)
    assert running.json()["status"] == "running"
    rest = await _read(http, events, key, **{"Last-Event-ID": str(first[-1].id)})
    whole = await _read(http, events, key)
    assert [m.id for m in first + rest] == [m.id for m in whole]
    assert [m.data for m in first + rest] == [m.data for m in whole]
    assert whole[-1].data["progress"]["status"] == "succeeded"
    assert len([m for m in whole if m.event == "result"]) == 5

    again = await http.post(
        "/scenes/promo/intents", json=work, headers={**key, "Idempotency-Key": "render-1"}
    )
    assert again.json() == accepted

    output = await asyncio.to_thread(log.read_text)
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    posts = [e for e in lines if e.get("message") == "POST /scenes/promo/intents 202"]
    assert posts and posts[0]["execution_id"] == accepted["execution_id"]
