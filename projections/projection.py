"""What a read-model projection is: a fold of events into rows of its own tables.

A projection only ever appends rows, each derived from one event and nothing else,
so folding a batch needs no reads and a rebuild from position 0 gives the very rows
the live projection wrote.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from engine.events import RecordedEvent
from projections.errors import ProjectionFailed
from projections.ports import TableRows

Rows = dict[str, list[tuple[Any, ...]]]


class Projection(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def version(self) -> int:
        """Bumped whenever the rows it makes change; a new version rebuilds itself."""
        ...

    @property
    def tables(self) -> Mapping[str, tuple[str, ...]]:
        """Its tables, each with the columns of its rows, in row order."""
        ...

    def rows(self, event: RecordedEvent, out: Rows) -> None:
        """Append the rows `event` makes to `out[table]`."""
        ...


def empty_rows(projection: Projection) -> Rows:
    return {table: [] for table in projection.tables}


def fold_rows(projection: Projection, events: Iterable[RecordedEvent]) -> Rows:
    """Every row the events make, from scratch; raises ProjectionFailed naming the event."""
    out = empty_rows(projection)
    for event in events:
        try:
            projection.rows(event, out)
        except Exception as exc:
            raise _failure(projection, event, exc) from exc
    return out


def fold_batch(
    projection: Projection, events: Sequence[RecordedEvent]
) -> tuple[Rows, int, ProjectionFailed | None]:
    """The rows of a batch and the position they reach; on a failure, the rows of the
    events before it (none of the failing event's), its position - 1 and the error."""
    out = empty_rows(projection)
    for index, event in enumerate(events):
        try:
            projection.rows(event, out)
        except Exception as exc:
            # Refold the good prefix: the failing event may have added some rows already.
            good = fold_rows(projection, events[:index])
            return good, _position(event) - 1, _failure(projection, event, exc)
    return out, _position(events[-1]), None


def as_table_rows(projection: Projection, rows: Rows) -> list[TableRows]:
    return [(table, projection.tables[table], found) for table, found in rows.items() if found]


def _failure(projection: Projection, event: RecordedEvent, exc: Exception) -> ProjectionFailed:
    return ProjectionFailed(projection.name, _position(event), type(event.payload).__name__, exc)


def _position(event: RecordedEvent) -> int:
    if event.position is None:
        raise ValueError(f"event {event.event_id} has no global position yet")
    return event.position
