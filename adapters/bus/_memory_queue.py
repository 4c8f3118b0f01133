"""The in-process bus's queues: leases with ack timers, and a duplicate window.

A `LeaseQueue` holds items until they are finished. Each item is in one of three
states: ready (in the priority heap), leased (handed to one consumer, with an ack
timer running) or waiting (nak'd with a delay, or its lease expired, and about to
be ready again). Every lease carries a token; settling a lease that is no longer
current (its ack wait ran out and the item went to someone else) does nothing,
so a late ack can never finish somebody else's delivery.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections import OrderedDict
from collections.abc import Callable
from enum import Enum
from typing import Generic, TypeVar

T = TypeVar("T")


class _State(Enum):
    READY = "ready"
    LEASED = "leased"
    WAITING = "waiting"


class _Entry(Generic[T]):
    __slots__ = ("deliveries", "item", "priority", "seq", "state", "timer", "token")

    def __init__(self, item: T, priority: int, seq: int) -> None:
        self.item = item
        self.priority = priority
        self.seq = seq
        self.deliveries = 0
        self.token = 0
        self.state = _State.READY
        self.timer: asyncio.TimerHandle | None = None

    def stop_timer(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None


class Lease(Generic[T]):
    """One delivery of one item; only the newest lease of an item can settle it."""

    __slots__ = ("_entry", "_token", "deliveries", "item")

    def __init__(self, entry: _Entry[T]) -> None:
        self._entry = entry
        self._token = entry.token
        self.item = entry.item
        self.deliveries = entry.deliveries

    @property
    def current(self) -> bool:
        return self._entry.state is _State.LEASED and self._entry.token == self._token


class LeaseQueue(Generic[T]):
    """Items by priority (higher first, then first in first out), leased one at a time.

    `on_ready` is called whenever an item becomes ready (so waiting consumers can
    look again); `on_dead(item, deliveries)` when an item was delivered
    `max_deliver` times without being finished (None: deliver forever).
    """

    def __init__(
        self,
        ack_wait: float,
        max_deliver: int | None,
        on_ready: Callable[[], None],
        on_dead: Callable[[T, int], None] | None = None,
    ) -> None:
        self._ack_wait = ack_wait
        self._max_deliver = max_deliver
        self._on_ready = on_ready
        self._on_dead = on_dead
        self._heap: list[tuple[int, int, _Entry[T]]] = []
        self._live: set[_Entry[T]] = set()
        self._seq = itertools.count()

    def __len__(self) -> int:
        """Items not finished yet: ready, leased or waiting."""
        return len(self._live)

    def put(self, item: T, priority: int = 0) -> None:
        entry = _Entry(item, priority, next(self._seq))
        self._live.add(entry)
        self._make_ready(entry)

    def take(self) -> Lease[T] | None:
        if not self._heap:
            return None
        _, _, entry = heapq.heappop(self._heap)
        entry.state = _State.LEASED
        entry.deliveries += 1
        entry.token += 1
        self._start_ack_timer(entry)
        return Lease(entry)

    def finish(self, lease: Lease[T]) -> None:
        """Ack or term: the item is never delivered again."""
        if lease.current:
            lease._entry.stop_timer()
            self._live.discard(lease._entry)

    def nak(self, lease: Lease[T], delay: float) -> None:
        if not lease.current:
            return
        entry = lease._entry
        entry.stop_timer()
        entry.state = _State.WAITING
        if delay > 0:
            entry.timer = asyncio.get_running_loop().call_later(delay, self._redeliver, entry)
        else:
            self._redeliver(entry)

    def touch(self, lease: Lease[T]) -> None:
        """In progress: the ack wait starts again from now."""
        if lease.current:
            lease._entry.stop_timer()
            self._start_ack_timer(lease._entry)

    def close(self) -> None:
        for entry in self._live:
            entry.stop_timer()
        self._live.clear()
        self._heap.clear()

    def _start_ack_timer(self, entry: _Entry[T]) -> None:
        loop = asyncio.get_running_loop()
        entry.timer = loop.call_later(self._ack_wait, self._expire, entry, entry.token)

    def _expire(self, entry: _Entry[T], token: int) -> None:
        if entry.state is _State.LEASED and entry.token == token:
            entry.timer = None
            entry.state = _State.WAITING
            self._redeliver(entry)

    def _redeliver(self, entry: _Entry[T]) -> None:
        entry.timer = None
        if entry not in self._live:
            return  # finished or closed while the timer ran
        if self._max_deliver is not None and entry.deliveries >= self._max_deliver:
            self._live.discard(entry)
            if self._on_dead is not None:
                self._on_dead(entry.item, entry.deliveries)
            return
        self._make_ready(entry)

    def _make_ready(self, entry: _Entry[T]) -> None:
        entry.state = _State.READY
        heapq.heappush(self._heap, (-entry.priority, entry.seq, entry))
        self._on_ready()


class RecentIds:
    """Message ids seen in the last `window` seconds (JetStream's duplicate window)."""

    def __init__(self, window: float) -> None:
        self._window = window
        self._seen: OrderedDict[str, float] = OrderedDict()

    def add(self, message_id: str) -> bool:
        """Remember `message_id`; False when it was already seen inside the window."""
        now = time.monotonic()
        while self._seen:
            oldest, seen_at = next(iter(self._seen.items()))
            if now - seen_at < self._window:
                break
            del self._seen[oldest]
        if message_id in self._seen:
            return False
        self._seen[message_id] = now
        return True
