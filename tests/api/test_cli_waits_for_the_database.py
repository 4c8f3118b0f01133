"""The commands that run until stopped (`serve`, `run`) wait for a database that
refuses connections ("too many clients") with one line per try, never a traceback,
and start once it takes them."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import struct
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url

from tests.api.conftest import SCENESTATE
from tests.conftest import fresh_postgres_database

pytestmark = pytest.mark.postgres

_SSL_REQUEST, _GSSENC_REQUEST = 80877103, 80877104
_TOO_MANY = b"SFATAL\0VFATAL\0C53300\0Msorry, too many clients already\0\0"


class RefusingDatabase:
    """A loopback PostgreSQL front that answers every connection "too many clients",
    until `accept()`; from then on it passes connections through to the real server."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.accepting = False
        self._server: asyncio.Server | None = None
        self._piping: set[asyncio.Task[None]] = set()

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        return int(self._server.sockets[0].getsockname()[1])

    def accept(self) -> None:
        self.accepting = True

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in self._piping:
            task.cancel()
        await asyncio.gather(*self._piping, return_exceptions=True)

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            if self.accepting:
                await self._pass_through(reader, writer)
            else:
                await self._refuse(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def _refuse(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            (length,) = struct.unpack("!I", await reader.readexactly(4))
            (code,) = struct.unpack("!I", (await reader.readexactly(length - 4))[:4])
            if code in (_SSL_REQUEST, _GSSENC_REQUEST):
                writer.write(b"N")  # no encryption; the startup message comes next
                continue
            writer.write(b"E" + struct.pack("!I", len(_TOO_MANY) + 4) + _TOO_MANY)
            await writer.drain()
            return

    async def _pass_through(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        pipes = [
            asyncio.create_task(_pipe(reader, up_writer)),
            asyncio.create_task(_pipe(up_reader, writer)),
        ]
        self._piping.update(pipes)
        try:
            await asyncio.wait(pipes, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for pipe in pipes:
                pipe.cancel()
                self._piping.discard(pipe)
            up_writer.close()


async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError):
        while data := await source.read(65536):
            sink.write(data)
            await sink.drain()


@pytest.fixture
async def refusing() -> AsyncIterator[tuple[RefusingDatabase, str]]:
    """The front, and a fresh database's URL that goes through it."""
    async with fresh_postgres_database("waits") as url:
        real = make_url(url)
        front = RefusingDatabase((real.host or "127.0.0.1", real.port or 5432))
        port = await front.start()
        try:
            yield front, real.set(port=port).render_as_string(hide_password=False)
        finally:
            await front.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _lines(stream: asyncio.StreamReader, seen: list[str], wanted: str) -> None:
    """Read lines into `seen` until one contains `wanted`."""
    while True:
        line = (await stream.readline()).decode()
        if not line:
            raise AssertionError(f"the command ended before saying {wanted!r}:\n{''.join(seen)}")
        seen.append(line)
        if wanted in line:
            return


@pytest.mark.parametrize("command", ["serve", "run"])
async def test_a_long_running_command_waits_for_a_database_that_refuses_it(
    refusing: tuple[RefusingDatabase, str], tmp_path: Path, command: str
) -> None:
    front, url = refusing
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCENESTATE_")}
    env.update(SCENESTATE_DATA_DIR=str(tmp_path / "data"), SCENESTATE_DATABASE_URL=url)
    port = _free_port()
    args = ["serve", "--port", str(port)] if command == "serve" else ["run", "--workers", "1"]
    process = await asyncio.create_subprocess_exec(
        str(SCENESTATE),
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    said: list[str] = []
    try:
        async with asyncio.timeout(60):
            for _ in range(2):  # it keeps trying
                await _lines(process.stderr, said, "too many clients")
            assert process.returncode is None
            waits = [line for line in said if "too many clients" in line]
            assert all(line.startswith("waiting:") and "trying again in" in line for line in waits)
            front.accept()
            if command == "run":
                await _lines(process.stdout, [], "running the pipeline")
            else:
                await _until_healthy(port, process)
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGINT)
        try:
            await asyncio.wait_for(process.wait(), 20)
        except TimeoutError:
            process.kill()
            await process.wait()
    rest = (await process.stderr.read()).decode()
    assert "Traceback" not in "".join(said) + rest


async def _until_healthy(port: int, process: asyncio.subprocess.Process) -> None:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as http:
        while process.returncode is None:
            with contextlib.suppress(httpx.TransportError):
                if (await http.get("/healthz")).status_code == 200:
                    return
            await asyncio.sleep(0.1)
    raise AssertionError(f"scenestate serve exited with {process.returncode}")
