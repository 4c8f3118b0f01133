"""Generations of a projection: the one queries read (`active`) and rebuilds beside it."""

from __future__ import annotations

import msgspec

from engine.errors import NotFound
from projections.ports import ACTIVE, ReadModelView


class Generation(msgspec.Struct, frozen=True):
    projection: str
    generation: int
    version: int
    role: str
    position: int
    error: str | None = None


async def list_generations(read_models: ReadModelView) -> list[Generation]:
    records = await read_models.generations()
    found = [msgspec.convert(record, Generation) for record in records]
    return sorted(found, key=lambda g: (g.projection, g.generation))


async def active_generation(read_models: ReadModelView, projection: str) -> int:
    for found in await list_generations(read_models):
        if found.projection == projection and found.role == ACTIVE:
            return found.generation
    raise NotFound(
        f"projection {projection!r} has no read model yet; `scenestate projections` builds it"
    )
