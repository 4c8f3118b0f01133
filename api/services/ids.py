"""Ids as people paste them: whole, or (as git takes commits) any unique start of one,
at least `SHORTEST` characters long. A start that fits several names them all."""

from __future__ import annotations

from collections.abc import Iterable

from engine.errors import InvalidIntent, NotFound

SHORTEST = 4
SHOWN = 5  # candidates named when a start is ambiguous


def by_prefix(given: str, known: Iterable[str], what: str, field: str) -> str:
    """The one id of `known` that is `given` or starts with it; NotFound when none
    does, InvalidIntent naming the candidates when several do."""
    candidates = set(known)
    if given in candidates:
        return given
    if len(given) < SHORTEST:
        raise NotFound(
            f"no {what} {given!r} (a start of an id needs at least {SHORTEST} characters)"
        )
    found = sorted(c for c in candidates if c.startswith(given))
    if not found:
        raise NotFound(f"no {what} {given!r}")
    if len(found) > 1:
        listed = ", ".join(found[:SHOWN]) + (", ..." if len(found) > SHOWN else "")
        raise InvalidIntent(
            field, f"{given!r} starts {len(found)} {what}s ({listed}); give more of it"
        )
    return found[0]
