"""Liveness, readiness (the database and, when configured, NATS answer) and the
Prometheus metrics."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

from fastapi import APIRouter
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4

from api.bootstrap import Api
from api.deps import Admin, ApiDep
from api.errors import ERROR_RESPONSES
from projections.catalog import default_projections, statuses

router = APIRouter(tags=["health"])

READY_TIMEOUT = 2.0


@router.get("/healthz", summary="The process is up")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="The database and the task bus answer",
    responses={503: {"description": "A dependency does not answer."}},
)
async def readyz(api: ApiDep) -> JSONResponse:
    services = api.services
    checks = {"database": await _check(services.tenancy_store.ping())}
    if services.settings.nats_url is not None:
        checks["nats"] = await _check(services.bus.queue_depth())
    ready = all(result == "ok" for result in checks.values())
    body = {"status": "ready" if ready else "unavailable", "checks": checks}
    return JSONResponse(body, status_code=200 if ready else 503)


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
    for status in await statuses(services.read_models, default_projections(), head):
        metrics.projection_lag.labels(status.name).set(status.lag)
