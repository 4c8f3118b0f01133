"""Artifacts: upload one, describe it, read its bytes (whole or a byte range), and
trace its lineage back to the intents. An artifact no task or intent of the caller's
studio made, bound or uploaded is NotFound."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import msgspec

from api.services import Caller, Services
from api.services.ids import by_prefix
from engine.errors import InvalidIntent, ScenestateError
from engine.ports import ArtifactMetadata
from projections.lineage import trace_artifact
from projections.lineage_records import Lineage

FULL = 64  # hex digits of a sha256
_MEDIA_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}/[a-z0-9][a-z0-9!#$&^_.+-]{0,63}$")


class Described(msgspec.Struct, frozen=True):
    artifact: str
    metadata: ArtifactMetadata


class RangeNotSatisfiable(ScenestateError):
    """A byte range that lies outside the artifact."""

    def __init__(self, header: str, size: int) -> None:
        super().__init__(f"range {header!r} lies outside the artifact of {size} bytes")
        self.size = size


def media_type_of(content_type: str | None) -> str:
    """The media type of a Content-Type header (parameters dropped)."""
    media_type = (content_type or "application/octet-stream").split(";")[0].strip().lower()
    if not _MEDIA_TYPE.match(media_type):
        raise InvalidIntent("content-type", f"Content-Type {media_type!r} is not a media type")
    return media_type


async def upload(services: Services, caller: Caller, data: bytes, media_type: str) -> Described:
    if not data:
        raise InvalidIntent("(body)", "the body is empty: send the artifact's bytes")
    artifact = await services.artifacts.put(data, media_type)
    await services.tenancy.grant(caller.studio, artifact)
    return Described(artifact, await services.artifacts.metadata(artifact))


async def resolve(services: Services, caller: Caller, given: str) -> str:
    """The caller's artifact named by `given`: its sha256, or a unique start of it."""
    if len(given) == FULL:
        return given
    known = await services.tenancy_store.artifacts_starting(caller.studio, given)
    return by_prefix(given, known, "artifact", "artifact")


async def describe(services: Services, caller: Caller, artifact: str) -> Described:
    artifact = await resolve(services, caller, artifact)
    await services.tenancy.require_artifact(caller.studio, artifact)
    return Described(artifact, await services.artifacts.metadata(artifact))


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The one byte range asked for as [start, stop), or None for the whole artifact.

    A header that is not a single `bytes=` range is ignored, as RFC 9110 allows;
    a range that starts past the end is refused (RangeNotSatisfiable).
    """
    match = re.match(r"^bytes=(\d*)-(\d*)$", header.strip()) if header else None
    if match is None:
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:
        suffix = int(last)
        if suffix == 0:
            raise RangeNotSatisfiable(header or "", size)
        return max(size - suffix, 0), size
    start = int(first)
    stop = size if not last else min(int(last) + 1, size)
    if start >= size or stop <= start:
        raise RangeNotSatisfiable(header or "", size)
    return start, stop


async def read(
    services: Services, artifact: str, wanted: tuple[int, int] | None
) -> AsyncIterator[bytes]:
    """The artifact's bytes, or the range `wanted` of them, in chunks."""
    if wanted is None:
        return await services.artifacts.open_range(artifact)
    return await services.artifacts.open_range(artifact, *wanted)


async def lineage(services: Services, caller: Caller, artifact: str) -> Lineage:
    artifact = await resolve(services, caller, artifact)
    await services.tenancy.require_artifact(caller.studio, artifact)
    return await trace_artifact(services.read_models, artifact, caller.studio)
