"""The one place that builds adapters from `Settings` and wires them into the engine
and the service layer; every command (`serve`, `run`, `worker`, `demo` and the CLI's
reads and writes) starts here.

    open_services(settings)     the ports and the engine service: every CLI command
    open_api(settings)          the same, plus what the HTTP API runs beside them
                                (the stream hub, keys, rate limits, webhooks, metrics)
    build_workers(...)          worker loops with their operations and providers
    open_worker(settings, ...)  a worker process: the bus and artifacts, no database
"""

from __future__ import annotations

import os
import socket
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from adapters.artifacts import FilesystemArtifactStore
from adapters.bus import MemoryTaskBus, open_bus
from adapters.snapshotter import Snapshotter
from adapters.store import ConnectionBudget, migrate, open_store, open_tenancy_store
from adapters.store.read_models import open_read_models
from adapters.system import RandomIds, SystemClock
from adapters.webhooks import HttpWebhookTransport
from api.config import Settings
from api.services import PositionWatch, Services
from api.services.chosen_models import ChosenModels
from api.services.tenancy import ArtifactGrants, Tenancy
from engine.events import RecordedEvent
from engine.ports import EventStore, MediaArtifactStore, Operation, TaskBus
from engine.retry import RetryPolicy
from engine.service import KEEP_SNAPSHOTS, SceneService
from engine.tasks import LANES, Lane
from projections.executions import ExecutionsReadModel

# What only the HTTP API, the workers or the projection runner need is imported where
# they are built: every other command starts without FastAPI, PyAV or the runner.
if TYPE_CHECKING:
    from adapters.artifacts import JetStreamArtifactStore
    from adapters.providers.hosted import HostedProvider
    from adapters.workers import ProviderLimit, Worker
    from api.auth import FailedAuthentications, KeyRing, RateLimiter
    from api.metrics import Metrics
    from api.streaming import StreamHub
    from api.webhooks import WebhookCenter
    from projections.runner import ProjectionRunner

Follow = Callable[[int], AsyncIterator[list[RecordedEvent]]]


@dataclass(frozen=True)
class Api:
    """What the HTTP API runs: the service layer, and beside it the stream hub (one
    follower of the log fanned out to every SSE and WebSocket client), the API keys
    and their rate limits, webhook deliveries and the metrics."""

    services: Services
    hub: StreamHub
    keys: KeyRing
    limiter: RateLimiter
    failures: FailedAuthentications
    webhooks: WebhookCenter
    metrics: Metrics


async def prepare_database(settings: Settings) -> None:
    """Create the data directory and bring the schema to the newest migration."""
    if settings.embedded:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    await migrate(settings.database_url)


def open_artifacts(settings: Settings) -> FilesystemArtifactStore | JetStreamArtifactStore:
    """Artifacts on the local disk, or in a JetStream Object Store bucket that workers
    on other machines share (SCENESTATE_ARTIFACTS=nats)."""
    if settings.artifact_store == "nats" and settings.nats_url is not None:
        from adapters.artifacts.object_store import JetStreamArtifactStore

        return JetStreamArtifactStore(settings.nats_url, prefix=settings.bus.prefix)
    return FilesystemArtifactStore(settings.data_dir / "artifacts")


def open_task_bus(settings: Settings, **overrides: Any) -> TaskBus:
    options = settings.bus.options(jetstream=settings.nats_url is not None)
    return open_bus(settings.nats_url, **{**options, **overrides})


async def _close_artifacts(artifacts: MediaArtifactStore) -> None:
    close = getattr(artifacts, "close", None)  # the Object Store's connection
    if close is not None:
        await close()


@asynccontextmanager
async def open_services(
    settings: Settings,
    *,
    migrate_first: bool = True,
    bus_options: Mapping[str, Any] | None = None,
) -> AsyncIterator[Services]:
    """The ports on the configured database, bus and artifact store, and the engine
    service over them; migrations are idempotent, so they run first by default."""
    async with _opened(settings, migrate_first, bus_options) as opened:
        yield opened(follow=None, positions=None)


@asynccontextmanager
async def open_api(
    settings: Settings,
    *,
    migrate_first: bool = True,
    bus_options: Mapping[str, Any] | None = None,
) -> AsyncIterator[Api]:
    """Everything the HTTP API needs; its background jobs are the caller's to run
    (`hub.run`, `services.grants.run`, `webhooks.run`)."""
    from api.auth import FailedAuthentications, KeyRing, RateLimiter
    from api.metrics import Metrics
    from api.streaming import StreamHub
    from api.webhooks import WebhookCenter

    async with _opened(settings, migrate_first, bus_options) as opened:
        metrics = Metrics()
        hub = StreamHub(
            opened.store,
            opened.scenes,
            queue_limit=settings.http.stream_queue_limit,
            observers=[metrics.observe],
        )
        services = opened(follow=hub.follow, positions=hub)
        http = settings.http
        webhooks = WebhookCenter(
            opened.store,
            hub,
            services.tenancy_store,
            services.webhook_transport,
            metrics,
            backoff=http.webhook_backoff,
            max_attempts=http.webhook_max_attempts,
            poll=http.webhook_poll,
        )
        keys = KeyRing(services.tenancy_store, http.admin_key, http.admin_rate)
        yield Api(services, hub, keys, RateLimiter(), FailedAuthentications(), webhooks, metrics)


class _Opened:
    """The adapters of one process, opened; calling it makes the `Services`."""

    def __init__(self, settings: Settings, stack: AsyncExitStack, bus_options: Any) -> None:
        url = settings.database_url
        self.settings = settings
        self.stack = stack
        pools = _pools(settings)
        self.store = open_store(url, **pools.store)
        stack.push_async_callback(self.store.close)
        self.bus = open_task_bus(settings, **(bus_options or {}))
        stack.push_async_callback(self.bus.close)
        self.artifacts = open_artifacts(settings)
        stack.push_async_callback(_close_artifacts, self.artifacts)
        self.tenancy_store = open_tenancy_store(url, pool_size=pools.tenancy)
        stack.push_async_callback(self.tenancy_store.close)
        self.read_models = open_read_models(
            url, pool_size=pools.read_models, committers=pools.committers, beside=self.store
        )
        stack.push_async_callback(self.read_models.close)
        # registered after the store: runs before it closes, so what is due gets saved
        self.snapshotter = Snapshotter(self.store, KEEP_SNAPSHOTS)
        stack.push_async_callback(self.snapshotter.close)
        self.webhook_transport = HttpWebhookTransport(
            allow_private=settings.http.webhook_allow_private
        )
        stack.push_async_callback(self.webhook_transport.close)
        self.chosen_models = ChosenModels(self.tenancy_store)
        self.scenes = SceneService(
            self.store,
            SystemClock(),
            RandomIds(),
            snapshot_every=settings.snapshot_every,
            work_cache=self.store,
            archive=ExecutionsReadModel(self.store, self.read_models),
            snapshots=self.snapshotter,
            models=self.chosen_models,
        )

    def __call__(self, *, follow: Follow | None, positions: PositionWatch | None) -> Services:
        grants = ArtifactGrants(self.store, self.tenancy_store, follow or _follow_of(self.store))
        return Services(
            settings=self.settings,
            store=self.store,
            work_cache=self.store,
            bus=self.bus,
            artifacts=self.artifacts,
            tenancy_store=self.tenancy_store,
            tenancy=Tenancy(self.tenancy_store, grants),
            grants=grants,
            read_models=self.read_models,
            scenes=self.scenes,
            chosen_models=self.chosen_models,
            webhook_transport=self.webhook_transport,
            volatile_bus=isinstance(self.bus, MemoryTaskBus),
            positions=positions,
        )


@dataclass(frozen=True)
class _Pools:
    """Each adapter's pools: its share of the process's PostgreSQL connections
    (SCENESTATE_DATABASE_POOL_SIZE). SQLite has no pools: the store takes no pool
    options there, and the others ignore theirs."""

    store: dict[str, int]
    tenancy: int
    read_models: int
    committers: int


def _pools(settings: Settings) -> _Pools:
    budget = ConnectionBudget.of(settings.database_pool_size)
    store = {"pool_size": budget.writes, "read_pool_size": budget.reads}
    return _Pools(
        store={} if settings.embedded else store,
        tenancy=budget.tenancy,
        read_models=budget.read_models,
        committers=budget.committers,
    )


@asynccontextmanager
async def _opened(
    settings: Settings, migrate_first: bool, bus_options: Mapping[str, Any] | None
) -> AsyncIterator[_Opened]:
    if migrate_first:
        await prepare_database(settings)
    async with AsyncExitStack() as stack:
        yield _Opened(settings, stack, bus_options)


def _follow_of(store: EventStore) -> Follow:
    def follow(after: int) -> AsyncIterator[list[RecordedEvent]]:
        return store.follow(after)

    return follow


def projection_runner(services: Services, batch_size: int | None = None) -> ProjectionRunner:
    """The runner of every read model (`batch_size`: events per read and commit)."""
    from projections.catalog import default_projections
    from projections.runner import DEFAULT_BATCH, ProjectionRunner

    return ProjectionRunner(
        services.store,
        services.read_models,
        default_projections(),
        batch_size=batch_size or DEFAULT_BATCH,
    )


# Workers


def worker_name(index: int = 0) -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{index}"


def operations(
    providers: Mapping[str, HostedProvider] | None = None,
    hosted_settings: Mapping[str, str] | None = None,
) -> dict[tuple[str, str], Operation]:
    """Every operation this build's workers can run: diagnostics, local generators,
    media operations, and the hosted providers whose keys are configured."""
    # imported here: PyAV, NumPy, Pillow and httpx cost every CLI command ~0.5 s
    from adapters.operations import diagnostic_operations
    from adapters.operations.hosted import hosted_operations
    from adapters.operations.local import local_operations
    from adapters.operations.media import media_operations
    from adapters.operations.surfaces import surface_operations

    local = {
        **diagnostic_operations(),
        **local_operations(),
        **media_operations(),
        **surface_operations(),
    }
    if not providers:
        return local
    return {**local, **hosted_operations(hosted_settings or {}, providers=providers)}


def open_providers(settings: Settings) -> dict[str, HostedProvider]:
    """A client per hosted provider with a key; close them with `close_providers`."""
    from adapters.operations.hosted import hosted_providers

    return hosted_providers(settings.hosted)


async def close_providers(providers: Mapping[str, HostedProvider]) -> None:
    for provider in providers.values():
        await provider.aclose()


def provider_limits(settings: Settings) -> dict[str, ProviderLimit]:
    from adapters.workers import ProviderLimit

    return {
        name: ProviderLimit(limit.concurrency, limit.per_second)
        for name, limit in settings.provider_limits.items()
    }


def build_workers(
    settings: Settings,
    bus: TaskBus,
    artifacts: MediaArtifactStore,
    providers: Mapping[str, HostedProvider],
    *,
    count: int,
    lanes: Sequence[Lane] = LANES,
    concurrency: int = 2,
    policies: Mapping[str, RetryPolicy] | None = None,
    heartbeat: float | None = None,
) -> list[Worker]:
    """`count` worker loops of this process, serving `lanes` in that order."""
    from adapters.workers import Worker

    served = operations(providers, settings.hosted)
    return [
        Worker(
            bus,
            artifacts,
            served,
            lanes,
            name=worker_name(index),
            concurrency=concurrency,
            policies=policies,
            heartbeat=settings.bus.heartbeat if heartbeat is None else heartbeat,
            limits=provider_limits(settings),
        )
        for index in range(count)
    ]


@asynccontextmanager
async def open_worker(
    settings: Settings, lanes: Sequence[Lane], concurrency: int
) -> AsyncIterator[Worker]:
    """A worker of its own process: tasks from the bus, artifacts to the artifact
    store, results back to the bus; it needs no database."""
    async with AsyncExitStack() as stack:
        bus = open_task_bus(settings)
        stack.push_async_callback(bus.close)
        artifacts = open_artifacts(settings)
        stack.push_async_callback(_close_artifacts, artifacts)
        providers = open_providers(settings)
        stack.push_async_callback(close_providers, providers)
        (worker,) = build_workers(
            settings, bus, artifacts, providers, count=1, lanes=lanes, concurrency=concurrency
        )
        await bus.queue_depth()  # a bus that is not there is said now, not waited for
        yield worker
