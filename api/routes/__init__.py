"""The HTTP API's routes, one module per resource; `ROUTERS` lists them all."""

from __future__ import annotations

from fastapi import APIRouter

from api.routes import (
    artifacts,
    branches,
    executions,
    health,
    intents,
    models,
    scenes,
    streams,
    studio,
    studios,
    tasks,
    webhooks,
)

ROUTERS: tuple[APIRouter, ...] = (
    health.router,
    studios.router,
    scenes.router,
    intents.router,
    branches.router,
    executions.router,
    tasks.router,
    streams.router,
    artifacts.router,
    webhooks.router,
    models.router,
    studio.router,
)
