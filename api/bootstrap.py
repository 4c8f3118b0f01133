"""The one place that wires adapters into the engine, from `Settings`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from adapters.store import migrate, open_store
from adapters.system import RandomIds, SystemClock
from api.config import Settings
from engine.ports import EventStore
from engine.service import SceneService


@dataclass
class Engine:
    settings: Settings
    store: EventStore
    scenes: SceneService


async def prepare_database(settings: Settings) -> None:
    """Create the data directory and bring the schema to the newest migration."""
    if settings.embedded:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    await migrate(settings.database_url)


@asynccontextmanager
async def open_engine(settings: Settings, *, migrate_first: bool = True) -> AsyncIterator[Engine]:
    """An engine on the configured store; migrations are idempotent, so run them on open."""
    if migrate_first:
        await prepare_database(settings)
    store = open_store(settings.database_url)
    try:
        scenes = SceneService(
            store, SystemClock(), RandomIds(), snapshot_every=settings.snapshot_every
        )
        yield Engine(settings, store, scenes)
    finally:
        await store.close()
