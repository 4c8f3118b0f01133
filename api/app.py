"""The FastAPI application: `create_app(settings)` wires the engine, tenancy, live
streams, webhooks and metrics into one ASGI app, with its background work (the
stream hub, the artifact index, webhook deliveries, and unless told otherwise the
pipeline and the projection runner) started and stopped by its lifespan.

Every request is authenticated (but `/healthz`, `/readyz` and the OpenAPI schema),
bodies are capped (413), and every refusal has the one error body of `api.errors`.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.bootstrap import open_api, projection_runner
from api.config import HttpSettings, Settings
from api.errors import ApiError, error_response, install_error_handlers
from api.metrics import log_context
from api.routes import ROUTERS
from api.runtime import Runtime

log = logging.getLogger("scenestate.api")

RESTART_DELAY = 1.0
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

    app = FastAPI(
        title="scenestate",
        version="0.1.0",
        summary="An event-sourced scene-state engine for AI media studios.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    app.add_middleware(RequestGuard, limits=settings.http)
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


class _TooLarge(ApiError):
    """A body that grew past the limit while it was read (no Content-Length)."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(413, f"the request body of {size}+ bytes is over the {limit}-byte limit")


class RequestGuard:
    """Pure ASGI (streaming responses pass straight through): caps request bodies
    (413), gives each request its log context, logs it as one JSON line and counts it."""

    def __init__(self, app: ASGIApp, limits: HttpSettings) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._limit(scope)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _refuse(send, _too_large(declared, limit))
            return
        context = {"request_id": uuid.uuid4().hex[:16]}
        token = log_context.set(context)
        started = time.perf_counter()
        status = {"code": 500, "sent": False}
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _TooLarge(seen, limit)
            return message

        async def watched(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"], status["sent"] = message["status"], True
                self._count(scope, message["status"], time.perf_counter() - started)
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except _TooLarge as refused:
            if not status["sent"]:
                await _refuse(watched, refused)
        finally:
            log.info(
                "%s %s %s",
                scope["method"],
                scope["path"],
                status["code"],
                extra={"duration_ms": round((time.perf_counter() - started) * 1000, 3)},
            )
            log_context.reset(token)

    def _limit(self, scope: Scope) -> int:
        if scope["method"] == "POST" and scope["path"] == "/artifacts":
            return self.limits.max_upload_bytes
        return self.limits.max_body_bytes

    def _count(self, scope: Scope, status: int, seconds: float) -> None:
        api = getattr(scope["app"].state, "api", None)
        if api is None:
            return
        route = scope.get("route")
        template = getattr(route, "path", "(unmatched)")
        labels = {"method": scope["method"], "route": template}
        api.metrics.requests.labels(status=str(status), **labels).inc()
        api.metrics.request_seconds.labels(**labels).observe(seconds)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            with contextlib.suppress(ValueError):
                return int(value)
    return None


def _too_large(size: int, limit: int) -> ApiError:
    return ApiError(413, f"the request body of {size} bytes is over the {limit}-byte limit")


async def _refuse(send: Send, error: ApiError) -> None:
    response = error_response(error)
    await send(
        {
            "type": "http.response.start",
            "status": response.status_code,
            "headers": response.raw_headers,
        }
    )
    await send({"type": "http.response.body", "body": response.body})
