"""The one place that wires adapters into the engine, from `Settings`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from adapters.artifacts import FilesystemArtifactStore, JetStreamArtifactStore
from adapters.artifacts.metadata import MediaArtifactStore
from adapters.bus import MemoryTaskBus, open_bus
from adapters.store import migrate, open_store
from adapters.store.read_models import open_read_models
from adapters.system import RandomIds, SystemClock
from api.config import Settings
from engine.ports import EventStore, TaskBus, WorkCache
from engine.service import SceneService
from projections.catalog import default_projections
from projections.ports import ReadModelStore
from projections.runner import DEFAULT_BATCH, ProjectionRunner


@dataclass
class Engine:
    settings: Settings
    store: EventStore
    scenes: SceneService
    bus: TaskBus
    artifacts: MediaArtifactStore

    @property
    def volatile_bus(self) -> bool:
        """An in-process bus forgets its queue when the process stops."""
        return isinstance(self.bus, MemoryTaskBus)


async def prepare_database(settings: Settings) -> None:
    """Create the data directory and bring the schema to the newest migration."""
    if settings.embedded:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    await migrate(settings.database_url)


def open_artifacts(settings: Settings) -> MediaArtifactStore:
    """Artifacts on the local disk, or in a JetStream Object Store bucket that workers
    on other machines share (SCENESTATE_ARTIFACTS=nats)."""
    if settings.artifact_store == "nats" and settings.nats_url is not None:
        return JetStreamArtifactStore(settings.nats_url, prefix=settings.bus.prefix)
    return FilesystemArtifactStore(settings.data_dir / "artifacts")


async def close_artifacts(artifacts: MediaArtifactStore) -> None:
    if isinstance(artifacts, JetStreamArtifactStore):
        await artifacts.close()


@asynccontextmanager
async def open_engine(
    settings: Settings, *, migrate_first: bool = True, bus_options: dict[str, Any] | None = None
) -> AsyncIterator[Engine]:
    """An engine on the configured store and bus; migrations are idempotent, so run them."""
    if migrate_first:
        await prepare_database(settings)
    store = open_store(settings.database_url)
    options = settings.bus.options(jetstream=settings.nats_url is not None)
    bus = open_bus(settings.nats_url, **{**options, **(bus_options or {})})
    artifacts = open_artifacts(settings)
    try:
        work_cache: WorkCache = store  # type: ignore[assignment]  # the SQL stores keep it
        scenes = SceneService(
            store,
            SystemClock(),
            RandomIds(),
            snapshot_every=settings.snapshot_every,
            work_cache=work_cache,
        )
        yield Engine(settings, store, scenes, bus, artifacts)
    finally:
        await bus.close()
        await close_artifacts(artifacts)
        await store.close()


@asynccontextmanager
async def read_models_of(engine: Engine, catch_up: bool = True) -> AsyncIterator[ReadModelStore]:
    """The read models of the engine's database, caught up with the log by default."""
    read_models = open_read_models(engine.settings.database_url)
    try:
        if catch_up:
            await runner_of(engine, read_models).catch_up()
        yield read_models
    finally:
        await read_models.close()


def runner_of(
    engine: Engine, read_models: ReadModelStore, batch_size: int = DEFAULT_BATCH
) -> ProjectionRunner:
    return ProjectionRunner(engine.store, read_models, default_projections(), batch_size=batch_size)
