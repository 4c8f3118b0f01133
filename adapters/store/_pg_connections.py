"""The asyncpg connections a PostgreSQL store writes on (appends, sequencing passes):
at most `size`, kept open.

Why not SQLAlchemy's pool or asyncpg's: measured per one-event append on a 2-core
machine, checking a connection out of SQLAlchemy's pool and reaching the asyncpg
connection under it cost ~100 us of CPU; asyncpg's `Pool` cost ~115 us of CPU and
~170 us of wall time per acquire and release (a proxy object, a shielded release, an
idle timer re-armed every time, and by default a `RESET ALL` round trip), which
took a single writer from 0.86x to 0.63x of a plain INSERT. The writes need none of
that: each is one autocommit statement that leaves no session state behind (no
SET, LISTEN, session advisory lock or open transaction). So this is a stack of idle
connections, most recently used on top, and a semaphore that bounds how many are out.

A connection that broke (server restart) fails the statement using it, exactly
once, and is then dropped; nothing is retried, since a broken connection cannot say
whether its statement committed. A caller cancelled mid-statement hands back a
connection that asyncpg is still cancelling; asyncpg makes the next statement on it
wait until the cancellation is done.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import asyncpg

CLOSE_TIMEOUT = 2.0


class WriteConnections:
    def __init__(self, connect: Callable[[], Awaitable[asyncpg.Connection]], size: int) -> None:
        if size < 1:
            raise ValueError("pool_size must be positive")
        self._connect = connect
        self._idle: list[asyncpg.Connection] = []
        self._free = asyncio.Semaphore(size)
        self._closed = False

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[asyncpg.Connection]:
        """An open connection, for the length of the block; opened if none is idle."""
        async with self._free:
            conn = self._idle.pop() if self._idle else await self._connect()
            try:
                yield conn
            finally:
                if self._closed:
                    await _close(conn)
                elif not conn.is_closed():
                    self._idle.append(conn)

    async def close(self) -> None:
        """Close the idle connections now, and the others as they come back."""
        self._closed = True
        idle, self._idle = self._idle, []
        for conn in idle:
            await _close(conn)


async def _close(conn: asyncpg.Connection) -> None:
    try:
        await conn.close(timeout=CLOSE_TIMEOUT)
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
        conn.terminate()
