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
from collections.abc import AsyncGenerator, Callable, Coroutine, Iterator
from typing import Any, TypeVar

from engine.errors import Misconfigured, ScenestateError, Unavailable

T = TypeVar("T")
Failures = tuple[type[BaseException], ...]
ErrorFactory = Callable[[str, str], Unavailable]
_WRAPPED = "__translates_failures__"


def translates_failures(
    backend: str,
    failures: Failures,
    error: ErrorFactory = Unavailable,
    refusals: Failures = (),
) -> Callable[[type[T]], type[T]]:
    """A class decorator; `backend` names what failed in the message ("database"),
    `error(backend, reason)` makes the error raised (an `Unavailable`); a driver error
    in `refusals` (no such database, wrong credentials) becomes `Misconfigured`."""

    def decorate(cls: type[T]) -> type[T]:
        for name in dir(cls):
            if name.startswith("_"):
                continue
            member = inspect.getattr_static(cls, name)
            if getattr(member, _WRAPPED, False):
                continue
            translation = _Translation(backend, failures, error, refusals)
            if inspect.iscoroutinefunction(member):
                setattr(cls, name, _coroutine(member, translation))
            elif inspect.isasyncgenfunction(member):
                setattr(cls, name, _generator(member, translation))
        return cls

    return decorate


class _Translation:
    def __init__(
        self, backend: str, failures: Failures, error: ErrorFactory, refusals: Failures = ()
    ) -> None:
        self.backend, self.error, self.refusals = backend, error, refusals
        self.failures = failures + refusals

    def __call__(self, failure: BaseException) -> Unavailable | Misconfigured:
        found = self.translated(failure)
        return found if found is not None else self.error(self.backend, _said(failure))

    def translated(self, failure: BaseException) -> Unavailable | Misconfigured | None:
        """The core's error for `failure` or anything it wraps (SQLAlchemy keeps the
        driver's error as `orig`, or as its cause); None when it is none of ours."""
        chain = list(_wrapped(failure))
        for found in chain:
            if isinstance(found, self.refusals):
                return Misconfigured(self.backend, _said(found))
        for found in chain:
            if isinstance(found, self.failures):
                return self.error(self.backend, _said(found))
        return None


def _wrapped(failure: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = failure
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        inner = getattr(current, "orig", None)
        current = inner if isinstance(inner, BaseException) else current.__cause__


def _said(failure: BaseException) -> str:
    text = str(failure).strip()
    reason = text.splitlines()[0] if text else ""
    return f"{type(failure).__name__}: {reason}".rstrip(": ")[:300]


def _coroutine(
    method: Callable[..., Coroutine[Any, Any, Any]], translation: _Translation
) -> Callable[..., Coroutine[Any, Any, Any]]:
    @functools.wraps(method)
    async def translated(*args: Any, **kwargs: Any) -> Any:
        try:
            return await method(*args, **kwargs)
        except ScenestateError:
            raise
        except Exception as exc:
            ours = translation.translated(exc)
            if ours is None:
                raise
            raise ours from exc

    setattr(translated, _WRAPPED, True)
    return translated


def _generator(
    method: Callable[..., AsyncGenerator[Any, None]], translation: _Translation
) -> Callable[..., AsyncGenerator[Any, None]]:
    @functools.wraps(method)
    async def translated(*args: Any, **kwargs: Any) -> AsyncGenerator[Any, None]:
        inner = method(*args, **kwargs)
        try:
            async for item in inner:
                yield item
        except ScenestateError:
            raise
        except Exception as exc:
            ours = translation.translated(exc)
            if ours is None:
                raise
            raise ours from exc
        finally:
            await inner.aclose()

    setattr(translated, _WRAPPED, True)
    return translated
