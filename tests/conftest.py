"""Fixtures for every test: temporary databases, and the checks that servers answer.

Tests that need PostgreSQL or NATS skip with the command that starts the server
when it is not running, and fail instead when CI=true, so CI never passes by
skipping.
"""

from __future__ import annotations

import os
import socket
import struct
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

DEFAULT_POSTGRES_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
POSTGRES_START = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
NATS_URL = "nats://127.0.0.1:4222"
NATS_START = (
    "start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- "
    "-a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log"
)


def require_server(
    name: str, host: str, port: int, start_command: str, handshake: Callable[[socket.socket], None]
) -> None:
    """Skip the test (fail it when CI=true) unless the server at host:port answers
    `handshake` as it should."""
    try:
        with socket.create_connection((host, port), timeout=2) as sock:
            sock.settimeout(2)
            handshake(sock)
            return
    except OSError as exc:
        message = f"{name} is not answering at {host}:{port} ({exc})"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(f"{message}; start it with: {start_command}")


def require_program(path: Path, install: str) -> None:
    """Skip the test (fail it when CI=true) unless the program at `path` is installed."""
    if path.exists():
        return
    message = f"{path} is not installed ({install})"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


def _postgres_handshake(sock: socket.socket) -> None:
    # An SSLRequest: any PostgreSQL server answers one byte, S or N, before any auth.
    sock.sendall(struct.pack("!ii", 8, 80877103))
    answer = sock.recv(1)
    if answer not in (b"S", b"N"):
        raise OSError(f"not a PostgreSQL answer: {answer!r}")


def _nats_handshake(sock: socket.socket) -> None:
    # A NATS server greets every client with an INFO line.
    greeting = sock.recv(4)
    if greeting != b"INFO":
        raise OSError(f"not a NATS greeting: {greeting!r}")


def postgres_test_url() -> str:
    return os.environ.get("SCENESTATE_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)


def require_postgres() -> str:
    """The PostgreSQL test URL, once the server answers (works inside or outside a loop)."""
    url = make_url(postgres_test_url())
    host, port = url.host or "127.0.0.1", url.port or 5432
    require_server("PostgreSQL", host, port, POSTGRES_START, _postgres_handshake)
    return postgres_test_url()


def require_nats() -> str:
    """The NATS URL, once the JetStream server answers."""
    require_server("NATS", "127.0.0.1", 4222, NATS_START, _nats_handshake)
    return NATS_URL


@asynccontextmanager
async def fresh_postgres_database(prefix: str) -> AsyncIterator[str]:
    """A new, empty PostgreSQL database for one test (its URL), dropped afterwards."""
    server = make_url(require_postgres())
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(**server.translate_connect_args(username="user"))
    try:
        await admin.execute(f"CREATE DATABASE {name}")
        yield server.set(database=name).render_as_string(hide_password=False)
        await admin.execute(f"DROP DATABASE {name} WITH (FORCE)")
    finally:
        await admin.close()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'scenestate.db'}"


@pytest.fixture
def postgres_url() -> str:
    return require_postgres()


@pytest.fixture
async def postgres_schema(postgres_url: str) -> AsyncIterator[str]:
    """A fresh, empty schema for one test, dropped with everything in it afterwards."""
    schema = f"test_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(**make_url(postgres_url).translate_connect_args(username="user"))
    try:
        await conn.execute(f"CREATE SCHEMA {schema}")
        yield schema
        await conn.execute(f"DROP SCHEMA {schema} CASCADE")
    finally:
        await conn.close()


@pytest.fixture
def nats_url() -> Iterator[str]:
    yield require_nats()
