"""Queries over the read models, on one connection: what `find` and `reading` run.

Conditions arrive as (column, operator, value) and become SQLAlchemy Core clauses;
table and column names are checked against the read-model tables, so a projection
can only name what exists.
"""

from __future__ import annotations

import operator as op
from collections.abc import Callable, Sequence
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, select
from sqlalchemy.engine import Row
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.store._failures import translates_failures
from adapters.store._read_model_tables import INDEXES_THE_LOG, READ_MODEL_TABLES, generations
from adapters.store._tables import events
from engine.errors import StoreError

Record = dict[str, Any]
Condition = tuple[str, str, Any]

_COMPARISONS: dict[str, Callable[[Any, Any], Any]] = {
    "<": op.lt,
    "<=": op.le,
    ">": op.gt,
    ">=": op.ge,
}


def table_named(name: str) -> Table:
    table = READ_MODEL_TABLES.get(name)
    if table is None:
        raise ValueError(f"no read-model table {name!r}; known: {', '.join(READ_MODEL_TABLES)}")
    return table


@translates_failures()
class ReadModelSnapshot:
    """Reads on one connection (inside a transaction, one snapshot)."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def generations(self) -> list[Record]:
        rows = (await self._conn.execute(select(generations))).all()
        return [_record(row) for row in rows]

    async def find(
        self,
        table: str,
        generation: int,
        where: Sequence[Condition] = (),
        order_by: Sequence[str] = (),
        descending: bool = False,
        limit: int | None = None,
    ) -> list[Record]:
        found = table_named(table)
        columns = [c for c in found.columns if c.name != "generation"]
        query = select(*columns).where(found.c.generation == generation)
        if table in INDEXES_THE_LOG:
            on_log = found.join(events, events.c.position == found.c.position)
            query = query.add_columns(events.c.schema_version, events.c.data).select_from(on_log)
        for condition in where:
            query = query.where(_clause(found, condition))
        for name in order_by:
            column = _column(found, name)
            query = query.order_by(column.desc() if descending else column)
        if limit is not None:
            query = query.limit(limit)
        try:
            rows = (await self._conn.execute(query)).all()
        except DBAPIError as exc:
            raise StoreError(f"reading {table} failed: {exc.orig}") from exc
        return [_record(row) for row in rows]


def _record(row: Row[Any]) -> Record:
    # Keys are plain str: SQLAlchemy's quoted_name subclass trips strict decoders.
    return {str(key): value for key, value in row._mapping.items()}


def _column(table: Table, name: str) -> ColumnElement[Any]:
    if name not in table.c or name == "generation":
        raise ValueError(f"table {table.name!r} has no column {name!r}")
    return table.c[name]


def _clause(table: Table, condition: Condition) -> ColumnElement[bool]:
    name, operator, value = condition
    column = _column(table, name)
    if operator == "=":
        return column.is_(None) if value is None else column == value
    if operator == "!=":
        return column.is_not(None) if value is None else column != value
    if operator == "in":
        return column.in_(list(value))
    if operator == "starts":  # LIKE 'value%', with % and _ in the value taken literally
        return column.startswith(str(value), autoescape=True)
    compare = _COMPARISONS.get(operator)
    if compare is not None:
        return cast(ColumnElement[bool], compare(column, value))
    raise ValueError(f"unknown operator {operator!r} in a condition on {table.name}.{name}")
