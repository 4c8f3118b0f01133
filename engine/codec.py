"""Bytes to events and back, with upcasting of old payload versions on read.

Stored events are never rewritten: an event written as `NodeAdded` v1 stays v1 in
the log, and `decode_event` lifts it to the current version each time it is read,
one `Upcaster` per version step.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import msgspec
from fractional_indexing import generate_n_keys_between

from engine.errors import CorruptEvent, UnknownEventType
from engine.events import EVENT_TYPES, AnyEvent, EventMetadata, schema_version

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]

_encoder = msgspec.json.Encoder()
_event_decoder: msgspec.json.Decoder[AnyEvent] = msgspec.json.Decoder(AnyEvent)
_metadata_decoder = msgspec.json.Decoder(EventMetadata)


def _node_added_v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    index = int(data.pop("index"))
    data["order"] = generate_n_keys_between(None, None, index + 1)[-1]
    return data


# (event type, version it reads) -> function giving the next version's dict
UPCASTERS: dict[tuple[str, int], Upcaster] = {
    ("NodeAdded", 1): _node_added_v1_to_v2,
}


def encode_event(event: AnyEvent) -> tuple[str, int, bytes]:
    """Return (type, schema version, JSON bytes) for storing `event`."""
    event_type = type(event).__name__
    return event_type, schema_version(event_type), _encoder.encode(event)


def encode_metadata(metadata: EventMetadata) -> bytes:
    return _encoder.encode(metadata)


def decode_metadata(data: bytes | str, position: int | None = None) -> EventMetadata:
    try:
        return _metadata_decoder.decode(data)
    except msgspec.DecodeError as exc:
        raise CorruptEvent(position, "metadata", str(exc)) from exc


def decode_event(
    event_type: str, version: int, data: bytes | str, position: int | None = None
) -> AnyEvent:
    """Decode one stored payload, upcasting it when it was written by an older schema."""
    current = schema_version(event_type)
    if event_type not in EVENT_TYPES or version > current or version < 1:
        raise UnknownEventType(position, event_type, version)
    try:
        if version == current:
            return _event_decoder.decode(data)
        return _upcast(event_type, version, current, data)
    except (msgspec.DecodeError, msgspec.ValidationError, KeyError, ValueError) as exc:
        raise CorruptEvent(position, event_type, str(exc)) from exc


def _upcast(event_type: str, version: int, current: int, data: bytes | str) -> AnyEvent:
    raw = msgspec.json.decode(data)
    if not isinstance(raw, dict):
        raise ValueError("payload is not a JSON object")
    for step in range(version, current):
        upcaster = UPCASTERS.get((event_type, step))
        if upcaster is None:
            raise UnknownEventType(None, event_type, step)
        raw = upcaster(raw)
    raw["type"] = event_type
    return cast(AnyEvent, msgspec.convert(raw, AnyEvent))
