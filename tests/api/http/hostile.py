"""What the hostile-client tests share: the API on each backend, and a snapshot of
every table of its database, to prove that a refused request wrote nothing at all
(log, snapshots, idempotency records, read models, tenancy)."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import create_async_engine

from adapters.store import migrate
from api.app import create_app
from api.config import Settings
from tests.api.http.conftest import HTTP, Api
from tests.conftest import fresh_postgres_database

Tables = dict[str, list[tuple[Any, ...]]]
SETTLE_WITHIN = 20.0


@pytest.fixture(params=["sqlite", "postgresql"])
async def backend_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'hostile.db'}"
        await migrate(url)
        yield url
        return
    async with fresh_postgres_database("hostile") as url:
        await migrate(url)
        yield url


@pytest.fixture
async def hostile(backend_url: str, tmp_path: Path) -> AsyncIterator[Api]:
    """The API on each backend, webhooks held to public destinations."""
    http = dataclasses.replace(HTTP, webhook_allow_private=False)
    settings = Settings(tmp_path / "data", backend_url, None, http=http)
    app = create_app(settings, workers=1)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            yield Api(app, client)


async def tables(url: str) -> Tables:
    """Every row of every table, in a stable order."""
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            names = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
            found: Tables = {}
            for name in sorted(names):
                rows = (await conn.execute(text(f'SELECT * FROM "{name}"'))).all()
                found[name] = sorted((tuple(row) for row in rows), key=repr)
            return found
    finally:
        await engine.dispose()


async def settled_tables(url: str) -> Tables:
    """The tables once the background work (projections, indexes, checkpoints) has
    stopped changing them: two looks in a row that agree."""
    async with asyncio.timeout(SETTLE_WITHIN):
        last = await tables(url)
        while True:
            await asyncio.sleep(0.3)
            now = await tables(url)
            if now == last:
                return now
            last = now


def changed(before: Tables, after: Tables) -> dict[str, str]:
    """Which tables differ, and how (for the assertion message)."""
    found = {}
    for name in sorted(set(before) | set(after)):
        old, new = set(before.get(name, [])), set(after.get(name, []))
        if old != new:
            found[name] = (
                f"added {sorted(new - old, key=repr)[:3]} removed {sorted(old - new, key=repr)[:3]}"
            )
    return found
