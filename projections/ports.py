"""What projections need from storage: read-model tables whose rows and checkpoint
commit in one transaction, and a small query interface over them.

The SQL lives in the adapter (`adapters.store.read_models`); projections say what to
write and what to find in table and column names with plain values, so the adapter
needs nothing from this package.

Generations: every projection has at most one `active` generation (what queries
read) and may have `building` ones (a rebuild filling new rows beside it); a
generation that lost its place is `retired` until its rows are dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

ACTIVE, BUILDING, RETIRED = "active", "building", "retired"

# (column, operator, value); operators: = != in < <= > >= starts ("in" takes a
# sequence; "starts" a text the column's value begins with)
Condition = tuple[str, str, Any]
# (table, its columns in row order, rows)
TableRows = tuple[str, Sequence[str], Sequence[tuple[Any, ...]]]
Record = dict[str, Any]


class ReadModelView(Protocol):
    """Reads of the read models."""

    async def generations(self) -> list[Record]:
        """Every generation: projection, generation, version, role, position, error."""
        ...

    async def find(
        self,
        table: str,
        generation: int,
        where: Sequence[Condition] = (),
        order_by: Sequence[str] = (),
        descending: bool = False,
        limit: int | None = None,
    ) -> list[Record]:
        """Rows of one generation. A table that indexes the log (`history_events`) also
        gives each row's payload as stored in the log: `schema_version` and `data`."""
        ...


class ReadModelStore(ReadModelView, Protocol):
    def reading(self) -> AbstractAsyncContextManager[ReadModelView]:
        """Reads that all see one snapshot, however many statements a query takes (a
        rebuild may take over and drop the generation it started on meanwhile)."""
        ...

    async def create_generation(
        self, projection: str, version: int, role: str, tables: Sequence[str]
    ) -> int | None:
        """A new generation numbered above every other of `projection`, at position 0;
        None when one already holds `role` (for `building`: of this `version`), or
        another process created that number at the same moment."""
        ...

    async def commit(
        self, projection: str, generation: int, after: int, up_to: int, rows: Sequence[TableRows]
    ) -> bool:
        """Write `rows` and move the checkpoint from `after` to `up_to`, in one transaction.
        False, with nothing written, when the checkpoint is not at `after` any more or the
        generation was retired (another runner got there first)."""
        ...

    async def record_error(self, projection: str, generation: int, error: str) -> None: ...

    async def promote(self, projection: str, generation: int) -> list[int]:
        """Make a building generation the active one, in one transaction; returns the
        generations it retired (their rows stay until `drop`)."""
        ...

    async def drop(self, projection: str, generation: int, tables: Sequence[str]) -> None:
        """Delete a generation's rows from `tables`, then the generation itself."""
        ...

    async def dump(self, table: str, generation: int) -> list[tuple[Any, ...]]:
        """Every row of one generation, without the generation column, in key order."""
        ...

    async def close(self) -> None: ...
