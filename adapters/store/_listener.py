"""LISTEN on PostgreSQL for the sequencer's NOTIFY, to wake a store's subscribers.

One dedicated asyncpg connection per store (outside the pool, since it stays open),
opened when the first subscriber asks and reopened after it drops. A notification
only shortens a subscriber's wait: subscribers poll as well, so a store whose
listener is down is slower to wake, never wrong.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

import asyncpg
from sqlalchemy.engine import URL

log = logging.getLogger(__name__)

CHANNEL = "scenestate_events"
RETRY_AFTER = 5.0


class Listener:
    def __init__(
        self, url: URL, on_notify: Callable[[int | None], None], settings: dict[str, str]
    ) -> None:
        self._connect_args: dict[str, Any] = url.translate_connect_args(username="user")
        self._settings = settings
        self._on_notify = on_notify
        self._conn: asyncpg.Connection | None = None
        self._lock = asyncio.Lock()
        self._retry_at = 0.0

    async def ensure(self) -> None:
        """Be listening, unless the last attempt failed less than RETRY_AFTER ago."""
        if self._conn is not None and not self._conn.is_closed():
            return
        async with self._lock:
            if self._conn is not None and not self._conn.is_closed():
                return
            if time.monotonic() < self._retry_at:
                return
            try:
                conn = await asyncpg.connect(
                    **self._connect_args, server_settings=self._settings, timeout=5
                )
                await conn.add_listener(CHANNEL, self._notified)
            except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
                log.warning("cannot LISTEN %s, subscribers will poll: %s", CHANNEL, exc)
                self._retry_at = time.monotonic() + RETRY_AFTER
                return
            self._conn = conn
        # Anything committed while we were not listening is found by this wake-up.
        self._on_notify(None)

    async def close(self) -> None:
        async with self._lock:
            conn, self._conn = self._conn, None
            if conn is None:
                return
            try:
                await conn.close(timeout=2)
            except (OSError, TimeoutError, asyncpg.PostgresError):
                conn.terminate()

    def _notified(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        # The payload is the last position the pass numbered.
        self._on_notify(int(payload) if payload.isdigit() else None)
