"""How media work fails on bad input: a damaged or non-media file, a missing stream or a
bad parameter becomes a TaskFailure(INVALID_INPUT) whose message names what was wrong.

Errors of our own encoding are left alone, so the worker reports them as internal.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import av
from av.container import InputContainer

from adapters.task_params import bad_param
from engine.errors import TaskFailure
from engine.tasks import ErrorKind


def not_media(name: str, error: BaseException) -> TaskFailure:
    # strerror leaves out the temporary path PyAV appends, which means nothing to a user
    reason = getattr(error, "strerror", None) or str(error)
    return TaskFailure(
        ErrorKind.INVALID_INPUT, f"input {name!r} is not a media file PyAV can read: {reason}"
    )


def bad_input(name: str, reason: str) -> TaskFailure:
    return TaskFailure(ErrorKind.INVALID_INPUT, f"input {name!r} {reason}")


def open_input(path: Path, name: str) -> InputContainer:
    """Open the file of input `name` for reading, or fail naming it."""
    try:
        return av.open(str(path), "r")
    except (av.FFmpegError, UnicodeDecodeError) as error:
        raise not_media(name, error) from None


@contextmanager
def reading(name: str) -> Iterator[None]:
    """Turn a decode error inside the block into a failure that names input `name`."""
    try:
        yield
    except av.FFmpegError as error:
        raise not_media(name, error) from None


__all__ = ["bad_input", "bad_param", "not_media", "open_input", "reading"]
