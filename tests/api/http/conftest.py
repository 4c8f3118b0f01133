"""Fixtures for the HTTP API: an app on a fresh SQLite database (copied from one
migrated template, so no test pays for the migrations), driven in process through
httpx's ASGI transport, plus studios and keys made through the admin routes."""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from adapters.store import migrate
from api.app import create_app
from api.config import HttpSettings, Settings

ADMIN_KEY = "admin-key-for-tests-0123456789"
HTTP = HttpSettings(
    admin_key=ADMIN_KEY,
    heartbeat=0.2,
    webhook_backoff=0.05,
    webhook_poll=0.05,
    webhook_allow_private=True,  # the receivers in these tests listen on loopback
    max_body_bytes=64 * 1024,
    max_upload_bytes=1024 * 1024,
)


@pytest.fixture(scope="session")
def template_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "scenestate.db"
    asyncio.run(migrate(f"sqlite+aiosqlite:///{path}"))
    return path


@pytest.fixture
def settings(tmp_path: Path, template_database: Path) -> Settings:
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(template_database, data / "scenestate.db")
    return Settings(
        data_dir=data,
        database_url=f"sqlite+aiosqlite:///{data / 'scenestate.db'}",
        nats_url=None,
        http=HTTP,
    )


@dataclass
class Api:
    """An in-process client with helpers for the admin's and studios' chores."""

    app: FastAPI
    http: httpx.AsyncClient
    keys: dict[str, str] = field(default_factory=dict)

    def auth(self, studio: str | None) -> dict[str, str]:
        token = ADMIN_KEY if studio is None else self.keys[studio]
        return {"Authorization": f"Bearer {token}"}

    async def studio(self, studio: str, **key: Any) -> str:
        """Create a studio and a key for it; returns the key's token."""
        admin = self.auth(None)
        made = await self.http.post("/studios", json={"id": studio}, headers=admin)
        assert made.status_code == 201, made.text
        body = {"name": "tests", **key}
        created = await self.http.post(f"/studios/{studio}/keys", json=body, headers=admin)
        assert created.status_code == 201, created.text
        self.keys[studio] = created.json()["token"]
        return self.keys[studio]

    async def request(self, method: str, url: str, studio: str, **kwargs: Any) -> httpx.Response:
        headers = {**self.auth(studio), **kwargs.pop("headers", {})}
        return await self.http.request(method, url, headers=headers, **kwargs)

    async def scene(self, studio: str, scene: str, title: str = "") -> dict[str, Any]:
        made = await self.request("POST", "/scenes", studio, json={"id": scene, "title": title})
        assert made.status_code == 201, made.text
        body: dict[str, Any] = made.json()
        return body

    async def intent(
        self, studio: str, scene: str, body: dict[str, Any], **kwargs: Any
    ) -> httpx.Response:
        return await self.request("POST", f"/scenes/{scene}/intents", studio, json=body, **kwargs)

    async def finished(
        self, studio: str, scene: str, execution: str, branch: str = "main", within: float = 15
    ) -> dict[str, Any]:
        """Poll an execution until it is no longer running."""
        url = f"/scenes/{scene}/executions/{execution}?branch={branch}"
        async with asyncio.timeout(within):
            while True:
                found = await self.request("GET", url, studio)
                assert found.status_code == 200, found.text
                body: dict[str, Any] = found.json()
                if body["status"] != "running":
                    return body
                await asyncio.sleep(0.05)


def diagnose(count: int = 1, operation: str = "echo", **params: Any) -> dict[str, Any]:
    action = {"name": "diagnose", "count": count, "operation": operation, **params}
    return {"kind": "structured_action", "action": action}


@pytest.fixture
async def api(settings: Settings) -> AsyncIterator[Api]:
    app = create_app(settings, workers=1)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
            yield Api(app, http)


@dataclass
class SseMessage:
    id: int
    event: str
    data: dict[str, Any]


async def read_sse(response: httpx.Response) -> AsyncIterator[SseMessage]:
    """The messages of an SSE response as they arrive (comments and `retry:` skipped)."""
    fields: dict[str, str] = {}
    async for line in response.aiter_lines():
        if line == "":
            if "data" in fields:
                position = int(fields.get("id", -1))  # a notice (revoked) has no position
                yield SseMessage(position, fields["event"], json.loads(fields["data"]))
            fields = {}
        elif not line.startswith(":"):
            name, _, value = line.partition(":")
            fields[name] = value.removeprefix(" ")


@pytest.fixture
async def live(settings: Settings) -> AsyncIterator[Api]:
    """The same app behind a real uvicorn server on a loopback port."""
    app = create_app(settings, workers=1)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    )
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with asyncio.timeout(20):
            while not server.started:  # noqa: ASYNC110 (uvicorn offers no event)
                await asyncio.sleep(0.02)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=20) as http:
            yield Api(app, http)
    finally:
        server.should_exit = True
        await asyncio.wait_for(serving, 20)
        sock.close()
