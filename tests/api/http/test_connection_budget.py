"""One process's PostgreSQL connections stay within SCENESTATE_DATABASE_POOL_SIZE: the
API with its pipeline, projections and webhooks, under many concurrent intents and
reads, never holds more connections than its budget."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from api.config import Settings
from tests.api.http.conftest import HTTP, Api, diagnose
from tests.conftest import fresh_postgres_database

pytestmark = pytest.mark.postgres

BUDGET = 8
SCENES = 4
INTENTS = 48


@pytest.fixture
async def database_url() -> AsyncIterator[str]:
    async with fresh_postgres_database("budget") as url:
        yield url


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        nats_url=None,
        http=HTTP,
        database_pool_size=BUDGET,
    )


class ConnectionCount:
    """The most connections to one database seen at once, sampled until stopped."""

    def __init__(self, url: str) -> None:
        self._url = make_url(url)
        self.most = 0

    async def watch(self) -> None:
        conn = await asyncpg.connect(**self._url.translate_connect_args(username="user"))
        try:
            while True:
                count = await conn.fetchval(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = $1 AND pid <> pg_backend_pid()",
                    self._url.database,
                )
                self.most = max(self.most, int(count))
                await asyncio.sleep(0.002)
        finally:
            await conn.close()


async def test_a_server_holds_no_more_connections_than_its_budget(
    api: Api, database_url: str
) -> None:
    count = ConnectionCount(database_url)
    watching = asyncio.create_task(count.watch())
    try:
        await api.studio("acme", rate_per_second=0)
        for n in range(SCENES):
            await api.scene("acme", f"scene-{n}")
        sent = await asyncio.gather(
            *(api.intent("acme", f"scene-{n % SCENES}", diagnose(2)) for n in range(INTENTS)),
            *(api.request("GET", f"/scenes/scene-{n % SCENES}", "acme") for n in range(INTENTS)),
        )
        assert all(response.status_code in (200, 201, 202) for response in sent), [
            response.text for response in sent if response.status_code >= 300
        ]
        executions = [r.json()["execution_id"] for r in sent[:INTENTS]]
        finished = await asyncio.gather(
            *(
                api.finished("acme", f"scene-{n % SCENES}", execution, within=60)
                for n, execution in enumerate(executions)
            )
        )
        assert {body["status"] for body in finished} == {"succeeded"}
    finally:
        watching.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watching
    assert 1 < count.most <= BUDGET, f"{count.most} connections at once (budget {BUDGET})"
