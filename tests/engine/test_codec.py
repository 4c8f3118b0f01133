"""Event encoding: round trips, and old payload versions upcast on read."""

from __future__ import annotations

import pytest

from engine.codec import decode_event, encode_event
from engine.errors import CorruptEvent, UnknownEventType
from engine.events import NodeAdded, PropertySet

V1_NODE_ADDED = b'{"type":"NodeAdded","node":"n1","kind":"shot","parent":"root","index":2}'


def test_round_trip_keeps_value_types() -> None:
    for value in (1, 1.0, "1", True, None):
        kind, version, data = encode_event(PropertySet(node="n", prop="p", value=value))
        back = decode_event(kind, version, data)
        assert isinstance(back, PropertySet)
        assert back.value == value and type(back.value) is type(value)


def test_v1_node_added_is_upcast_to_a_fractional_order() -> None:
    first = decode_event("NodeAdded", 1, V1_NODE_ADDED.replace(b'"index":2', b'"index":0'))
    third = decode_event("NodeAdded", 1, V1_NODE_ADDED)
    assert isinstance(third, NodeAdded) and isinstance(first, NodeAdded)
    assert third.node == "n1" and third.props == {}
    assert first.order < third.order


def test_unknown_type_and_future_version_name_the_position() -> None:
    with pytest.raises(UnknownEventType, match="position 42"):
        decode_event("Bogus", 1, b"{}", 42)
    with pytest.raises(UnknownEventType, match="version 9"):
        decode_event("NodeAdded", 9, V1_NODE_ADDED, 7)


def test_corrupt_payload_names_the_position() -> None:
    with pytest.raises(CorruptEvent, match="position 5"):
        decode_event("PropertySet", 1, b'{"type":"PropertySet","node":1}', 5)
