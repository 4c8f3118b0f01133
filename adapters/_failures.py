"""Drivers' errors become the core's `Unavailable` at an adapter's boundary.

`translates_failures(backend, failures)` wraps every public coroutine and async
generator method of a class, so that a driver error in `failures` that leaves the
adapter is an `engine.errors.Unavailable` naming the backend (the driver's error is
its `__cause__`). Errors the adapter raises on purpose (`ScenestateError`) pass
unchanged, and errors caught inside the adapter never reach the wrapper.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import AsyncGenerator, Callable, Coroutine
from typing import Any, TypeVar

from engine.errors import ScenestateError, Unavailable

T = TypeVar("T")
Failures = tuple[type[BaseException], ...]
ErrorFactory = Callable[[str, str], Unavailable]
_WRAPPED = "__translates_failures__"


def translates_failures(
    backend: str, failures: Failures, error: ErrorFactory = Unavailable
) -> Callable[[type[T]], type[T]]:
    """A class decorator; `backend` names what failed in the message ("database"),
    `error(backend, reason)` makes the error raised (an `Unavailable`)."""

    def decorate(cls: type[T]) -> type[T]:
        for name in dir(cls):
            if name.startswith("_"):
                continue
            member = inspect.getattr_static(cls, name)
            if getattr(member, _WRAPPED, False):
                continue
            if inspect.iscoroutinefunction(member):
                setattr(cls, name, _coroutine(member, _Translation(backend, failures, error)))
            elif inspect.isasyncgenfunction(member):
                setattr(cls, name, _generator(member, _Translation(backend, failures, error)))
        return cls

    return decorate


class _Translation:
    def __init__(self, backend: str, failures: Failures, error: ErrorFactory) -> None:
        self.backend, self.failures, self.error = backend, failures, error

    def __call__(self, failure: BaseException) -> Unavailable:
        text = str(failure).strip()
        reason = text.splitlines()[0] if text else ""
        return self.error(self.backend, f"{type(failure).__name__}: {reason}".rstrip(": ")[:300])


def unavailable(backend: str, failure: BaseException) -> Unavailable:
    """The `Unavailable` that stands for a driver's `failure`."""
    return _Translation(backend, (), Unavailable)(failure)


def _coroutine(
    method: Callable[..., Coroutine[Any, Any, Any]], translation: _Translation
) -> Callable[..., Coroutine[Any, Any, Any]]:
    failures = translation.failures

    @functools.wraps(method)
    async def translated(*args: Any, **kwargs: Any) -> Any:
        try:
            return await method(*args, **kwargs)
        except ScenestateError:
            raise
        except failures as exc:
            raise translation(exc) from exc

    setattr(translated, _WRAPPED, True)
    return translated


def _generator(
    method: Callable[..., AsyncGenerator[Any, None]], translation: _Translation
) -> Callable[..., AsyncGenerator[Any, None]]:
    failures = translation.failures

    @functools.wraps(method)
    async def translated(*args: Any, **kwargs: Any) -> AsyncGenerator[Any, None]:
        inner = method(*args, **kwargs)
        try:
            async for item in inner:
                yield item
        except ScenestateError:
            raise
        except failures as exc:
            raise translation(exc) from exc
        finally:
            await inner.aclose()

    setattr(translated, _WRAPPED, True)
    return translated
