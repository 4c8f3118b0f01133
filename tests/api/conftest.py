"""Fixtures for driving the real `scenestate` command on each backend."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from tests.conftest import require_postgres

SCENESTATE = Path(sys.executable).parent / "scenestate"


@dataclass
class Cli:
    """The `scenestate` command with its own data directory and database."""

    env: dict[str, str]
    cwd: Path

    def __call__(
        self, *args: str, input: str | None = None, ok: bool = True
    ) -> subprocess.CompletedProcess[str]:
        run = subprocess.run(
            [str(SCENESTATE), *args],
            input=input,
            capture_output=True,
            text=True,
            env=self.env,
            cwd=self.cwd,
            timeout=120,
        )
        if ok and run.returncode != 0:
            raise AssertionError(f"scenestate {' '.join(args)} failed:\n{run.stdout}\n{run.stderr}")
        return run


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh database of each kind: a SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
        return
    server = make_url(require_postgres())
    name = f"cli_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(**server.translate_connect_args(username="user"))
    try:
        await admin.execute(f"CREATE DATABASE {name}")
        yield server.set(database=name).render_as_string(hide_password=False)
        await admin.execute(f"DROP DATABASE {name} WITH (FORCE)")
    finally:
        await admin.close()


@pytest.fixture
def cli(database_url: str, tmp_path: Path) -> Cli:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCENESTATE_")}
    env.update(
        SCENESTATE_DATA_DIR=str(tmp_path / "data"),
        SCENESTATE_DATABASE_URL=database_url,
        COLUMNS="200",
        NO_COLOR="1",
    )
    return Cli(env, tmp_path)
