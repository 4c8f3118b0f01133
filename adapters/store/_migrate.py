"""Running the Alembic migrations from code, with no alembic.ini at runtime."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.engine import URL, Connection
from sqlalchemy.exc import IntegrityError, ProgrammingError

import migrations
from adapters.store._failures import database_error
from adapters.store._url import check_schema_name, parse_store_url
from adapters.store.postgres import create_postgres_engine
from adapters.store.sqlite import create_sqlite_engine
from engine.errors import ScenestateError

MIGRATIONS_DIR = Path(migrations.__file__).resolve().parent

# Held while migrating, so processes that start together migrate one after another.
_MIGRATION_LOCK = 0x5CE5E1


async def migrate(url: str, *, schema: str | None = None) -> None:
    """Bring the database at `url` to the newest schema (Alembic `upgrade head`).

    Async because it runs on the store's async drivers; from synchronous code use
    `asyncio.run(migrate(url))`. Idempotent, and safe when several processes run it
    at once. `schema` (PostgreSQL only) is created if missing and receives the
    tables, like the `schema` option of `open_store`. A database that fails or cannot
    be reached raises `engine.errors.Unavailable`.
    """
    try:
        await run_in_migration_transaction(url, schema, _upgrade_head)
    except ScenestateError:
        raise
    except Exception as exc:
        ours = database_error(exc)
        if ours is None:
            raise
        raise ours from exc


async def run_in_migration_transaction(
    url: str, schema: str | None, migrate_on: Callable[[Connection], None]
) -> None:
    """Call `migrate_on` with a connection inside one transaction, holding the migration lock."""
    backend, parsed = parse_store_url(url)
    if backend == "sqlite":
        if schema is not None:
            raise ValueError("schema is a PostgreSQL option; SQLite has one schema per file")
        database = create_sqlite_engine(parsed)
        try:
            async with database.connect() as conn:
                # BEGIN IMMEDIATE is SQLite's migration lock (and makes the DDL atomic).
                await conn.execution_options(sqlite_begin="IMMEDIATE")
                async with conn.begin():
                    await conn.run_sync(migrate_on)
        finally:
            await database.dispose()
        return
    if schema is not None:
        await _create_schema(parsed, check_schema_name(schema))
    database = create_postgres_engine(parsed, schema, autocommit=False, pool_size=1)
    try:
        async with database.begin() as conn:
            await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
            await conn.run_sync(migrate_on)
    finally:
        await database.dispose()


def _current_revision(connection: Connection) -> str | None:
    if not inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


async def _create_schema(url: URL, schema: str) -> None:
    database = create_postgres_engine(url, None, autocommit=True, pool_size=1)
    try:
        async with database.connect() as conn:
            # Two processes creating it at once: the loser's error means it exists.
            with contextlib.suppress(IntegrityError, ProgrammingError):
                await conn.execute(text(f"CREATE SCHEMA IF NOT EXISTS {schema}"))
    finally:
        await database.dispose()


def _upgrade_head(connection: Connection) -> None:
    if _current_revision(connection) == migrations.HEAD:
        return  # the common case, and it spares every CLI call Alembic's import time
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")
