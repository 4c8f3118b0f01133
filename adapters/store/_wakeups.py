"""In-process wake-ups for the subscribers of one store ("something new may be readable")."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager


class Wakeups:
    """A set of events, one per live subscriber; setting them all is how news spreads.

    A wake-up only shortens a subscriber's wait: every subscriber also polls, so a
    lost or spurious wake-up costs latency, never correctness.
    """

    def __init__(self) -> None:
        self._waiting: set[asyncio.Event] = set()

    @contextmanager
    def register(self) -> Iterator[asyncio.Event]:
        event = asyncio.Event()
        self._waiting.add(event)
        try:
            yield event
        finally:
            self._waiting.discard(event)

    def wake_all(self) -> None:
        for event in self._waiting:
            event.set()
