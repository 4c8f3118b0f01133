"""The task bus contract on NATS JetStream: each test has its own prefix (its own
streams and consumers) on the shared server, and deletes them at the end."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from adapters.bus import JetStreamTaskBus, open_bus
from engine.errors import BusUnavailable
from engine.ports import TaskBus
from tests.adapters.bus_contract import BusBackend, BusContract

pytestmark = pytest.mark.nats

# Short idle polls keep nak delays and ack-wait expiries quick to notice in tests.
TEST_POLL_INTERVAL = 0.2


class JetStreamBackend(BusBackend):
    def __init__(self, url: str) -> None:
        self.url = url
        self.prefix = f"test_{uuid.uuid4().hex[:12]}"
        self.buses: list[JetStreamTaskBus] = []

    def open(self, **options: Any) -> TaskBus:
        bus = open_bus(self.url, prefix=self.prefix, poll_interval=TEST_POLL_INTERVAL, **options)
        assert isinstance(bus, JetStreamTaskBus)
        self.buses.append(bus)
        return bus

    async def cleanup(self) -> None:
        for bus in self.buses:
            await bus.close()
        await JetStreamTaskBus(self.url, prefix=self.prefix).close(delete=True)


class TestJetStreamBus(BusContract):
    @pytest.fixture
    async def backend(self, nats_url: str) -> AsyncIterator[BusBackend]:
        yield JetStreamBackend(nats_url)


def test_a_nats_url_means_jetstream() -> None:
    assert isinstance(open_bus("nats://127.0.0.1:4222", prefix="p"), JetStreamTaskBus)


def test_a_prefix_must_be_one_subject_token() -> None:
    with pytest.raises(ValueError):
        open_bus("nats://127.0.0.1:4222", prefix="two.tokens")


async def test_a_bus_with_no_server_there_says_so_at_once() -> None:
    """The client reconnects forever once connected; a first connection to a server
    that is not there is refused at once (BusUnavailable), never waited for in silence."""
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    bus = JetStreamTaskBus(f"nats://127.0.0.1:{port}", prefix=f"gone{uuid.uuid4().hex[:8]}")
    try:
        async with asyncio.timeout(30):  # the bug was a wait without end
            with pytest.raises(BusUnavailable, match=f"no NATS server answers at .*:{port}"):
                await bus.queue_depth()
    finally:
        await bus.close()
