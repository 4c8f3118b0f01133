"""Reading a task's parameters for the local models: each reader returns the value in
its proper type or fails the task with INVALID_INPUT, naming the parameter and
saying what was wrong with it."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from engine.errors import TaskFailure
from engine.tasks import ErrorKind

MAX_PIXELS = 4096
_MISSING = object()


def _invalid(message: str) -> TaskFailure:
    return TaskFailure(ErrorKind.INVALID_INPUT, message)


def text(params: Mapping[str, Any], name: str, default: str | None = None) -> str:
    """Non-empty text; without a default the parameter is required."""
    value = params.get(name, _MISSING)
    if value is _MISSING or value is None:
        if default is None:
            raise _invalid(f"param {name!r} is missing")
        return default
    if not isinstance(value, str):
        raise _invalid(f"param {name!r} must be text, not {type(value).__name__} {value!r}")
    if not value.strip():
        raise _invalid(f"param {name!r} is empty")
    return value


def integer(params: Mapping[str, Any], name: str, default: int) -> int:
    value = params.get(name, default)
    if isinstance(value, float) and value.is_integer():
        return int(value)  # JSON gives no promise that 3 does not arrive as 3.0
    if isinstance(value, bool) or not isinstance(value, int):
        raise _invalid(f"param {name!r} must be a whole number, not {value!r}")
    return value


def dimension(params: Mapping[str, Any], name: str, default: int) -> int:
    """A picture's width or height: a positive even number of pixels (video's
    yuv420p needs even sizes) up to MAX_PIXELS."""
    value = params.get(name, default)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not 0 < value <= MAX_PIXELS
        or value % 2
    ):
        raise _invalid(
            f"param {name!r} must be a positive even number of pixels up to {MAX_PIXELS}, "
            f"not {value!r}"
        )
    return value


def seconds(params: Mapping[str, Any], name: str, maximum: float) -> float:
    """A required length of time: a number of seconds above 0 and at most `maximum`."""
    value = params.get(name, _MISSING)
    if value is _MISSING or value is None:
        raise _invalid(f"param {name!r} is missing")
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _invalid(f"param {name!r} must be a number of seconds, not {value!r}")
    if not 0 < value <= maximum:
        raise _invalid(f"param {name!r} must be above 0 and at most {maximum:g} s, not {value:g}")
    return float(value)
