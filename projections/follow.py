"""Following the global log in batches: whatever has arrived since the last batch,
at most `size` events, so a follower catches up fast and then keeps pace live."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from engine.events import RecordedEvent
from engine.ports import EventStore


async def log_batches(
    store: EventStore, after: int, size: int
) -> AsyncIterator[list[RecordedEvent]]:
    """The log after position `after`, in batches of whatever has arrived (at most
    `size`). Ends by raising what ended the store's subscription."""
    arrived: asyncio.Queue[RecordedEvent] = asyncio.Queue(maxsize=size * 4)

    async def follow() -> None:
        async for event in store.subscribe(after, size):
            await arrived.put(event)

    follower = asyncio.create_task(follow())
    getter: asyncio.Task[RecordedEvent] | None = None
    try:
        while True:
            getter = asyncio.create_task(arrived.get())
            done, _ = await asyncio.wait({getter, follower}, return_when="FIRST_COMPLETED")
            if getter not in done:
                follower.result()  # the subscription ended: raise what ended it
                return
            batch = [getter.result()]
            while len(batch) < size and not arrived.empty():
                batch.append(arrived.get_nowait())
            yield batch
    finally:
        if getter is not None:
            getter.cancel()
        follower.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await follower
