"""What routes ask FastAPI for: the process's services, the caller (a studio's key or
the admin), and ids checked against the studio that asks.

    ServicesDep    everything the lifespan opened (engine, tenancy, streams, ...)
    EngineDep      the engine alone
    CurrentStudio  a studio's key, authenticated and within its rate limit
    Admin          the admin key (SCENESTATE_ADMIN_KEY)
    OwnedScene     a scene id of the caller's studio (404 for anyone else's)
    BranchQuery    `?branch=`, default main
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Path, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from adapters.artifacts import MediaArtifactStore
from api.bootstrap import Engine
from api.errors import ApiError
from api.metrics import Metrics, add_log_context
from api.schemas.common import ARTIFACT_PATTERN, BRANCH_PATTERN, ID_PATTERN
from api.streaming import StreamHub
from api.tenancy import ArtifactGrants, KeyRing, Principal, RateLimiter, Tenancy
from api.webhooks import WebhookCenter
from projections.ports import ReadModelStore

if TYPE_CHECKING:
    from api.app import ApiOptions


@dataclass
class Services:
    engine: Engine
    artifacts: MediaArtifactStore
    tenancy: Tenancy
    keys: KeyRing
    limiter: RateLimiter
    hub: StreamHub
    grants: ArtifactGrants
    webhooks: WebhookCenter
    metrics: Metrics
    read_models: ReadModelStore
    options: ApiOptions


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


ServicesDep = Annotated[Services, Depends(services)]


def engine(request: Request) -> Engine:
    return services(request).engine


EngineDep = Annotated[Engine, Depends(engine)]

bearer = HTTPBearer(auto_error=False, description="A studio's API key, or the admin key.")


async def authenticated(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    found = services(request)
    principal = await found.keys.principal(credentials.credentials if credentials else None)
    found.limiter.take(principal)
    add_log_context(studio=principal.studio or "(admin)", key=principal.key_id)
    return principal


async def studio_key(principal: Annotated[Principal, Depends(authenticated)]) -> Principal:
    if principal.admin:
        raise ApiError(403, "the admin key manages studios and keys; use a studio's key here")
    return principal


async def admin_key(principal: Annotated[Principal, Depends(authenticated)]) -> Principal:
    if not principal.admin:
        raise ApiError(403, "only the admin key (SCENESTATE_ADMIN_KEY) may do this")
    return principal


CurrentStudio = Annotated[Principal, Depends(studio_key)]
Admin = Annotated[Principal, Depends(admin_key)]

SceneId = Annotated[str, Path(pattern=ID_PATTERN, description="The scene's id.")]
ItemId = Annotated[str, Path(pattern=ID_PATTERN)]
ArtifactPath = Annotated[str, Path(pattern=ARTIFACT_PATTERN, description="sha256 of the bytes.")]
BranchQuery = Annotated[
    str, Query(pattern=BRANCH_PATTERN, description="The branch (default: main).")
]


def studio_of(principal: Principal) -> str:
    assert principal.studio is not None  # studio_key refuses the admin
    return principal.studio


async def owned_scene(scene: SceneId, principal: CurrentStudio, found: ServicesDep) -> str:
    await found.tenancy.require_scene(studio_of(principal), scene)
    return scene


OwnedScene = Annotated[str, Depends(owned_scene)]
