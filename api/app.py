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
import os
import time
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from adapters.artifacts import MediaArtifactStore
from adapters.store._tenancy_store import open_tenancy_store
from adapters.store.read_models import open_read_models
from api.bootstrap import Engine, open_engine
from api.config import ConfigError, Settings
from api.deps import Services
from api.errors import ApiError, error_response, install_error_handlers
from api.metrics import Metrics, log_context
from api.routes import ROUTERS
from api.runtime import Runtime
from api.streaming import StreamHub
from api.tenancy import ArtifactGrants, KeyRing, RateLimiter, Tenancy
from api.webhooks import WebhookCenter
from projections.catalog import default_projections
from projections.runner import ProjectionRunner

log = logging.getLogger("scenestate.api")

RESTART_DELAY = 1.0


@dataclass(frozen=True)
class ApiOptions:
    """What the HTTP layer adds to `Settings` (SCENESTATE_ADMIN_KEY, SCENESTATE_API_*)."""

    admin_key: str | None = None
    max_body_bytes: int = 1024 * 1024
    max_upload_bytes: int = 256 * 1024 * 1024
    heartbeat: float = 15.0
    admin_rate: float = 100.0
    stream_queue_limit: int = 10_000
    webhook_backoff: float = 1.0
    webhook_max_attempts: int = 8
    webhook_poll: float = 1.0


def load_api_options(env: Mapping[str, str] | None = None) -> ApiOptions:
    env = os.environ if env is None else env
    admin = env.get("SCENESTATE_ADMIN_KEY") or None
    if admin is not None and len(admin) < 16:
        raise ConfigError("SCENESTATE_ADMIN_KEY must be at least 16 characters")
    return ApiOptions(
        admin_key=admin,
        max_body_bytes=int(_number(env, "SCENESTATE_API_MAX_BODY_BYTES", 1024 * 1024, 1024)),
        max_upload_bytes=int(
            _number(env, "SCENESTATE_API_MAX_UPLOAD_BYTES", 256 * 1024 * 1024, 1024)
        ),
        heartbeat=_number(env, "SCENESTATE_API_HEARTBEAT", 15.0, 0.05),
        webhook_backoff=_number(env, "SCENESTATE_WEBHOOK_BACKOFF", 1.0, 0.01),
        webhook_max_attempts=int(_number(env, "SCENESTATE_WEBHOOK_MAX_ATTEMPTS", 8, 1)),
    )


def _number(env: Mapping[str, str], name: str, default: float, minimum: float) -> float:
    text = env.get(name)
    if text is None:
        return default
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"{name}={text!r} is not a number") from None
    if not minimum <= value < float("inf"):
        raise ConfigError(f"{name}={text!r} must be at least {minimum:g}")
    return value


def create_app(
    settings: Settings,
    options: ApiOptions | None = None,
    *,
    workers: int = 1,
    pipeline: bool = True,
    projections: bool = True,
    settle_heap: bool = False,
) -> FastAPI:
    """The API on the configured store and bus. `workers`: worker loops in this
    process (0: none); `pipeline`: run the dispatcher and result folder here;
    `projections`: keep the read models up to date here."""
    chosen = options or ApiOptions()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            engine = await stack.enter_async_context(open_engine(settings))
            services = await _open_services(stack, engine, chosen)
            app.state.services = services
            if pipeline:
                await stack.enter_async_context(Runtime(engine, workers=workers))
            jobs: dict[str, Callable[[], Coroutine[Any, Any, None]]] = {
                "stream hub": services.hub.run,
                "artifact index": services.grants.run,
                "webhooks": services.webhooks.run,
            }
            if projections:
                runner = ProjectionRunner(engine.store, services.read_models, default_projections())
                jobs["projections"] = runner.run
            running = [asyncio.create_task(_supervised(name, job)) for name, job in jobs.items()]
            try:
                async with asyncio.timeout(30):
                    await services.hub.started.wait()
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
    app.add_middleware(RequestGuard, limits=chosen)
    return app


async def _open_services(stack: AsyncExitStack, engine: Engine, options: ApiOptions) -> Services:
    url = engine.settings.database_url
    tenancy_store = open_tenancy_store(url)
    stack.push_async_callback(tenancy_store.close)
    read_models = open_read_models(url)
    stack.push_async_callback(read_models.close)
    metrics = Metrics()
    hub = StreamHub(
        engine.store,
        engine.scenes,
        queue_limit=options.stream_queue_limit,
        observers=[metrics.observe],
    )
    tenancy = Tenancy(tenancy_store)
    grants = ArtifactGrants(engine.store, tenancy_store, hub)
    tenancy.grants = grants
    artifacts: MediaArtifactStore = engine.artifacts
    return Services(
        engine=engine,
        artifacts=artifacts,
        tenancy=tenancy,
        keys=KeyRing(tenancy_store, options.admin_key, options.admin_rate),
        limiter=RateLimiter(),
        hub=hub,
        grants=grants,
        webhooks=WebhookCenter(
            engine.store,
            hub,
            tenancy_store,
            metrics,
            backoff=options.webhook_backoff,
            max_attempts=options.webhook_max_attempts,
            poll=options.webhook_poll,
        ),
        metrics=metrics,
        read_models=read_models,
        options=options,
    )


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

    def __init__(self, app: ASGIApp, limits: ApiOptions) -> None:
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
        services = getattr(scope["app"].state, "services", None)
        if services is None:
            return
        route = scope.get("route")
        template = getattr(route, "path", "(unmatched)")
        labels = {"method": scope["method"], "route": template}
        services.metrics.requests.inc(status=str(status), **labels)
        services.metrics.request_seconds.observe(seconds, **labels)


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
