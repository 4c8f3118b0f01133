"""Artifacts: upload, metadata, lineage, and the bytes with HTTP range requests so a
player can seek and stream. Only a 64-hex id reaches the store, so no request can
name a file outside it; an artifact no task or intent of the caller's studio made,
bound or uploaded answers 404."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Header, Request, Response
from fastapi.responses import StreamingResponse

from api.deps import ArtifactPath, CurrentStudio, ServicesDep, studio_of
from api.errors import ERROR_RESPONSES, ApiError
from api.schemas.artifacts import ArtifactPublic, LineagePublic
from projections.lineage import trace_artifact

router = APIRouter(tags=["artifacts"], responses=ERROR_RESPONSES)

_MEDIA_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}/[a-z0-9][a-z0-9!#$&^_.+-]{0,63}$")
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
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
async def upload(request: Request, principal: CurrentStudio, found: ServicesDep) -> ArtifactPublic:
    media_type = (request.headers.get("content-type") or "application/octet-stream").split(";")[0]
    media_type = media_type.strip().lower()
    if not _MEDIA_TYPE.match(media_type):
        raise ApiError(
            422, f"Content-Type {media_type!r} is not a media type", field="content-type"
        )
    data = await request.body()
    if not data:
        raise ApiError(422, "the body is empty: send the artifact's bytes", field="(body)")
    artifact = await found.artifacts.put(data, media_type)
    await found.tenancy.grant(studio_of(principal), artifact)
    return ArtifactPublic.of(artifact, await found.artifacts.metadata(artifact))


@router.get("/artifacts/{artifact}", response_model=ArtifactPublic, summary="What an artifact is")
async def metadata(
    artifact: ArtifactPath, principal: CurrentStudio, found: ServicesDep
) -> ArtifactPublic:
    await found.tenancy.require_artifact(studio_of(principal), artifact)
    return ArtifactPublic.of(artifact, await found.artifacts.metadata(artifact))


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
    principal: CurrentStudio,
    found: ServicesDep,
    range_header: Annotated[str | None, Header(alias="Range", max_length=200)] = None,
    if_none_match: Annotated[str | None, Header(alias="If-None-Match", max_length=200)] = None,
) -> Response:
    await found.tenancy.require_artifact(studio_of(principal), artifact)
    described = await found.artifacts.metadata(artifact)
    size = described.size
    headers = {
        "Accept-Ranges": "bytes",
        "ETag": f'"{artifact}"',
        "Cache-Control": "private, max-age=31536000, immutable",
    }
    if if_none_match is not None and f'"{artifact}"' in if_none_match:
        return Response(status_code=304, headers=headers)
    wanted = byte_range(range_header, size)
    if wanted is None:
        chunks = await found.artifacts.open_range(artifact)
        headers["Content-Length"] = str(size)
        return StreamingResponse(chunks, media_type=described.media_type, headers=headers)
    start, stop = wanted
    chunks = await found.artifacts.open_range(artifact, start, stop)
    headers["Content-Length"] = str(stop - start)
    headers["Content-Range"] = f"bytes {start}-{stop - 1}/{size}"
    return StreamingResponse(
        chunks, status_code=206, media_type=described.media_type, headers=headers
    )


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The one byte range asked for as [start, stop), or None for the whole artifact.

    A header that is not a single `bytes=` range is ignored, as RFC 9110 allows;
    a range that starts past the end is refused with 416.
    """
    match = _RANGE.match(header.strip()) if header else None
    if match is None:
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:
        suffix = int(last)
        if suffix == 0:
            raise _unsatisfiable(header or "", size)
        return max(size - suffix, 0), size
    start = int(first)
    stop = size if not last else min(int(last) + 1, size)
    if start >= size or stop <= start:
        raise _unsatisfiable(header or "", size)
    return start, stop


def _unsatisfiable(header: str, size: int) -> ApiError:
    return ApiError(
        416,
        f"range {header!r} lies outside the artifact of {size} bytes",
        headers={"Content-Range": f"bytes */{size}"},
    )


@router.get(
    "/artifacts/{artifact}/lineage",
    response_model=LineagePublic,
    summary="Where an artifact came from: tasks, models, providers, back to the intents",
)
async def lineage(
    artifact: ArtifactPath, principal: CurrentStudio, found: ServicesDep
) -> LineagePublic:
    studio = studio_of(principal)
    await found.tenancy.require_artifact(studio, artifact)
    return LineagePublic.of(await trace_artifact(found.read_models, artifact, studio))
