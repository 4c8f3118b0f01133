"""Fixtures for driving the real `scenestate` command on each backend."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import fresh_postgres_database

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
    async with fresh_postgres_database("cli") as url:
        yield url


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
