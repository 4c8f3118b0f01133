"""The service layer: every use case of the application, called alike by the HTTP
routes (`api/routes/`) and the CLI (`api/cli/`), which only translate requests and
arguments in and answers out. Each use case takes the process's `Services` (built by
`api.bootstrap`) and, where someone asks, the `Caller`.

    intake        submit an intent: parse, check tenancy, decide, append, say where
    editors       the intents of this process for one scene branch, appended together
    scenes        create and list scenes; a branch's state now, at a version or a
                  moment; its history; its views at each fidelity
    branches      fork, merge, resolve conflicts, list branches, diff two states
    executions    progress of executions and tasks; cancel; retry or cancel a task;
                  follow one to its end
    artifacts     upload, describe, read a byte range, trace the lineage
    studios       studios and their API keys
    webhooks      register, list and delete webhooks; the delivery log
    tenancy       which scenes and artifacts belong to which studio
    chosen_models a studio's model choices as planning reads them, kept briefly
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from api.config import Settings
from api.services.chosen_models import ChosenModels
from api.services.editors import SceneEditors
from api.services.tenancy import ArtifactGrants, Tenancy
from engine.ports import (
    EventStore,
    MediaArtifactStore,
    TaskBus,
    TenancyStore,
    WebhookTransport,
    WorkCache,
)
from engine.service import SceneService
from projections.ports import ReadModelStore


@dataclass(frozen=True)
class Caller:
    """Who asks: a studio, and the actor recorded on what the request appends."""

    studio: str
    actor: str


class PositionWatch(Protocol):
    """Something that sees every event as it is numbered (the API's stream hub), so an
    append's global positions can be learnt without asking the store."""

    async def position_of(self, scene: str, branch: str, version: int) -> int: ...


@dataclass(frozen=True)
class Services:
    """The ports of one process and the engine service over them."""

    settings: Settings
    store: EventStore
    work_cache: WorkCache
    bus: TaskBus
    artifacts: MediaArtifactStore
    tenancy_store: TenancyStore
    tenancy: Tenancy
    grants: ArtifactGrants
    read_models: ReadModelStore
    scenes: SceneService
    chosen_models: ChosenModels
    webhook_transport: WebhookTransport
    volatile_bus: bool  # an in-process bus: its queue is gone when the process stops
    positions: PositionWatch | None = None
    editors: SceneEditors = field(default_factory=SceneEditors)


__all__ = ["Caller", "PositionWatch", "Services"]
