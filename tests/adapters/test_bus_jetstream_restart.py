"""The JetStream bus across a NATS server restart: nothing is lost, nothing is done
twice, and a worker that was iterating before the restart goes on after it.

The test runs its own `nats-server -js` on a free loopback port with a temporary
store directory, so the shared server on 4222 is never touched.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from adapters.bus import JetStreamTaskBus
from engine.ports import TaskDelivery
from engine.tasks import LANES, Lane, TaskMessage, TaskStatus
from tests.adapters.bus_contract import PATIENCE, Collector, eventually_equal, result, task
from tests.conftest import require_program

pytestmark = pytest.mark.nats


NATS_SERVER = Path("/usr/sbin/nats-server")


class OwnNatsServer:
    """A nats-server process of this test's own; stop and start keep port and store."""

    def __init__(self, store: Path) -> None:
        self.store = store
        self.port = _free_port()
        self.url = f"nats://127.0.0.1:{self.port}"
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            str(NATS_SERVER),
            *("-a", "127.0.0.1", "-p", str(self.port), "-js", "-sd", str(self.store)),
            *("-l", str(self.store / "nats-server.log")),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        async with asyncio.timeout(PATIENCE):
            while not await self._answers():
                assert self.process.returncode is None, "nats-server exited at start"
                await asyncio.sleep(0.05)

    async def stop(self) -> None:
        if self.process is None or self.process.returncode is not None:
            return
        self.process.send_signal(signal.SIGTERM)  # a clean shutdown flushes the store
        try:
            async with asyncio.timeout(PATIENCE):
                await self.process.wait()
        except TimeoutError:
            self.process.kill()
            await self.process.wait()

    async def _answers(self) -> bool:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        except OSError:
            return False
        try:
            return await reader.read(4) == b"INFO"
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def store(tmp_path: Path) -> Path:
    """The server's store directory, once nats-server is known to be installed."""
    require_program(NATS_SERVER, "apt-get install nats-server")
    store = tmp_path / "jetstream"
    store.mkdir()
    return store


@pytest.fixture
async def server(store: Path) -> AsyncIterator[OwnNatsServer]:
    own = OwnNatsServer(store)
    await own.start()
    try:
        yield own
    finally:
        await own.stop()


async def test_a_server_restart_loses_nothing_and_repeats_nothing(
    server: OwnNatsServer,
) -> None:
    bus = JetStreamTaskBus(server.url, prefix="restart", poll_interval=0.2, request_timeout=1.0)
    before = [task(f"before{i}", lane=LANES[i % 2]) for i in range(8)]
    during = [task(f"during{i}", lane=Lane.PREVIEW) for i in range(3)]
    try:
        for sent in before:
            await bus.publish_task(sent)
        await bus.publish_result(result("r1", TaskStatus.SUCCEEDED))
        taker: Collector[TaskDelivery] = Collector(bus.tasks([Lane.INTERACTIVE, Lane.PREVIEW]))
        acked = [await taker.next() for _ in range(3)]
        for delivery in acked:
            await delivery.ack()
        held = await taker.next()  # a worker is busy with this one across the restart

        await server.stop()
        # Publishing while the server is down waits for it to come back.
        publishing = asyncio.create_task(_publish_all(bus, during))
        await asyncio.sleep(0.5)
        assert not publishing.done()
        await server.start()
        await asyncio.wait_for(publishing, PATIENCE)

        await held.ack()
        acked.append(held)
        while len(acked) < len(before) + len(during):
            delivery = await taker.next()
            await delivery.ack()
            acked.append(delivery)
        await taker.nothing_within(1.0)

        names = [d.task.task_id for d in acked]
        assert sorted(names) == sorted(t.task_id for t in before + during)
        assert all(d.delivery_count == 1 for d in acked), "a task was delivered twice"
        await eventually_equal(bus.queue_depth, dict.fromkeys(LANES, 0))

        results = Collector(bus.results())
        kept = await results.next()
        assert kept.result == result("r1", TaskStatus.SUCCEEDED)
        await kept.ack()
        await taker.stop()
        await results.stop()
    finally:
        await bus.close(delete=True)


async def _publish_all(bus: JetStreamTaskBus, tasks: list[TaskMessage]) -> None:
    for sent in tasks:
        await bus.publish_task(sent)
