"""The FastAPI application: `create_app(settings)` wires the engine, tenancy, live
streams, webhooks and metrics into one ASGI app, with its background work (the
stream hub, the artifact index, webhook deliveries, and unless told otherwise the
pipeline and the projection runner) started and stopped by its lifespan.

Every request is authenticated (but `/healthz`, `/readyz` and the OpenAPI schema),
bodies are capped (413), and every refusal has the one error body of `api.errors`.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import AsyncExitStack, asynccontextmanager
from functools import partial
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi_offline import FastAPIOffline

from api.bootstrap import open_api, projection_runner
from api.config import Settings
from api.errors import install_error_handlers
from api.guard import RequestGuard
from api.routes import ROUTERS
from api.runtime import Runtime
from api.services import idempotency

log = logging.getLogger("scenestate.api")

RESTART_DELAY = 1.0
# Answer headers a browser's script may read (the rest it only gets by CORS's rules).
EXPOSED_HEADERS = (
    "Idempotent-Replayed",
    "Retry-After",
    "Content-Range",
    "Accept-Ranges",
    "ETag",
    "WWW-Authenticate",
)
START_TIMEOUT = 30.0


def create_app(
    settings: Settings,
    *,
    workers: int = 1,
    pipeline: bool = True,
    projections: bool = True,
    settle_heap: bool = False,
) -> FastAPI:
    """The API on the configured store and bus. `workers`: worker loops in this
    process (0: none); `pipeline`: run the dispatcher and result folder here;
    `projections`: keep the read models up to date here."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            api = await stack.enter_async_context(open_api(settings))
            app.state.api = api
            if pipeline:
                await stack.enter_async_context(Runtime(api.services, workers=workers))
            jobs: dict[str, Callable[[], Coroutine[Any, Any, None]]] = {
                "stream hub": api.hub.run,
                "artifact index": api.services.grants.run,
                "webhooks": api.webhooks.run,
                "key revocations": api.keys.watch,
                "expired idempotency keys": partial(idempotency.forget_expired, api.services),
            }
            if projections:
                jobs["projections"] = projection_runner(api.services).run
            running = [asyncio.create_task(_supervised(name, job)) for name, job in jobs.items()]
            try:
                async with asyncio.timeout(START_TIMEOUT):
                    await api.hub.started.wait()
                if settle_heap:
                    _settle_heap()
                yield
            finally:
                for task in running:
                    task.cancel()
                await asyncio.gather(*running, return_exceptions=True)

    # The documentation pages load Swagger UI and ReDoc from this package, not a CDN,
    # so they work offline (fastapi-offline ships the assets).
    app = FastAPIOffline(
        title="scenestate",
        version="0.1.0",
        summary="An event-sourced scene-state engine for AI media studios.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    app.add_middleware(RequestGuard, limits=settings.http)
    # Outermost, so that a browser's preflight is answered before any key is asked for.
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(settings.http.cors_origins),
        allow_credentials=True,
        allow_methods=["GET", "POST", "DELETE", "OPTIONS"],
        allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "Last-Event-ID"],
        expose_headers=list(EXPOSED_HEADERS),
        max_age=600,
    )
    return app


def _settle_heap() -> None:
    gc.collect()
    gc.freeze()


async def _supervised(name: str, job: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run a background job for the life of the app; a job that fails is logged and
    started again (a database restart must not leave streams dead for good)."""
    while True:
        try:
            await job()
            log.warning("background job %s stopped; starting it again", name)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("background job %s failed; starting it again", name)
        await asyncio.sleep(RESTART_DELAY)
