"""Schemathesis against the OpenAPI schema, over HTTP to a real server: whatever it
sends, no answer is a 5xx and every answer matches the schema (status, content type
and body). The endless SSE streams are left out; tests/api/http/test_streams.py
covers them."""

from __future__ import annotations

import asyncio
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.app import create_app
from api.config import HttpSettings, Settings
from tests.api.http.conftest import ADMIN_KEY, Api, diagnose

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES_PER_OPERATION = 6


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, template_database: Path
) -> Iterator[tuple[str, str]]:
    """A server with one studio holding a scene, an execution and a webhook: its URL
    and the studio's key."""
    data = tmp_path_factory.mktemp("openapi")
    shutil.copy(template_database, data / "scenestate.db")
    config = Settings(
        data,
        f"sqlite+aiosqlite:///{data / 'scenestate.db'}",
        None,
        http=HttpSettings(admin_key=ADMIN_KEY),
    )
    app = create_app(config)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="error", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    yield base, asyncio.run(_seed(base))
    server.should_exit = True
    thread.join(20)
    sock.close()


async def _seed(base: str) -> str:
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    async with httpx.AsyncClient(base_url=base, timeout=20) as http:
        await http.post("/studios", json={"id": "acme"}, headers=admin)
        made = await http.post(
            "/studios/acme/keys", json={"name": "fuzz", "rate_per_second": 0}, headers=admin
        )
        key = {"Authorization": f"Bearer {made.json()['token']}"}
        await http.post("/scenes", json={"id": "promo"}, headers=key)
        await http.post("/scenes/promo/intents", json=diagnose(1), headers=key)
        await http.post(
            "/webhooks", json={"url": "https://hooks.example.com/scenestate"}, headers=key
        )
        return str(made.json()["token"])


def test_no_input_gets_a_5xx_or_an_answer_outside_the_schema(served: tuple[str, str]) -> None:
    base, token = served
    loaded = schemathesis.openapi.from_url(f"{base}/openapi.json")
    loaded.config.update(base_url=base)
    headers = {"Authorization": f"Bearer {token}"}
    found = loaded.exclude(path_regex=r"/events$").get_all_operations()
    operations = [result.ok() for result in found]
    assert len(operations) > 30

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def answers_within_the_schema(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=headers, checks=CHECKS)

        answers_within_the_schema()


async def test_the_documentation_pages_load_nothing_from_outside(api: Api) -> None:
    """/docs and /redoc work offline: every script and style comes from this server."""
    for page in ("/docs", "/redoc"):
        shown = await api.http.get(page)
        assert shown.status_code == 200, shown.text
        assets = re.findall(r'(?:src|href)="([^"]+)"', shown.text)
        assert assets and all(a.startswith("/") for a in assets), assets
        for asset in assets:
            assert (await api.http.get(asset)).status_code == 200, asset
