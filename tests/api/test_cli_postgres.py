"""What the `scenestate` command leaves in PostgreSQL when it exits."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from tests.api.conftest import Cli
from tests.api.test_cli import action
from tests.conftest import fresh_postgres_database

pytestmark = pytest.mark.postgres


@pytest.fixture
async def database_url(tmp_path: Path) -> AsyncIterator[str]:
    async with fresh_postgres_database("cli") as url:
        yield url


async def unnumbered_events(url: str) -> tuple[int, int]:
    """(events, of them without a global position)."""
    conn = await asyncpg.connect(**make_url(url).translate_connect_args(username="user"))
    try:
        row = await conn.fetchrow(
            "SELECT count(*), count(*) FILTER (WHERE position IS NULL) FROM events"
        )
    finally:
        await conn.close()
    return row[0], row[1]


async def test_intents_are_numbered_before_the_command_exits(cli: Cli, database_url: str) -> None:
    cli("migrate")
    for body in (
        action("promo", "create_scene", title="Teaser"),
        action("promo", "add_node", kind="shot", node="shot-1", props={"title": "Opening"}),
        action("promo", "set_property", node="shot-1", prop="title", value="Closing"),
    ):
        cli("intent", "-", "--actor", "ana", input=json.dumps(body))
        events, unnumbered = await unnumbered_events(database_url)
        assert events > 0 and unnumbered == 0, f"{unnumbered} of {events} events unnumbered"
