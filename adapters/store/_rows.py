"""Events to table rows and back: the only per-event work the store does.

Reading is the hot path (loading a scene folds every event after its snapshot), so
rows come back as plain tuples in the order of `EVENT_COLUMNS` and go straight to
msgspec; consecutive events of one append share their decoded metadata.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, NamedTuple

from adapters.store._tables import appends, as_utc, events
from engine.codec import decode_event, decode_metadata, encode_event, encode_metadata
from engine.errors import PayloadTooLarge
from engine.events import EventMetadata, NewEvent, RecordedEvent
from engine.ports import AppendResult

DEFAULT_MAX_EVENT_BYTES = 1024 * 1024

# Columns in RecordedEvent's field order, then what decoding needs.
EVENT_COLUMNS = (
    events.c.event_id,
    events.c.scene,
    events.c.branch,
    events.c.version,
    events.c.position,
    events.c.recorded_at,
    events.c.metadata,
    events.c.type,
    events.c.schema_version,
    events.c.data,
)

APPEND_COLUMNS = (
    appends.c.scene,
    appends.c.branch,
    appends.c.first_version,
    appends.c.last_version,
    appends.c.first_position,
    appends.c.last_position,
)


class EncodedEvent(NamedTuple):
    event_id: str
    type: str
    schema_version: int
    data: str
    metadata: str
    studio: str
    recorded_at: datetime


def encode_events(events: Sequence[NewEvent], max_event_bytes: int) -> list[EncodedEvent]:
    """Encode a whole append before touching the database, so a refusal writes nothing."""
    if not events:
        raise ValueError("an append needs at least one event")
    encoded: list[EncodedEvent] = []
    last_metadata: EventMetadata | None = None
    metadata_json = ""
    for index, event in enumerate(events):
        event_type, version, data = encode_event(event.payload)
        if len(data) > max_event_bytes:
            raise PayloadTooLarge(index, event_type, len(data), max_event_bytes)
        if event.metadata is not last_metadata:
            last_metadata = event.metadata
            metadata_json = encode_metadata(event.metadata).decode()
        encoded.append(
            EncodedEvent(
                event.event_id,
                event_type,
                version,
                data.decode(),
                metadata_json,
                event.metadata.studio,
                as_utc(event.recorded_at),
            )
        )
    return encoded


def decode_rows(rows: Iterable[Sequence[Any]]) -> list[RecordedEvent]:
    """Rows selected with EVENT_COLUMNS, as events; decoding errors name the position."""
    with _collector_paused():
        return _decode(rows)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Hold off Python's cyclic GC while one batch decodes.

    Decoding allocates several tracked objects per event (struct, payload, dicts), so
    the collector would otherwise run every few hundred events and rescan every
    event already decoded; that doubled read times. The batch is synchronous (no
    other coroutine runs meanwhile) and holds no cycles, so nothing is lost by
    collecting after it instead.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _decode(rows: Iterable[Sequence[Any]]) -> list[RecordedEvent]:
    decoded: list[RecordedEvent] = []
    append = decoded.append
    metadata_json: str | bytes | None = None
    metadata: EventMetadata | None = None
    for event_id, scene, branch, version, position, recorded_at, meta, kind, schema, data in rows:
        if metadata is None or meta != metadata_json:
            metadata = decode_metadata(meta, position)
            metadata_json = meta
        payload = decode_event(kind, schema, data, position)
        event = RecordedEvent(
            event_id, scene, branch, version, position, recorded_at, metadata, payload
        )
        append(event)
    return decoded


def append_result(row: Sequence[Any], duplicate: bool) -> AppendResult:
    """An AppendResult from a row selected with APPEND_COLUMNS."""
    scene, branch, first_version, last_version, first_position, last_position = row
    return AppendResult(
        scene=scene,
        branch=branch,
        first_version=first_version,
        last_version=last_version,
        first_position=first_position,
        last_position=last_position,
        duplicate=duplicate,
    )
