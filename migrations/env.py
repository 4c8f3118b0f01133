"""Alembic environment for scenestate.

`adapters.store.migrate()` hands over an open connection (in
`config.attributes["connection"]`) inside a transaction it already began; from
the alembic command line this opens one itself from SCENESTATE_DATABASE_URL, or
`sqlalchemy.url` in alembic.ini, with the PostgreSQL schema from `-x schema=NAME`.
"""

from __future__ import annotations

import asyncio
import os
from logging.config import fileConfig

from alembic import context
from sqlalchemy.engine import Connection

from adapters.store._migrate import run_in_migration_transaction

config = context.config


def run_migrations(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=None)
    with context.begin_transaction():
        context.run_migrations()


def run_from_command_line() -> None:
    if config.config_file_name is not None:
        fileConfig(config.config_file_name, disable_existing_loggers=False)
    url = os.environ.get("SCENESTATE_DATABASE_URL") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise SystemExit("set SCENESTATE_DATABASE_URL or sqlalchemy.url in alembic.ini")
    schema = context.get_x_argument(as_dictionary=True).get("schema")
    if context.is_offline_mode():
        context.configure(url=url, literal_binds=True, target_metadata=None)
        with context.begin_transaction():
            context.run_migrations()
        return
    asyncio.run(run_in_migration_transaction(url, schema, run_migrations))


handed_over = config.attributes.get("connection")
if handed_over is not None:
    run_migrations(handed_over)
else:
    run_from_command_line()
