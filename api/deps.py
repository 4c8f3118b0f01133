"""What routes ask FastAPI for: the service layer, the HTTP parts beside it, the caller
(a studio's key or the admin), and ids checked against the studio that asks.

    ServicesDep    the service layer's `Services` (every use case takes it)
    ApiDep         the HTTP parts: stream hub, keys, rate limits, webhooks, metrics
    CurrentStudio  a studio's key, authenticated and within its rate limit
    StreamReader   that, or a stream token (the stream checks the token's scope)
    ContentReader  that, or a token for one artifact's bytes (the route checks which)
    Admin          the admin key (SCENESTATE_ADMIN_KEY)
    OwnedScene     a scene id of the caller's studio (404 for anyone else's)
    BranchQuery    `?branch=`, default main
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Path, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.auth import Principal
from api.bootstrap import Api
from api.errors import ApiError
from api.metrics import add_log_context
from api.schemas.common import ARTIFACT_START_PATTERN, BRANCH_PATTERN, ID_PATTERN
from api.services import Services
from api.services.idempotency import Retry


def api_of(request: Request) -> Api:
    api: Api = request.app.state.api
    return api


ApiDep = Annotated[Api, Depends(api_of)]


def services_of(request: Request) -> Services:
    return api_of(request).services


ServicesDep = Annotated[Services, Depends(services_of)]

bearer = HTTPBearer(auto_error=False, description="A studio's API key, or the admin key.")


async def authenticated(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    """The caller the request guard authenticated before the body was read (or, for an
    app served without the guard, authenticated here)."""
    known = request.scope.get("state", {}).get("principal")
    if isinstance(known, Principal):
        return known
    api = api_of(request)
    principal = await api.keys.principal(credentials.credentials if credentials else None)
    api.limiter.take(principal)
    add_log_context(studio=principal.studio or "(admin)", key=principal.key_id)
    return principal


async def studio_key(principal: Annotated[Principal, Depends(authenticated)]) -> Principal:
    if principal.admin:
        raise ApiError(403, "the admin key manages studios and keys; use a studio's key here")
    if principal.stream is not None:
        raise ApiError(403, "a stream token opens its stream and nothing else; send the API key")
    return principal


async def stream_reader(principal: Annotated[Principal, Depends(authenticated)]) -> Principal:
    """A studio's key, or a stream token (which the stream route checks against itself)."""
    if principal.admin:
        raise ApiError(403, "use a studio's key for streams")
    return principal


async def content_reader(principal: Annotated[Principal, Depends(authenticated)]) -> Principal:
    """A studio's key, or a token minted for one artifact's bytes (which the content
    route checks against the artifact asked for); no stream token."""
    if principal.admin:
        raise ApiError(403, "the admin key manages studios and keys; use a studio's key here")
    if principal.stream is not None and principal.stream.artifact is None:
        raise ApiError(403, "a stream token opens its stream and nothing else; send the API key")
    return principal


async def admin_key(principal: Annotated[Principal, Depends(authenticated)]) -> Principal:
    if not principal.admin:
        raise ApiError(403, "only the admin key (SCENESTATE_ADMIN_KEY) may do this")
    return principal


CurrentStudio = Annotated[Principal, Depends(studio_key)]
StreamReader = Annotated[Principal, Depends(stream_reader)]
ContentReader = Annotated[Principal, Depends(content_reader)]
Admin = Annotated[Principal, Depends(admin_key)]

SceneId = Annotated[str, Path(pattern=ID_PATTERN, description="The scene's id.")]
ItemId = Annotated[str, Path(pattern=ID_PATTERN)]
ArtifactPath = Annotated[
    str,
    Path(
        pattern=ARTIFACT_START_PATTERN,
        description="sha256 of the bytes, or a unique start of it (4+ hex digits).",
    ),
]
BranchQuery = Annotated[
    str, Query(pattern=BRANCH_PATTERN, description="The branch (default: main).")
]


async def owned_scene(scene: SceneId, principal: CurrentStudio, services: ServicesDep) -> str:
    await services.tenancy.require_scene(principal.caller.studio, scene)
    return scene


OwnedScene = Annotated[str, Depends(owned_scene)]


async def streamed_scene(scene: SceneId, principal: StreamReader, services: ServicesDep) -> str:
    """A scene of the caller's studio that the caller may stream: with a stream token,
    only the token's own scene."""
    if principal.stream is not None and principal.stream.artifact is not None:
        raise ApiError(403, "this token opens one artifact's bytes only")
    if principal.stream is not None and principal.stream.scene != scene:
        raise ApiError(403, f"this stream token opens scene {principal.stream.scene!r} only")
    await services.tenancy.require_scene(principal.caller.studio, scene)
    return scene


StreamedScene = Annotated[str, Depends(streamed_scene)]
StreamToken = Annotated[
    str | None,
    Query(
        max_length=1000,
        description="A stream token (POST /streams/tokens), for clients such as the "
        "browser's EventSource that cannot send an Authorization header.",
    ),
]


IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        description="A retried POST with the same key gets the first answer; nothing runs twice.",
    ),
]


def retry_of(request: Request, idempotency_key: IdempotencyKey = None) -> Retry:
    """The request's idempotency key, and what the request was."""
    query = f"?{request.url.query}" if request.url.query else ""
    return Retry(idempotency_key, f"{request.method} {request.url.path}{query}")


RetryDep = Annotated[Retry, Depends(retry_of)]
