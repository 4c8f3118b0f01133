"""Reading a media task's parameters: each reader checks one parameter and fails with
INVALID_INPUT naming it when it is missing or out of range."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

from adapters.media.failures import bad_param

Params = Mapping[str, Any]
Inputs = Mapping[str, Path]  # input name -> the file holding its bytes
MIN_SIDE = 16


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
    """The number `params[name]` (or `default` when absent and a default is given).
    `within` prefixes the name in messages, for a field of a list item ("voices[0].")."""
    value = params.get(name, default)
    name = within + name
    if value is None:
        raise bad_param(name, "is required")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise bad_param(name, f"must be a number, got {value!r}")
    result = float(value)
    if above is not None and not result > above:
        raise bad_param(name, f"must be more than {above:g}, got {result:g}")
    if at_least is not None and result < at_least:
        raise bad_param(name, f"must be at least {at_least:g}, got {result:g}")
    if at_most is not None and result > at_most:
        raise bad_param(name, f"must be at most {at_most:g}, got {result:g}")
    return result


def whole(params: Params, name: str, default: int | None = None, *, at_least: int = 1) -> int:
    """The whole number `params[name]`, at least `at_least`."""
    value = number(params, name, default, at_least=at_least)
    if value != int(value):
        raise bad_param(name, f"must be a whole number, got {value:g}")
    return int(value)


def frame_rate(params: Params, name: str = "fps") -> Fraction:
    """A frame rate as an exact fraction (23.976 stays 2997/125, not a float)."""
    fps = number(params, name, above=0.0, at_most=240.0)
    return Fraction(fps).limit_denominator(1001)


def side(params: Params, name: str) -> int:
    """A picture width or height: a whole, even number of pixels, at least 16."""
    value = whole(params, name, at_least=1)
    if value < MIN_SIDE or value % 2:
        raise bad_param(name, f"must be an even number of pixels, at least {MIN_SIDE}; got {value}")
    return value


def seconds(params: Params, name: str, default: float | None = None) -> float:
    """A duration in seconds, more than zero."""
    return number(params, name, default, above=0.0)


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
