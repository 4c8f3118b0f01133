"""Which driver errors mean "the database failed", not "the request was wrong": a
lost or refused connection, a full pool or server, a transaction the server broke
off (deadlock, serialization), a locked or failing SQLite file, a failing disk."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import TypeVar

import asyncpg
import sqlalchemy.exc

from adapters._failures import translates_failures as _translates

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


def translates_failures(backend: str = "database") -> Callable[[type[T]], type[T]]:
    return _translates(backend, DATABASE_FAILURES)
