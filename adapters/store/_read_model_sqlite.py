"""Read models in the SQLite file: commits on the file's writer thread.

A commit is one function of a stdlib `sqlite3` connection run by a `SqliteWriter`
(see `adapters.store._sqlite_writer`): the checkpoint's compare-and-set, then one
`executemany` per table, inside the writer's transaction. Given the event store of
the same file, the read models commit through its writer, so that appends and
commits of one process go in the same groups instead of waiting for each other in
SQLite's sleeping busy handler (tens of milliseconds a time). Transactions of the rest
(generations, drops) are `BEGIN IMMEDIATE` through SQLAlchemy, so they never deadlock
upgrading a read lock against a commit.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from functools import partial

from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.store._failures import DATABASE_FAILURES
from adapters.store._read_model_base import LIVE_ROLES, SqlReadModels, TableRows, check_columns
from adapters.store._sqlite_writer import SqliteWriter
from adapters.store.sqlite import connect_writer, create_sqlite_engine
from engine.errors import RowsRefused

_MOVE_CHECKPOINT = (
    "UPDATE read_model_generations SET position = ?, error = NULL "
    "WHERE projection = ? AND generation = ? AND position = ? AND role IN (?, ?)"
)


class SqliteReadModels(SqlReadModels):
    def __init__(self, url: URL, writer: SqliteWriter | None = None) -> None:
        """`writer`: the file's writer, owned by whoever made it (the event store)."""
        database = create_sqlite_engine(url)
        super().__init__(database)
        self._owns_writer = writer is None
        self._writer = writer or SqliteWriter(partial(connect_writer, database))
        self._inserts: dict[tuple[str, tuple[str, ...]], str] = {}

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[AsyncConnection]:
        async with self._database.connect() as conn:
            await conn.execution_options(sqlite_begin="IMMEDIATE")
            async with conn.begin():
                yield conn

    async def _snapshot_isolation(self, conn: AsyncConnection) -> None:
        # In WAL mode a transaction's first read fixes what all of it sees.
        await conn.execution_options(sqlite_begin="DEFERRED")

    async def commit(
        self, projection: str, generation: int, after: int, up_to: int, rows: Sequence[TableRows]
    ) -> bool:
        batches = [(self._insert(table, tuple(columns)), found) for table, columns, found in rows]
        write = partial(_commit, projection, generation, after, up_to, batches)
        try:
            return await self._writer.run(write)
        except DATABASE_FAILURES:
            raise  # the database's own trouble: Unavailable, at the boundary
        except sqlite3.Error as exc:
            raise RowsRefused(
                f"commit of projection {projection!r} up to position {up_to} refused: {exc}"
            ) from exc

    def _insert(self, table: str, columns: tuple[str, ...]) -> str:
        key = (table, columns)
        if key not in self._inserts:
            check_columns(table, columns)
            names = ", ".join(("generation", *columns))
            marks = ", ".join("?" * (len(columns) + 1))
            self._inserts[key] = f"INSERT INTO {table} ({names}) VALUES ({marks})"
        return self._inserts[key]

    async def close(self) -> None:
        if self._owns_writer:
            await self._writer.close()
        await super().close()


def _commit(
    projection: str,
    generation: int,
    after: int,
    up_to: int,
    batches: list[tuple[str, Sequence[tuple[object, ...]]]],
    conn: sqlite3.Connection,
) -> bool:
    """On the writer thread, inside its transaction."""
    moved = conn.execute(_MOVE_CHECKPOINT, (up_to, projection, generation, after, *LIVE_ROLES))
    if moved.rowcount != 1:
        return False
    for statement, found in batches:
        conn.executemany(statement, [(generation, *row) for row in found])
    return True
