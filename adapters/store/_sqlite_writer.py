"""The one thread that writes a SQLite store's file, committing queued writes in groups.

A write is a plain function of a stdlib `sqlite3.Connection`; the store awaits
`SqliteWriter.run(write)` and gets back what the function returned, or what it raised.
Every write runs on one thread that owns one connection (SQLite lets one connection
write at a time anyway), so writes of one process never wait in SQLite's sleeping
busy handler for each other; across processes `busy_timeout` still does. The thread
is a plain one fed by a `queue.SimpleQueue` and answering with one
`call_soon_threadsafe` per group: a round trip costs ~50 us that way, against ~135 us
through `loop.run_in_executor` and a ThreadPoolExecutor.

Group commit. While the thread is busy, new writes queue on the event loop; when it
is free, everything queued (up to MAX_GROUP writes) goes to it in one hop and runs in
one `BEGIN IMMEDIATE` transaction, so the whole group costs one commit and one WAL
sync. The writes run in the order they were queued, each inside its own SAVEPOINT
(a group of one needs none: its transaction is rolled back instead):

* each sees the writes before it, exactly as if they had committed one by one, so
  an expected-version or idempotency-key check inside a write stays exact;
* a write that raises is rolled back to its savepoint alone: it changed nothing, its
  caller gets its exception, and the rest of the group goes on;
* callers hear back only after COMMIT. If the transaction is lost (COMMIT fails, or
  SQLite abandons the transaction after an I/O error), every write of the group gets
  that error, unless it had failed on its own already, and none of them is stored.

A caller cancelled while its write waits in the queue takes it out of the queue;
once the write has gone to the thread it runs, and may commit like any statement
already sent to a database.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import sqlite3
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from engine.errors import StoreError

T = TypeVar("T")
Write = Callable[[sqlite3.Connection], Any]
Queued = tuple[Write, "asyncio.Future[Any]"]
# (result, None) or (None, what the write raised)
Outcome = tuple[Any, BaseException | None]

# Bounds how long one group holds the database's write lock (other processes wait).
MAX_GROUP = 64


class SqliteWriter:
    def __init__(self, connect: Callable[[], sqlite3.Connection]) -> None:
        self._connect = connect
        self._conn: sqlite3.Connection | None = None  # used on the writer thread only
        # Groups for the thread, with the loop to report back to; None stops it.
        self._inbox: queue.SimpleQueue[tuple[asyncio.AbstractEventLoop, list[Queued]] | None]
        self._inbox = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._queued: list[Queued] = []
        self._busy = False
        self._closed = False
        self._drained: asyncio.Future[None] | None = None

    async def run(self, write: Callable[[sqlite3.Connection], T]) -> T:
        """Run `write` in a transaction with the writes queued beside it; after commit,
        return its result or raise its exception."""
        if self._closed:
            raise StoreError("the event store is closed")
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queued.append((write, future))
        if not self._busy:
            self._send_group()
        return await future

    async def close(self) -> None:
        """Let every queued write finish, then close the connection and end the thread."""
        self._closed = True
        if self._busy:
            self._drained = asyncio.get_running_loop().create_future()
            await self._drained
        if self._thread is not None:
            self._inbox.put(None)
            await asyncio.to_thread(self._thread.join)
            self._thread = None

    def _send_group(self) -> None:
        waiting = [queued for queued in self._queued if not queued[1].done()]
        group, self._queued = waiting[:MAX_GROUP], waiting[MAX_GROUP:]
        if not group:  # every caller left
            self._idle()
            return
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._serve, name="scenestate-sqlite-writer", daemon=True
            )
            self._thread.start()
        self._busy = True
        self._inbox.put((asyncio.get_running_loop(), group))

    def _deliver(self, group: list[Queued], outcomes: list[Outcome]) -> None:
        for (_, future), (result, error) in zip(group, outcomes, strict=True):
            if future.done():  # its caller was cancelled
                continue
            if error is None:
                future.set_result(result)
            else:
                future.set_exception(error)
        self._busy = False
        if self._queued:
            self._send_group()
        else:
            self._idle()

    def _idle(self) -> None:
        if self._drained is not None and not self._drained.done():
            self._drained.set_result(None)

    # -- on the writer thread --------------------------------------------------------

    def _serve(self) -> None:
        while (item := self._inbox.get()) is not None:
            loop, group = item
            outcomes = self._commit([write for write, _ in group])
            loop.call_soon_threadsafe(self._deliver, group, outcomes)
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _commit(self, writes: list[Write]) -> list[Outcome]:
        if self._conn is None:
            try:
                self._conn = self._connect()
            except sqlite3.Error as exc:
                return [(None, exc)] * len(writes)
        conn = self._conn
        if len(writes) == 1:
            return [_alone(conn, writes[0])]
        outcomes: list[Outcome] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
            for write in writes:
                outcomes.append(_in_savepoint(conn, write))
                if not conn.in_transaction:
                    # SQLite rolled the whole transaction back (I/O error, disk full)
                    raise StoreError(f"the write transaction was lost: {outcomes[-1][1]}")
            conn.execute("COMMIT")
        except Exception as exc:
            if conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            lost: Outcome = (None, exc)
            return [own if own[1] is not None else lost for own in outcomes] + [lost] * (
                len(writes) - len(outcomes)
            )
        return outcomes


def _alone(conn: sqlite3.Connection, write: Write) -> Outcome:
    """A group of one: its transaction is its savepoint, so it needs none (two
    statements fewer for a lone writer's every append)."""
    try:
        conn.execute("BEGIN IMMEDIATE")
        result = write(conn)
        conn.execute("COMMIT")
    except Exception as exc:
        if conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
        return None, exc
    return result, None


def _in_savepoint(conn: sqlite3.Connection, write: Write) -> Outcome:
    conn.execute("SAVEPOINT write")
    try:
        result = write(conn)
    except Exception as exc:
        if conn.in_transaction:
            conn.execute("ROLLBACK TO write")
            conn.execute("RELEASE write")
        return None, exc
    conn.execute("RELEASE write")
    return result, None
