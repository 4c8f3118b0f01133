"""The engine's background work in one process: the dispatcher, the result folder
and (embedded, or when asked) workers. `scenestate serve` and `scenestate demo`
run it; `scenestate worker` runs workers alone against NATS."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Callable, Coroutine, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

from adapters.dispatcher import Dispatcher
from adapters.operations import diagnostic_operations
from adapters.result_folder import ResultFolder
from adapters.workers import ProviderLimit, Worker
from api.bootstrap import Engine
from api.config import Settings
from engine.ports import Operation
from engine.progress import Progress, progress_of
from engine.retry import RetryPolicy
from engine.tasks import LANES, Lane

if TYPE_CHECKING:
    from adapters.providers.hosted import HostedProvider

STOP_TIMEOUT = 10.0


def operations(
    providers: Mapping[str, HostedProvider] | None = None,
    hosted_settings: Mapping[str, str] | None = None,
) -> dict[tuple[str, str], Operation]:
    """Every operation this build's workers can run: diagnostics, local generators,
    media operations, and the hosted providers whose keys are configured."""
    # imported here: PyAV, NumPy, Pillow and httpx cost every CLI command ~0.5 s
    from adapters.operations.hosted import hosted_operations
    from adapters.operations.local import local_operations
    from adapters.operations.media import media_operations

    local = {**diagnostic_operations(), **local_operations(), **media_operations()}
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
    return {
        name: ProviderLimit(limit.concurrency, limit.per_second)
        for name, limit in settings.provider_limits.items()
    }


def worker_name(index: int = 0) -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{index}"


class Runtime:
    def __init__(
        self,
        engine: Engine,
        *,
        workers: int = 1,
        lanes: Sequence[Lane] = LANES,
        concurrency: int = 2,
        dispatch: bool = True,
        fold: bool = True,
        policies: Mapping[str, RetryPolicy] | None = None,
        heartbeat: float | None = None,
    ) -> None:
        self.engine = engine
        self._jobs: list[Callable[[], Coroutine[Any, Any, None]]] = []
        if dispatch:
            dispatcher = Dispatcher(
                engine.store, engine.scenes, engine.bus, volatile_bus=engine.volatile_bus
            )
            self._jobs.append(dispatcher.run)
        if fold:
            self._jobs.append(ResultFolder(engine.bus, engine.scenes).run)
        self._providers = open_providers(engine.settings) if workers else {}
        served = operations(self._providers, engine.settings.hosted)
        for index in range(workers):
            worker = Worker(
                engine.bus,
                engine.artifacts,
                served,
                lanes,
                name=worker_name(index),
                concurrency=concurrency,
                policies=policies,
                heartbeat=engine.settings.bus.heartbeat if heartbeat is None else heartbeat,
                limits=provider_limits(engine.settings),
            )
            self._jobs.append(worker.run)
        self._running: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> Runtime:
        self._running = [asyncio.create_task(job()) for job in self._jobs]
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        for running in self._running:
            running.cancel()
        # A job whose cancellation a client library swallowed must not hold shutdown
        # forever; give them all a bounded time to stop.
        if self._running:
            await asyncio.wait(self._running, timeout=STOP_TIMEOUT)
        await close_providers(self._providers)

    def check(self) -> None:
        """Raise what stopped a background job, if one stopped."""
        for running in self._running:
            if running.done() and not running.cancelled() and running.exception():
                raise running.exception()  # type: ignore[misc]


async def follow_execution(
    engine: Engine,
    scene: str,
    branch: str,
    execution: str,
    on_progress: Callable[[Progress], None] | None = None,
    runtime: Runtime | None = None,
    poll: float = 0.05,
) -> Progress:
    """Wait until an execution finishes, reporting its progress as it changes."""
    last = None
    while True:
        if runtime is not None:
            runtime.check()
        state = await engine.scenes.load(scene, branch)
        progress = progress_of(state, execution)
        if progress is None:
            raise LookupError(f"no execution {execution} on {scene}@{branch}")
        if on_progress is not None and progress != last:
            on_progress(progress)
        last = progress
        if progress.status != "running":
            return progress
        await asyncio.sleep(poll)
