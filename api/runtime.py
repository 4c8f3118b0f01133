"""The pipeline's background work in one process: the dispatcher, the result folder
and (embedded, or when asked) worker loops. `scenestate serve`, `run` and `demo` run
it; `scenestate worker` runs a worker alone against NATS (`api.bootstrap.open_worker`)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Mapping, Sequence
from types import TracebackType
from typing import Any

from adapters.dispatcher import Dispatcher
from adapters.result_folder import ResultFolder
from api.bootstrap import build_workers, close_providers, open_providers
from api.services import Services
from engine.retry import RetryPolicy
from engine.tasks import LANES, Lane

STOP_TIMEOUT = 10.0


class Runtime:
    def __init__(
        self,
        services: Services,
        *,
        workers: int = 1,
        lanes: Sequence[Lane] = LANES,
        concurrency: int = 2,
        dispatch: bool = True,
        fold: bool = True,
        policies: Mapping[str, RetryPolicy] | None = None,
        heartbeat: float | None = None,
    ) -> None:
        self.services = services
        self._jobs: list[Callable[[], Coroutine[Any, Any, None]]] = []
        if dispatch:
            dispatcher = Dispatcher(
                services.store, services.scenes, services.bus, volatile_bus=services.volatile_bus
            )
            self._jobs.append(dispatcher.run)
        if fold:
            self._jobs.append(ResultFolder(services.bus, services.scenes).run)
        self._providers = open_providers(services.settings) if workers else {}
        for worker in build_workers(
            services.settings,
            services.bus,
            services.artifacts,
            self._providers,
            count=workers,
            lanes=lanes,
            concurrency=concurrency,
            policies=policies,
            heartbeat=heartbeat,
        ):
            self._jobs.append(worker.run)
        self._running: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> Runtime:
        # The bus now: one that is not there is said at once (BusUnavailable), where its
        # jobs would wait for it in silence, each failed pull an empty round.
        await self.services.bus.queue_depth()
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
            if running.done() and not running.cancelled():
                failure = running.exception()
                if failure is not None:
                    raise failure
