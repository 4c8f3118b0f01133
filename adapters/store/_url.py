"""Which adapter a database URL selects, with the async driver filled in."""

from __future__ import annotations

import re
from typing import Literal

from sqlalchemy.engine import URL, make_url

Backend = Literal["sqlite", "postgresql"]

# The only schema names accepted: they go into search_path unquoted, and a name
# that needed quoting would silently mean a different schema there.
_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def parse_store_url(url: str) -> tuple[Backend, URL]:
    """Return the backend and the URL rewritten to its async driver.

    `sqlite:///path` becomes `sqlite+aiosqlite:///path` and `postgresql://...`
    (or `postgres://...`) becomes `postgresql+asyncpg://...`; any other driver
    named explicitly is refused rather than silently swapped.
    """
    parsed = make_url(url)
    backend, _, driver = parsed.drivername.partition("+")
    if backend == "sqlite" and driver in ("", "aiosqlite"):
        if parsed.database in (None, "", ":memory:"):
            raise ValueError(
                "the SQLite event store needs a file (sqlite+aiosqlite:///path/to/file.db): "
                "an in-memory database is private to one connection"
            )
        return "sqlite", parsed.set(drivername="sqlite+aiosqlite")
    if backend in ("postgresql", "postgres") and driver in ("", "asyncpg"):
        return "postgresql", parsed.set(drivername="postgresql+asyncpg")
    raise ValueError(
        f"unsupported event store URL scheme {parsed.drivername!r}; "
        "use sqlite+aiosqlite:///path or postgresql+asyncpg://user@host/db"
    )


def check_schema_name(schema: str) -> str:
    if not _SCHEMA_NAME.fullmatch(schema):
        raise ValueError(
            f"schema {schema!r} is not a plain lower-case identifier "
            "(letters, digits and _, not starting with a digit)"
        )
    return schema
