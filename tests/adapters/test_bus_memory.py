"""The task bus contract on the in-process bus, and how `open_bus` picks it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

import adapters.bus
from adapters.bus import MemoryTaskBus, open_bus
from engine.ports import TaskBus
from tests.adapters.bus_contract import BusBackend, BusContract


class MemoryBackend(BusBackend):
    """In one process every "other process" is the same bus."""

    def __init__(self) -> None:
        self.bus: TaskBus | None = None

    def open(self, **options: Any) -> TaskBus:
        if self.bus is None:
            self.bus = open_bus(None, **options)
        return self.bus

    async def cleanup(self) -> None:
        if self.bus is not None:
            await self.bus.close()


class TestMemoryBus(BusContract):
    @pytest.fixture
    async def backend(self) -> AsyncIterator[BusBackend]:
        yield MemoryBackend()


def test_no_nats_url_means_the_in_process_bus() -> None:
    assert isinstance(open_bus(None, ack_wait=5.0), MemoryTaskBus)


def test_an_unknown_option_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        open_bus(None, prefix="only-jetstream-has-this")


def test_nonsense_settings_are_refused() -> None:
    with pytest.raises(ValueError):
        open_bus(None, max_deliver=0)


def test_the_public_surface() -> None:
    assert sorted(adapters.bus.__all__) == [
        "BusClosed",
        "BusError",
        "BusUnavailable",
        "JetStreamTaskBus",
        "MemoryTaskBus",
        "open_bus",
    ]
