"""What both read-model adapters share: generations, drops and queries through
SQLAlchemy Core. Each adapter adds `commit`, the hot path (see `read_models`)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import Insert, delete, exists, func, literal, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters.store._failures import translates_failures
from adapters.store._read_model_queries import ReadModelSnapshot, table_named
from adapters.store._read_model_tables import generations
from engine.errors import StoreError

Record = dict[str, Any]
Condition = tuple[str, str, Any]
TableRows = tuple[str, Sequence[str], Sequence[tuple[Any, ...]]]

RETIRED = "retired"
LIVE_ROLES = ("active", "building")


def check_columns(table: str, columns: Sequence[str]) -> None:
    known = table_named(table).c
    unknown = [c for c in columns if c not in known or c == "generation"]
    if unknown:
        raise ValueError(f"table {table!r} has no writable column {', '.join(unknown)}")


class SqlReadModels(ABC):
    """Raises `engine.errors.Unavailable` for a failing database, in every subclass."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        translates_failures()(cls)

    def __init__(self, database: AsyncEngine) -> None:
        self._database = database

    @abstractmethod
    async def commit(
        self, projection: str, generation: int, after: int, up_to: int, rows: Sequence[TableRows]
    ) -> bool: ...

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[AsyncConnection]:
        async with self._database.begin() as conn:
            yield conn

    async def generations(self) -> list[Record]:
        async with self._database.connect() as conn:
            return await ReadModelSnapshot(conn).generations()

    async def create_generation(
        self, projection: str, version: int, role: str, tables: Sequence[str]
    ) -> int | None:
        for table in tables:
            table_named(table)
        statement = _create_unless_held(projection, version, role)
        try:
            async with self._transaction() as conn:
                number = (await conn.execute(statement)).scalar()
        except IntegrityError:
            return None  # another process took that number at the same moment
        return None if number is None else int(number)

    async def record_error(self, projection: str, generation: int, error: str) -> None:
        async with self._transaction() as conn:
            await conn.execute(
                update(generations)
                .where(generations.c.projection == projection)
                .where(generations.c.generation == generation)
                .values(error=error)
            )

    async def promote(self, projection: str, generation: int) -> list[int]:
        mine = (generations.c.projection == projection) & (generations.c.generation == generation)
        active = (generations.c.projection == projection) & (generations.c.role == "active")
        async with self._transaction() as conn:
            role = (await conn.execute(select(generations.c.role).where(mine))).scalar()
            if role != "building":
                raise StoreError(
                    f"generation {generation} of projection {projection!r} is "
                    f"{role or 'gone'}, not building; it cannot take over"
                )
            query = select(generations.c.generation).where(active)
            retired = [int(g) for g in (await conn.execute(query)).scalars()]
            await conn.execute(update(generations).where(active).values(role=RETIRED))
            await conn.execute(update(generations).where(mine).values(role="active"))
        return retired

    async def drop(self, projection: str, generation: int, tables: Sequence[str]) -> None:
        async with self._transaction() as conn:
            for name in tables:
                table = table_named(name)
                await conn.execute(delete(table).where(table.c.generation == generation))
            await conn.execute(
                delete(generations)
                .where(generations.c.projection == projection)
                .where(generations.c.generation == generation)
            )

    async def find(
        self,
        table: str,
        generation: int,
        where: Sequence[Condition] = (),
        order_by: Sequence[str] = (),
        descending: bool = False,
        limit: int | None = None,
    ) -> list[Record]:
        async with self._database.connect() as conn:
            snapshot = ReadModelSnapshot(conn)
            return await snapshot.find(table, generation, where, order_by, descending, limit)

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[ReadModelSnapshot]:
        """Reads that all see one snapshot of the read models, however many statements
        they take (a rebuild may take over and drop a generation meanwhile)."""
        async with self._database.connect() as conn:
            await self._snapshot_isolation(conn)
            async with conn.begin():
                yield ReadModelSnapshot(conn)

    async def _snapshot_isolation(self, conn: AsyncConnection) -> None:
        await conn.execution_options(isolation_level="REPEATABLE READ")

    async def dump(self, table: str, generation: int) -> list[tuple[Any, ...]]:
        found = table_named(table)
        columns = [c for c in found.columns if c.name != "generation"]
        keys = [c for c in found.primary_key.columns if c.name != "generation"]
        query = select(*columns).where(found.c.generation == generation).order_by(*keys)
        async with self._database.connect() as conn:
            return [tuple(row) for row in (await conn.execute(query)).all()]

    async def close(self) -> None:
        await self._database.dispose()


def _create_unless_held(projection: str, version: int, role: str) -> Insert:
    """One statement: a generation numbered above all others of the projection, unless
    one already holds the role (for `building`: of this version). Two processes that
    race both compute the same number, and the primary key refuses the second."""
    mine = generations.c.projection == projection
    held = mine & (generations.c.role == role)
    if role != "active":
        held &= generations.c.version == version
    number = select(func.coalesce(func.max(generations.c.generation), 0) + 1).where(mine)
    values = select(
        literal(projection),
        number.scalar_subquery(),
        literal(version),
        literal(role),
        literal(0),
    ).where(~exists().where(held))
    columns = ["projection", "generation", "version", "role", "position"]
    return generations.insert().from_select(columns, values).returning(generations.c.generation)
