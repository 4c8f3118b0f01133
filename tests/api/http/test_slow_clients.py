"""Clients that send their bodies too slowly, or leave half way: a body slower than the
body timeout is 408, and a client that goes away mid-upload is an info line in the
log, not an error."""

from __future__ import annotations

import asyncio
import dataclasses
import logging

import pytest

from api.config import Settings
from tests.api.http.conftest import Api

BODY_TIMEOUT = 1.0


@pytest.fixture
def settings(settings: Settings) -> Settings:
    http = dataclasses.replace(settings.http, body_timeout=BODY_TIMEOUT)
    return dataclasses.replace(settings, http=http)


async def _upload(
    live: Api, studio: str, declared: int
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    url = live.http.base_url
    reader, writer = await asyncio.open_connection(url.host, url.port)
    head = (
        f"POST /artifacts HTTP/1.1\r\nHost: {url.host}\r\n"
        f"Authorization: Bearer {live.keys[studio]}\r\n"
        f"Content-Type: application/octet-stream\r\nContent-Length: {declared}\r\n\r\n"
    )
    writer.write(head.encode())
    await writer.drain()
    return reader, writer


async def test_a_body_that_trickles_in_gets_408(live: Api) -> None:
    await live.studio("acme")
    reader, writer = await _upload(live, "acme", 1000)

    async def trickle() -> None:
        for _ in range(20):  # 10 s at this pace: well past the timeout
            writer.write(b"x")
            await writer.drain()
            await asyncio.sleep(0.5)

    sending = asyncio.create_task(trickle())
    try:
        async with asyncio.timeout(BODY_TIMEOUT + 5):
            status = await reader.readline()
    finally:
        sending.cancel()
        writer.close()
    assert status.split()[1] == b"408", status


async def test_a_client_that_leaves_mid_upload_is_logged_at_info(
    live: Api, caplog: pytest.LogCaptureFixture
) -> None:
    await live.studio("acme")
    caplog.set_level(logging.INFO, logger="scenestate.api")
    _, writer = await _upload(live, "acme", 100_000)
    writer.write(b"x" * 1000)
    await writer.drain()
    writer.close()
    async with asyncio.timeout(10):
        while not any("went away" in r.getMessage() for r in caplog.records):  # noqa: ASYNC110
            await asyncio.sleep(0.05)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
