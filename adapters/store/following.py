"""What every event store offers on top of `subscribe` and `read_stream`, written
once: following the log in batches, and finding where an append landed.

    follow_in_batches(store, after, size)        the log after `after`, in batches
    landed_positions(store, stream, first, last) global positions of an append

Both work on any `engine.ports.EventStore`; the stores' `follow` and `positions_of`
methods call them, so the dispatcher, the projection runner and the API's stream hub
share one copy.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from engine.errors import StoreError

if TYPE_CHECKING:
    from engine.events import RecordedEvent
    from engine.ports import EventStore, StreamId

# Up to this many events, one read finds both ends of an append.
SMALL_APPEND = 64
# How often to look again for positions a background numbering pass gives out.
LANDING_TRIES = 3


async def follow_in_batches(
    store: EventStore, after: int, size: int
) -> AsyncIterator[list[RecordedEvent]]:
    """The log after position `after`, in batches of whatever has arrived (at most
    `size`), so a follower catches up fast and then keeps pace live. Ends by raising
    what ended the store's subscription."""
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


async def landed_positions(
    store: EventStore, stream: StreamId, first_version: int, last_version: int
) -> tuple[int, int]:
    """The global positions of versions `first_version` and `last_version` of a
    stream. Asking for the head position makes a store that numbers events after
    commit (PostgreSQL) number them now, so this never waits for a background pass."""
    for _ in range(LANDING_TRIES):
        if last_version - first_version <= SMALL_APPEND:
            found = await store.read_stream(stream, first_version - 1, last_version)
            first, last = found[:1], found[-1:]
        else:
            first = await store.read_stream(stream, first_version - 1, first_version)
            last = await store.read_stream(stream, last_version - 1, last_version)
        if first and last and first[0].position is not None and last[0].position is not None:
            return first[0].position, last[0].position
        await store.head_position()
    raise StoreError(
        f"versions {first_version}..{last_version} of {stream} have no global position yet"
    )
