"""Read models on PostgreSQL: commits through asyncpg, rows landed with COPY.

A small asyncpg pool (outside SQLAlchemy's) does the commits, so those of different
projections run at once: each a transaction of the checkpoint's compare-and-set,
then one binary COPY per table. COPY lands a rebuild's rows several times faster
than multi-row INSERTs, and costs no more than one for a live batch of a few rows.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import asyncpg
from sqlalchemy.engine import URL

from adapters.store._failures import DATABASE_FAILURES
from adapters.store._read_model_base import LIVE_ROLES, SqlReadModels, TableRows, check_columns
from adapters.store.postgres import create_postgres_engine, session_settings
from engine.errors import RowsRefused

# Commits at once: one per projection a runner follows is plenty.
COMMITTERS = 4
QUERIERS = 4

# The checkpoint's compare-and-set, which (only when it moves the checkpoint) also
# sets, for this transaction alone:
# - the generation its rows belong to: the read-model tables' `generation` column
#   defaults to it (migration 0003), so COPY sends rows as the projection made them
#   instead of a copy of each with the generation in front;
# - no wait for the WAL flush at commit: a crash can lose only whole commits, rows and
#   checkpoint together, and the runner then folds those events again from the
#   checkpoint that survived. Exactly once still holds; no append waits on it.
_MOVE_CHECKPOINT = """
UPDATE read_model_generations SET position = $1, error = NULL
WHERE projection = $2 AND generation = $3 AND position = $4 AND role = ANY($5::text[])
RETURNING set_config('scenestate.generation', generation::text, true),
          set_config('synchronous_commit', 'off', true)
"""


class PostgresReadModels(SqlReadModels):
    def __init__(
        self,
        url: URL,
        schema: str | None,
        *,
        pool_size: int = QUERIERS,
        committers: int = COMMITTERS,
    ) -> None:
        super().__init__(create_postgres_engine(url, schema, autocommit=False, pool_size=pool_size))
        self._committers = committers
        self._connect_args: dict[str, Any] = url.translate_connect_args(username="user")
        self._settings = session_settings(schema)
        self._pool: asyncpg.Pool | None = None
        self._lock = asyncio.Lock()

    async def commit(
        self, projection: str, generation: int, after: int, up_to: int, rows: Sequence[TableRows]
    ) -> bool:
        for table, columns, _ in rows:
            check_columns(table, columns)
        pool = await self._connections()
        async with pool.acquire() as conn:
            try:
                async with conn.transaction():
                    moved = await conn.fetchrow(
                        _MOVE_CHECKPOINT, up_to, projection, generation, after, list(LIVE_ROLES)
                    )
                    if moved is None:
                        return False
                    for table, columns, found in rows:
                        await conn.copy_records_to_table(
                            table, records=found, columns=list(columns)
                        )
            except DATABASE_FAILURES:
                raise  # the database's own trouble: Unavailable, at the boundary
            except asyncpg.PostgresError as exc:
                raise RowsRefused(
                    f"commit of projection {projection!r} up to position {up_to} refused: {exc}"
                ) from exc
        return True

    async def _connections(self) -> asyncpg.Pool:
        async with self._lock:
            if self._pool is None:
                # A refusal (too many clients, server down) leaves as the driver's error,
                # which the class's boundary makes `Unavailable`: the runner waits it out.
                self._pool = await asyncpg.create_pool(
                    **self._connect_args,
                    server_settings=self._settings,
                    min_size=1,
                    max_size=self._committers,
                    timeout=10,
                )
            return self._pool

    async def close(self) -> None:
        async with self._lock:
            if self._pool is not None:
                await self._pool.close()
                self._pool = None
        await super().close()
