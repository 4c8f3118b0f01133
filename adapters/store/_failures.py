"""Which driver errors mean "the database failed", not "the request was wrong": a
lost or refused connection, a full pool or server, a transaction the server broke
off (deadlock, serialization), a locked or failing SQLite file, a failing disk."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import TypeVar

import asyncpg
import sqlalchemy.exc

from adapters._failures import _Translation
from adapters._failures import translates_failures as _translates
from engine.errors import Misconfigured, Unavailable

T = TypeVar("T")

DATABASE_FAILURES: tuple[type[BaseException], ...] = (
    OSError,  # ConnectionError, TimeoutError
    sqlite3.OperationalError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.InsufficientResourcesError,
    asyncpg.TransactionRollbackError,
    asyncpg.OperatorInterventionError,
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    sqlalchemy.exc.TimeoutError,
)


# What no retry fixes: the database is not there, or will not have us.
DATABASE_REFUSALS: tuple[type[BaseException], ...] = (
    asyncpg.InvalidCatalogNameError,
    asyncpg.InvalidAuthorizationSpecificationError,
    asyncpg.InvalidPasswordError,
)


def translates_failures(backend: str = "database") -> Callable[[type[T]], type[T]]:
    return _translates(backend, DATABASE_FAILURES, refusals=DATABASE_REFUSALS)


def database_error(failure: BaseException) -> Unavailable | Misconfigured | None:
    """The core's error for a driver's `failure` (None when it is not the database's)."""
    return _Translation("database", DATABASE_FAILURES, Unavailable, DATABASE_REFUSALS).translated(
        failure
    )
