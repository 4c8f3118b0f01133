"""What the task buses raise: the core's bus errors (`engine.errors`), re-exported so
callers of `adapters.bus` find them beside `open_bus`."""

from __future__ import annotations

from typing import TypeVar

from adapters._failures import translates_failures
from engine.errors import BusClosed, BusError, BusUnavailable

T = TypeVar("T")

__all__ = ["BusClosed", "BusError", "BusUnavailable", "translates_bus_failures"]


def _bus_unavailable(backend: str, reason: str) -> BusUnavailable:
    return BusUnavailable(reason)


def translates_bus_failures(cls: type[T]) -> type[T]:
    """NATS's own errors (and a lost socket) leave the bus as `BusUnavailable`."""
    import nats.errors  # the bus adapters that use this load nats-py anyway

    return translates_failures("task bus", (OSError, nats.errors.Error), _bus_unavailable)(cls)
