"""The task bus (`engine.ports.TaskBus`): tasks to workers, results and cancellations back.

    open_bus(nats_url, **options) -> TaskBus   None: in-process; a nats:// URL: JetStream

`MemoryTaskBus` is the embedded default (one process, nothing survives it);
`JetStreamTaskBus` lets engines and workers in many processes share the work and
survives restarts of either side and of the server. Both hold the same contract,
tests/adapters/bus_contract.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from adapters.bus._errors import BusClosed, BusError, BusUnavailable
from adapters.bus.memory import MemoryTaskBus
from engine.ports import TaskBus

if TYPE_CHECKING:
    from adapters.bus.jetstream import JetStreamTaskBus

__all__ = [
    "BusClosed",
    "BusError",
    "BusUnavailable",
    "JetStreamTaskBus",
    "MemoryTaskBus",
    "open_bus",
]


def open_bus(nats_url: str | None, **options: Any) -> TaskBus:
    """The task bus for `nats_url`; JetStream connects on first use.

    Options, all keyword, on both: `ack_wait` (seconds, default 30), `max_deliver`
    (default 5), `duplicate_window` (seconds, default 120). JetStream also takes
    `prefix`, `tiers`, `poll_interval`, `request_timeout`, `publish_timeout`,
    `reconnect_time_wait` and `storage` (see `JetStreamTaskBus`). An option the
    adapter does not know is a TypeError.
    """
    if nats_url is None:
        return MemoryTaskBus(**options)
    from adapters.bus.jetstream import JetStreamTaskBus

    return JetStreamTaskBus(nats_url, **options)


def __getattr__(name: str) -> Any:
    # nats-py loads only where JetStream is used: embedded commands start sooner
    if name == "JetStreamTaskBus":
        from adapters.bus.jetstream import JetStreamTaskBus

        return JetStreamTaskBus
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
