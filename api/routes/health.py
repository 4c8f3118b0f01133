"""Liveness, readiness (the database and, when configured, NATS answer) and the
Prometheus metrics."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

from fastapi import APIRouter
from fastapi.responses import JSONResponse, PlainTextResponse

from api.deps import Admin, Services, ServicesDep
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
async def readyz(found: ServicesDep) -> JSONResponse:
    checks = {"database": await _check(found.tenancy.store.ping())}
    if found.engine.settings.nats_url is not None:
        checks["nats"] = await _check(found.engine.bus.queue_depth())
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
async def metrics(admin: Admin, found: ServicesDep) -> PlainTextResponse:
    await collect(found)
    return PlainTextResponse(
        found.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8"
    )


async def collect(found: Services) -> None:
    """Read what is measured when scraped: queue depths, lags, open streams."""
    metrics = found.metrics
    head = await found.engine.store.head_position()
    metrics.stream_lag.set(max(head - found.hub.position, 0))
    metrics.subscribers.set(found.hub.subscribers)
    try:
        async with asyncio.timeout(READY_TIMEOUT):
            depth = await found.engine.bus.queue_depth()
        for lane, waiting in depth.items():
            metrics.queue_depth.set(waiting, lane=str(lane))
    except Exception:  # a bus that does not answer shows as missing figures
        metrics.queue_depth.values.clear()
    for status in await statuses(found.read_models, default_projections(), head):
        metrics.projection_lag.set(status.lag, projection=status.name)
