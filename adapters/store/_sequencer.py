"""The PostgreSQL sequencer: gives committed events their global positions.

See `adapters.store.postgres` for why positions are assigned after commit. Here is
only who runs the `sequence_events()` function (created by the migration) and when:

- `sync()` runs one pass now; readers call it before reading by position.
  Concurrent callers in one process share passes: a caller waits for the first
  pass that started after it asked, never for more.
- `poke()` wakes a background task after this store's own commits. It runs passes
  at most every `interval` seconds while there is work (unsequenced rows, or
  another sequencer holding the lock), backing off while a long transaction holds
  the horizon back, and sleeps when the log is fully sequenced.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import NamedTuple

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger(__name__)

_PASS = text(
    "SELECT assigned, last_position, pending FROM sequence_events(CAST(:batch AS integer))"
)


class SequencerPass(NamedTuple):
    assigned: int
    last_position: int | None
    # unsequenced rows remain, or another sequencer held the lock
    pending: bool


class Sequencer:
    def __init__(
        self,
        engine: AsyncEngine,
        on_progress: Callable[[], None],
        *,
        batch_size: int = 10_000,
        interval: float = 0.002,
        max_backoff: float = 0.1,
    ) -> None:
        self._engine = engine
        self._on_progress = on_progress
        self._batch_size = batch_size
        self._interval = interval
        self._max_backoff = max_backoff
        self._lock = asyncio.Lock()
        self._asked = 0  # tickets handed to callers of sync()
        self._covered = 0  # every ticket up to this one was served by a finished pass
        self._last = SequencerPass(0, None, True)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def sync(self) -> SequencerPass:
        self._asked += 1
        ticket = self._asked
        async with self._lock:
            if self._covered >= ticket:
                return self._last
            covers = self._asked
            async with self._engine.connect() as conn:
                row = (await conn.execute(_PASS, {"batch": self._batch_size})).one()
            done = self._last = SequencerPass(row[0], row[1], row[2])
            self._covered = covers
        if done.assigned:
            self._on_progress()
        return done

    def poke(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(
                self._follow(), name="scenestate-sequencer"
            )
        self._wake.set()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _follow(self) -> None:
        delay = self._interval
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                done = await self.sync()
            except (SQLAlchemyError, OSError) as exc:
                # Readers sequence too, so a failing pass here only delays news.
                log.warning("sequencing pass failed, retrying: %s", exc)
                done = SequencerPass(0, None, True)
            more = done.pending or done.assigned == self._batch_size
            if more:
                self._wake.set()
            if done.assigned or not more:
                delay = self._interval
            else:
                # Nothing moves: a long transaction holds the horizon back; back off.
                delay = min(delay * 2, self._max_backoff)
            await asyncio.sleep(delay)
