"""Liveness, readiness (the database and, when configured, NATS answer; a read model
that stopped on an event makes the service `degraded`) and the Prometheus metrics."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

from fastapi import APIRouter
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4

from api.bootstrap import Api
from api.deps import Admin, ApiDep
from api.errors import ERROR_RESPONSES
from api.services import executions
from projections.catalog import default_projections, statuses

router = APIRouter(tags=["health"])

READY_TIMEOUT = 2.0


@router.get("/healthz", summary="The process is up")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="The database and the task bus answer; read models that stopped are named",
    responses={503: {"description": "A dependency does not answer."}},
)
async def readyz(api: ApiDep) -> JSONResponse:
    """`ready`, `degraded` (requests are served, but a read model stopped on an event:
    `stopped` names it, its position and the reason) or `unavailable` (503)."""
    services = api.services
    checks: dict[str, str] = {"database": await _check(services.tenancy_store.ping())}
    if services.settings.nats_url is not None:
        checks["nats"] = await _check(services.bus.queue_depth())
    ready = all(result == "ok" for result in checks.values())
    stopped = await _stopped_projections(api) if ready else {}
    status = "unavailable" if not ready else "degraded" if stopped else "ready"
    body = {"status": status, "checks": checks, "stopped": stopped, "workers": await _workers(api)}
    return JSONResponse(body, status_code=200 if ready else 503)


async def _workers(api: Api) -> dict[str, int] | None:
    """Workers serving each lane, as they announced themselves (None: the bus cannot say)."""
    try:
        async with asyncio.timeout(READY_TIMEOUT):
            return await executions.workers_per_lane(api.services)
    except Exception:
        return None


async def _stopped_projections(api: Api) -> dict[str, dict[str, object]]:
    """The read models that stopped on an event: where, and why."""
    services = api.services
    try:
        async with asyncio.timeout(READY_TIMEOUT):
            head = await services.store.head_position()
            found = await statuses(services.read_models, default_projections(), head)
    except Exception as exc:  # an unreadable status is a stop too
        return {"(read models)": {"position": None, "error": f"{type(exc).__name__}: {exc}"}}
    return {
        s.name: {"position": s.position, "lag": s.lag, "error": s.error} for s in found if s.error
    }


async def _check(probe: Awaitable[object]) -> str:
    try:
        async with asyncio.timeout(READY_TIMEOUT):
            await probe
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"[:300]
    return "ok"


@router.get(
    "/metrics",
    responses={
        **{k: v for k, v in ERROR_RESPONSES.items() if k in (401, 403, 429)},
        200: {"content": {"text/plain": {}}, "description": "Prometheus text format."},
    },
    summary="Prometheus metrics (admin key)",
)
async def metrics(admin: Admin, api: ApiDep) -> PlainTextResponse:
    await collect(api)
    return PlainTextResponse(api.metrics.render(), media_type=CONTENT_TYPE_PLAIN_0_0_4)


async def collect(api: Api) -> None:
    """Read what is measured when scraped: queue depths, lags, open streams."""
    metrics, services = api.metrics, api.services
    head = await services.store.head_position()
    metrics.stream_lag.set(max(head - api.hub.position, 0))
    metrics.subscribers.set(api.hub.subscribers)
    try:
        async with asyncio.timeout(READY_TIMEOUT):
            depth = await services.bus.queue_depth()
        for lane, waiting in depth.items():
            metrics.queue_depth.labels(str(lane)).set(waiting)
    except Exception:  # a bus that does not answer shows as missing figures
        metrics.queue_depth.clear()
    for served, count in (await _workers(api) or {}).items():
        metrics.workers.labels(served).set(count)
    for status in await statuses(services.read_models, default_projections(), head):
        metrics.projection_lag.labels(status.name).set(status.lag)
        metrics.projection_stopped.labels(status.name).set(1 if status.error else 0)
