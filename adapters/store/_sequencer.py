"""The PostgreSQL sequencer: gives committed events their global positions.

See `adapters.store.postgres` for why positions are assigned after commit. Here is
only who runs the `sequence_events()` function (created by the migration) and when:

- `sync()` runs one pass now; readers call it before reading by position.
  Concurrent callers in one process share passes: a caller waits for the first
  pass that started after it asked, never for more.
- `poke()` wakes a background task after this store's own commits. After a quiet
  spell its first pass runs at once; then it runs at most one pass per `interval`
  while there is work (unsequenced rows, or another process's sequencer holding
  the lock: its pass numbers our rows too, but we look again one interval later
  rather than wait for its notification), backing off only while passes fail, and
  sleeps when the log is fully sequenced. Appends that commit within one interval are thus
  numbered by one pass: besides its per-row UPDATE, a pass is a second commit (a
  WAL flush) and ~0.3 ms of server CPU, which one pass per append would add to
  every append of a lone writer.

- `close()` numbers what this store appended before it stops: a command that
  appends and exits (the CLI) leaves no event without its position for another
  process to number later.

Passes run on the store's asyncpg write connections (`_pg_connections`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import NamedTuple

import asyncpg

from adapters.store._pg_connections import WriteConnections

log = logging.getLogger(__name__)

# How long close() keeps trying to number this store's events before it gives up
# and leaves them to the next reader's pass.
FINISH_TIMEOUT = 10.0

_PASS = "SELECT assigned, last_position, pending FROM sequence_events($1::integer)"


_PASS_FAILURES = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError)


class SequencerPass(NamedTuple):
    assigned: int
    last_position: int | None
    # unsequenced rows remain, or another sequencer held the lock
    pending: bool


class Sequencer:
    def __init__(
        self,
        connections: WriteConnections,
        on_progress: Callable[[int | None], None],
        *,
        batch_size: int = 10_000,
        interval: float = 0.005,
        max_backoff: float = 0.1,
    ) -> None:
        self._connections = connections
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
        self._appended = False  # poked since the last pass that saw everything

    async def sync(self) -> SequencerPass:
        self._asked += 1
        ticket = self._asked
        async with self._lock:
            if self._covered >= ticket:
                return self._last
            covers = self._asked
            async with self._connections.connection() as conn:
                row = await conn.fetchrow(_PASS, self._batch_size)
            done = self._last = SequencerPass(row[0], row[1], row[2])
            self._covered = covers
        if done.assigned:
            self._on_progress(done.last_position)
        return done

    def poke(self) -> None:
        self._appended = True
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(
                self._follow(), name="scenestate-sequencer"
            )
        self._wake.set()

    async def close(self) -> None:
        """Stop the background task, after numbering every event this store appended."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._appended:
            try:
                async with asyncio.timeout(FINISH_TIMEOUT):
                    await self._finish()
            except (TimeoutError, *_PASS_FAILURES) as exc:
                log.warning("events appended here are left for the next reader to number: %s", exc)

    async def _finish(self) -> None:
        """Run passes until one has numbered every row committed before it began (ours
        committed before close() was called), or another process's pass has."""
        while True:
            done = await self.sync()
            if not done.pending or 0 < done.assigned < self._batch_size:
                self._appended = False
                return
            # another process's pass holds the lock, or more than a batch waits
            await asyncio.sleep(self._interval)

    async def _follow(self) -> None:
        delay = self._interval
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                done = await self.sync()
                delay = self._interval
            except _PASS_FAILURES as exc:
                # Readers sequence too, so a failing pass here only delays news.
                log.warning("sequencing pass failed, retrying: %s", exc)
                done = SequencerPass(0, None, True)
                delay = min(delay * 2, self._max_backoff)
            if done.pending or done.assigned == self._batch_size:
                self._wake.set()
            await asyncio.sleep(delay)
