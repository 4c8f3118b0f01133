"""Artifacts: upload, metadata, lineage, and the bytes with HTTP range requests so a
player can seek and stream. Only a 64-hex id reaches the store, so no request can
name a file outside it; an artifact no task or intent of the caller's studio made,
bound or uploaded answers 404."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Header, Request, Response
from fastapi.responses import StreamingResponse

from api import stream_tokens
from api.deps import ApiDep, ArtifactPath, ContentReader, CurrentStudio, ServicesDep, StreamToken
from api.errors import ERROR_RESPONSES, ApiError
from api.schemas.artifacts import ArtifactPublic, ContentTokenPublic, LineagePublic
from api.services import artifacts

router = APIRouter(tags=["artifacts"], responses=ERROR_RESPONSES)

UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    }
}


@router.post(
    "/artifacts",
    status_code=201,
    response_model=ArtifactPublic,
    openapi_extra=UPLOAD_BODY,
    summary="Upload an artifact (the body is its bytes, Content-Type its media type)",
)
async def upload(
    request: Request, principal: CurrentStudio, services: ServicesDep
) -> ArtifactPublic:
    media_type = artifacts.media_type_of(request.headers.get("content-type"))
    made = await artifacts.upload(services, principal.caller, await request.body(), media_type)
    return ArtifactPublic.of(made.artifact, made.metadata)


@router.get("/artifacts/{artifact}", response_model=ArtifactPublic, summary="What an artifact is")
async def metadata(
    artifact: ArtifactPath, principal: CurrentStudio, services: ServicesDep
) -> ArtifactPublic:
    found = await artifacts.describe(services, principal.caller, artifact)
    return ArtifactPublic.of(found.artifact, found.metadata)


# Bytes a studio uploaded or a model made are served from the API's own origin, where
# the inspector keeps its key: never sniffed into another type, and a page among them
# (a generated surface, or an upload that says text/html) runs in a sandbox with an
# origin of its own, so its scripts cannot reach the API's origin.
CONTENT_SAFETY = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "sandbox allow-scripts",
}


@router.get(
    "/artifacts/{artifact}/content",
    responses={
        200: {"content": {"application/octet-stream": {}}, "description": "The bytes."},
        206: {"content": {"application/octet-stream": {}}, "description": "A byte range."},
        304: {"description": "Not modified (artifacts never change)."},
        416: {"description": "The range lies outside the artifact."},
    },
    summary="The artifact's bytes; honours Range and If-None-Match",
)
async def content(
    artifact: ArtifactPath,
    principal: ContentReader,
    services: ServicesDep,
    range_header: Annotated[str | None, Header(alias="Range", max_length=200)] = None,
    if_none_match: Annotated[str | None, Header(alias="If-None-Match", max_length=200)] = None,
    token: StreamToken = None,
) -> Response:
    """With the key in the Authorization header, or (a page's <video> or <img>) a
    token from `POST /artifacts/{artifact}/tokens` as `?token=`."""
    found = await artifacts.describe(services, principal.caller, artifact)
    if principal.stream is not None and principal.stream.artifact != found.artifact:
        raise ApiError(403, "this token opens another artifact's bytes")
    artifact, described = found.artifact, found.metadata
    size = described.size
    headers = {
        "Accept-Ranges": "bytes",
        "ETag": f'"{artifact}"',
        "Cache-Control": "private, max-age=31536000, immutable",
        **CONTENT_SAFETY,
    }
    if if_none_match is not None and f'"{artifact}"' in if_none_match:
        return Response(status_code=304, headers=headers)
    wanted = artifacts.byte_range(range_header, size)
    chunks = await artifacts.read(services, artifact, wanted)
    if wanted is None:
        headers["Content-Length"] = str(size)
        return StreamingResponse(chunks, media_type=described.media_type, headers=headers)
    start, stop = wanted
    headers["Content-Length"] = str(stop - start)
    headers["Content-Range"] = f"bytes {start}-{stop - 1}/{size}"
    return StreamingResponse(
        chunks, status_code=206, media_type=described.media_type, headers=headers
    )


@router.get(
    "/artifacts/{artifact}/lineage",
    response_model=LineagePublic,
    summary="Where an artifact came from: tasks, models, providers, back to the intents",
)
async def lineage(
    artifact: ArtifactPath, principal: CurrentStudio, services: ServicesDep
) -> LineagePublic:
    return LineagePublic.of(await artifacts.lineage(services, principal.caller, artifact))


@router.post(
    "/artifacts/{artifact}/tokens",
    status_code=201,
    response_model=ContentTokenPublic,
    summary="Mint a short-lived token that reads this artifact's bytes (for <video>, <img>)",
)
async def mint_content_token(
    artifact: ArtifactPath, principal: CurrentStudio, api: ApiDep
) -> ContentTokenPublic:
    found = await artifacts.describe(api.services, principal.caller, artifact)
    key = await api.keys.key(principal.key_id)
    assert key is not None  # it authenticated this very request
    token, expires = stream_tokens.mint(key.id, key.secret_hash, "", None, artifact=found.artifact)
    return ContentTokenPublic(
        token=token,
        expires_at=datetime.fromtimestamp(expires, UTC),
        content=f"/artifacts/{found.artifact}/content?token={token}",
    )
