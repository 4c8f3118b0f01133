"""The durable event store (`engine.ports.EventStore`) on SQLite or PostgreSQL.

    open_store(url, **options) -> SqlEventStore      an EventStore and a WorkCache,
                                                     the adapter picked by URL scheme
    open_tenancy_store(url) -> SqlTenancyStore       studios, keys, owners, webhooks
    ConnectionBudget.of(total)                       a process's PostgreSQL connections,
                                                     shared out between those pools
    migrate(url, schema=None)                        async; Alembic `upgrade head`

`sqlite+aiosqlite:///path` (or `sqlite:///path`) opens `SqliteEventStore`,
`postgresql+asyncpg://...` (or `postgresql://...`) opens `PostgresEventStore`.
Run `migrate` once before opening a store on a new database.
"""

from __future__ import annotations

from typing import Any

from adapters.store._base import SqlEventStore
from adapters.store._migrate import migrate
from adapters.store._url import parse_store_url
from adapters.store.budget import ConnectionBudget
from adapters.store.postgres import PostgresEventStore
from adapters.store.sqlite import SqliteEventStore
from adapters.store.tenancy import SqlTenancyStore, open_tenancy_store

__all__ = [
    "ConnectionBudget",
    "PostgresEventStore",
    "SqlEventStore",
    "SqlTenancyStore",
    "SqliteEventStore",
    "migrate",
    "open_store",
    "open_tenancy_store",
]


def open_store(url: str, **options: Any) -> SqlEventStore:
    """Open the event store at `url`; connections are made on first use.

    Options, all keyword: `max_event_bytes` (default 1 MiB) and `poll_interval`
    (seconds between a subscriber's polls) for both; for PostgreSQL `schema` (tables
    live in that schema), `pool_size` (connections for writes, and as many for
    reads; default 20), `read_pool_size` (connections for reads, when they should
    differ) and `sequencer_interval` (seconds between the background
    sequencing passes while appends come in; default 0.005).
    An option the adapter does not know is a TypeError.
    """
    backend, parsed = parse_store_url(url)
    if backend == "sqlite":
        return SqliteEventStore(parsed, **options)
    return PostgresEventStore(parsed, **options)
