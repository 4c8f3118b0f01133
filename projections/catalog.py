"""The read models this build keeps, and how far along each of them is."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from projections.executions import ExecutionsProjection
from projections.generations import list_generations
from projections.history import HistoryProjection
from projections.lineage import LineageProjection
from projections.ports import ACTIVE, BUILDING, ReadModelStore
from projections.projection import Projection


def default_projections() -> list[Projection]:
    return [HistoryProjection(), LineageProjection(), ExecutionsProjection()]


class ProjectionStatus(msgspec.Struct, frozen=True):
    """`lag` is how many events the active generation has still to fold; `building`
    names a rebuild under way, with its position."""

    name: str
    version: int
    active: int | None
    active_version: int | None
    position: int
    lag: int
    building: int | None
    building_position: int | None
    error: str | None


async def statuses(
    read_models: ReadModelStore, projections: Sequence[Projection], head: int
) -> list[ProjectionStatus]:
    found = await list_generations(read_models)
    report = []
    for projection in projections:
        mine = [g for g in found if g.projection == projection.name]
        active = next((g for g in mine if g.role == ACTIVE), None)
        building = next((g for g in reversed(mine) if g.role == BUILDING), None)
        errors = [g.error for g in mine if g.error]
        position = active.position if active is not None else 0
        report.append(
            ProjectionStatus(
                name=projection.name,
                version=projection.version,
                active=active.generation if active is not None else None,
                active_version=active.version if active is not None else None,
                position=position,
                lag=max(head - position, 0),
                building=building.generation if building is not None else None,
                building_position=building.position if building is not None else None,
                error=errors[-1] if errors else None,
            )
        )
    return report
