"""Reading a task's parameters, for every operation a worker runs (local models and
media operations alike): each reader returns the value in its proper type or fails the
task with INVALID_INPUT, naming the parameter and saying what was wrong with it
(`param 'width' must be ...`)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Any

from engine.errors import TaskFailure
from engine.tasks import ErrorKind

Params = Mapping[str, Any]
MIN_SIDE = 16
_MISSING = object()


def bad_param(name: str, reason: str) -> TaskFailure:
    return TaskFailure(ErrorKind.INVALID_INPUT, f"param {name!r} {reason}")


def text(params: Params, name: str, default: str | None = None) -> str:
    """Non-empty text; without a default the parameter is required."""
    value = params.get(name, _MISSING)
    if value is _MISSING or value is None:
        if default is None:
            raise bad_param(name, "is required")
        return default
    if not isinstance(value, str):
        raise bad_param(name, f"must be text, got {type(value).__name__} {value!r}")
    if not value.strip():
        raise bad_param(name, "is empty")
    return value


def number(
    params: Params,
    name: str,
    default: float | None = None,
    *,
    above: float | None = None,
    at_least: float | None = None,
    at_most: float | None = None,
    within: str = "",
) -> float:
    """The number `params[name]`, finite (or `default` when absent and a default is
    given). `within` prefixes the name in messages, for a field of a list item
    ("voices[0].")."""
    given = name in params
    value = params.get(name, default)
    name = within + name
    if value is None:
        raise bad_param(name, "is required")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise bad_param(name, f"must be a number, got {value!r}")
    if given and not math.isfinite(value):
        raise bad_param(name, f"must be a finite number, got {value!r}")
    result = float(value)
    if above is not None and not result > above:
        raise bad_param(name, f"must be more than {above:g}, got {result:g}")
    if at_least is not None and result < at_least:
        raise bad_param(name, f"must be at least {at_least:g}, got {result:g}")
    if at_most is not None and result > at_most:
        raise bad_param(name, f"must be at most {at_most:g}, got {result:g}")
    return result


def whole(params: Params, name: str, default: int | None = None, *, at_least: int = 1) -> int:
    """The whole number `params[name]` (3.0 counts: JSON promises no difference), at
    least `at_least`."""
    value = number(params, name, default, at_least=at_least)
    if value != int(value):
        raise bad_param(name, f"must be a whole number, got {value:g}")
    return int(value)


def seed(params: Params, name: str, default: int = 0) -> int:
    """A seed or take number: any whole number, 0 and below included."""
    return whole(params, name, default, at_least=-(2**63))


def seconds(
    params: Params, name: str, default: float | None = None, *, at_most: float | None = None
) -> float:
    """A length of time in seconds, more than zero (and at most `at_most`)."""
    return number(params, name, default, above=0.0, at_most=at_most)


def side(
    params: Params, name: str, default: int | None = None, *, at_most: int | None = None
) -> int:
    """A picture width or height: a whole, even number of pixels (yuv420p video needs
    even sizes), at least MIN_SIDE (and at most `at_most`)."""
    value = whole(params, name, default, at_least=1)
    if value < MIN_SIDE or value % 2 or (at_most is not None and value > at_most):
        limit = f" and at most {at_most}" if at_most is not None else ""
        raise bad_param(
            name, f"must be an even number of pixels, at least {MIN_SIDE}{limit}; got {value}"
        )
    return value


def frame_rate(params: Params, name: str = "fps") -> Fraction:
    """A frame rate as an exact fraction (23.976 stays 2997/125, not a float)."""
    fps = number(params, name, above=0.0, at_most=240.0)
    return Fraction(fps).limit_denominator(1001)


def choice(params: Params, name: str, options: Sequence[str], default: str) -> str:
    value = params.get(name, default)
    if value not in options:
        raise bad_param(name, f"must be one of {', '.join(options)}; got {value!r}")
    return str(value)


def records(params: Params, name: str) -> list[Mapping[str, Any]]:
    """A list of objects, such as captions or voices; absent means empty."""
    value = params.get(name, [])
    if not isinstance(value, list) or not all(isinstance(item, Mapping) for item in value):
        raise bad_param(name, "must be a list of objects")
    return list(value)
