"""Times in read models: whole microseconds since the epoch (UTC), exact in both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from engine.errors import InvalidIntent

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


def to_micros(moment: datetime) -> int:
    """A naive datetime is taken to be UTC already (the engine's clock is UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - EPOCH) // MICROSECOND


def from_micros(micros: int) -> datetime:
    return EPOCH + timedelta(microseconds=micros)


def parse_moment(text: str, field: str) -> datetime:
    """An ISO 8601 time (`2026-11-24T10:30`, `...Z`, `...+02:00`); naive means UTC."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("z", "Z"))
    except ValueError:
        raise InvalidIntent(
            field, f"{text!r} is not an ISO 8601 time such as 2026-11-24T10:30:00Z"
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
