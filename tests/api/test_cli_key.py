"""`scenestate key`: a studio's API key made at the machine (no admin key, no server),
for the inspector or any client; the studio is made when it is missing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from api.auth import KeyRing
from api.bootstrap import open_services
from api.config import HttpSettings, Settings
from tests.api.conftest import Cli

TOKEN = re.compile(r"^ssk_[0-9a-f]{16}_\S+$")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_key_makes_a_working_key_of_the_studio_and_the_studio_if_missing(
    cli: Cli, database_url: str, tmp_path: Path
) -> None:
    cli("migrate")
    first = cli("key", "web", "--studio", "acme")
    second = cli("key", "--studio", "acme", "--actor", "ana")
    tokens = [run.stdout.strip() for run in (first, second)]
    assert all(TOKEN.match(token) for token in tokens), tokens
    assert tokens[0] != tokens[1]
    assert "studio acme" in first.stderr and "shown this once" in first.stderr

    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        nats_url=None,
        http=HttpSettings(),
    )
    async with open_services(settings) as services:
        studio = await services.tenancy_store.studio("acme")
        assert studio is not None
        ring = KeyRing(services.tenancy_store, None, 1.0)
        web, ana = [await ring.principal(token) for token in tokens]
    assert (web.studio, web.actor) == ("acme", "key:web")
    assert (ana.studio, ana.actor) == ("acme", "ana")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_key_refuses_a_studio_id_no_key_could_name(cli: Cli) -> None:
    cli("migrate")
    refused = cli("key", "--studio", "no spaces", ok=False)
    assert refused.returncode == 2, refused.stderr
    assert "studio" in refused.stderr
