"""A broadcast wake-up ("something may be ready") for the iterators of one bus."""

from __future__ import annotations

import asyncio
import contextlib


class Signal:
    """Waiters take a ticket *before* they look for work and wait on it after finding
    none, so a change made in between is never missed. `fire` wakes every ticket
    taken so far and starts a new generation."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def ticket(self) -> asyncio.Event:
        return self._event

    def fire(self) -> None:
        fired, self._event = self._event, asyncio.Event()
        fired.set()


async def wait_for_ticket(ticket: asyncio.Event, seconds: float | None = None) -> bool:
    """True when the ticket was fired, False when `seconds` passed first."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await ticket.wait()
            return True
    return False
