"""Ids pasted back whole or by a unique start, as git takes commits."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from api.services.ids import by_prefix
from api.services.scenes import HistoryFilter
from engine.errors import InvalidIntent, NotFound
from projections.as_of import parse_as_of

KNOWN = ["c-0123abcd4567", "c-0123ffff0000", "c-9999aaaa1111"]


def test_a_whole_id_or_a_unique_start_finds_it() -> None:
    assert by_prefix("c-0123abcd4567", KNOWN, "conflict", "conflict") == "c-0123abcd4567"
    assert by_prefix("c-99", KNOWN, "conflict", "conflict") == "c-9999aaaa1111"
    assert by_prefix("c-0123a", KNOWN, "conflict", "conflict") == "c-0123abcd4567"


def test_a_start_that_fits_several_names_them() -> None:
    with pytest.raises(InvalidIntent, match="starts 2 conflicts") as raised:
        by_prefix("c-0123", KNOWN, "conflict", "conflict")
    assert "c-0123abcd4567" in str(raised.value) and "c-0123ffff0000" in str(raised.value)


def test_an_unknown_or_too_short_start_is_not_found() -> None:
    for given in ("c-77", "c-9"):  # nothing starts so; too short to look
        with pytest.raises(NotFound):
            by_prefix(given, KNOWN, "conflict", "conflict")


def test_as_of_says_what_it_takes() -> None:
    """A version (0 or more) or an ISO 8601 time; anything else is refused saying both."""
    for wrong, said in (("-1", "a version is 0 or more"), ("yesterday", "neither a version")):
        with pytest.raises(InvalidIntent, match=said):
            parse_as_of(wrong)


def test_a_history_window_that_ends_before_it_begins_is_refused() -> None:
    later, earlier = datetime(2026, 12, 8, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)
    with pytest.raises(InvalidIntent, match="is not after since"):
        HistoryFilter(since=later, until=earlier)
