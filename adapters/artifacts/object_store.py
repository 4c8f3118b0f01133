"""Artifacts in a NATS JetStream Object Store, so workers on other machines share them
with no shared disk.

One bucket, `<prefix>_artifacts`; each object is named by the sha256 of its bytes
and carries its `ArtifactMetadata` (as JSON) in the object's description. The
object store cuts large artifacts into chunks and checks their digest on read.
Two workers putting the same artifact at the same moment both upload it and the
last one's copy wins; the bytes are the same either way.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import re
from collections.abc import AsyncIterator

import msgspec
import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client as NATS
from nats.js import api as js_api
from nats.js.object_store import OBJ_CHUNKS_PRE_TEMPLATE, ObjectStore

from adapters._failures import translates_failures
from adapters.artifacts.metadata import (
    ArtifactMetadata,
    check_range,
    decode_metadata,
    describe,
    encode_metadata,
)
from engine.errors import NotFound

__all__ = ["JetStreamArtifactStore"]

_SHA256 = re.compile(r"^[0-9a-f]{64}\Z")
_PREFIX = re.compile(r"^[A-Za-z0-9_-]+\Z")
_STORAGE = {"file": js_api.StorageType.FILE, "memory": js_api.StorageType.MEMORY}
# Well under the server's default 1 MB message limit.
CHUNK = 256 * 1024


@translates_failures("artifact store", (OSError, nats.errors.Error))
class JetStreamArtifactStore:
    """A `MediaArtifactStore` on a JetStream Object Store; connects on first use.

    Options: `prefix` (the bucket is `<prefix>_artifacts`, default "scenestate"),
    `storage` ("file" or "memory"), `request_timeout` (per server request and per
    chunk while reading, default 5 s).
    """

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "scenestate",
        storage: str = "file",
        request_timeout: float = 5.0,
    ) -> None:
        if not _PREFIX.match(prefix):
            raise ValueError(f"prefix {prefix!r} may hold only letters, digits, '_' and '-'")
        if storage not in _STORAGE:
            raise ValueError(f"storage is 'file' or 'memory', not {storage!r}")
        self.url = url
        self.bucket = f"{prefix}_artifacts"
        self.request_timeout = request_timeout
        self._storage = _STORAGE[storage]
        self._nc: NATS | None = None
        self._store: ObjectStore | None = None
        self._connecting = asyncio.Lock()
        self._closed = False

    async def put(self, data: bytes, media_type: str) -> str:
        artifact = hashlib.sha256(data).hexdigest()
        store = await self._connected()
        if await self._info(store, artifact) is not None:
            return artifact
        metadata = await asyncio.to_thread(describe, data, media_type)
        meta = js_api.ObjectMeta(
            name=artifact,
            description=encode_metadata(metadata).decode(),
            options=js_api.ObjectMetaOptions(max_chunk_size=CHUNK),
        )
        await store.put(artifact, data, meta=meta)
        return artifact

    async def get(self, artifact: str) -> bytes:
        _check_name(artifact)
        store = await self._connected()
        sink = io.BytesIO()
        try:
            # writeinto: the client would otherwise grow one bytes object chunk by chunk
            await store.get(artifact, writeinto=sink)
        except nats.js.errors.NotFoundError:
            raise NotFound(f"no artifact {artifact}") from None
        return sink.getvalue()

    async def exists(self, artifact: str) -> bool:
        _check_name(artifact)
        return await self._info(await self._connected(), artifact) is not None

    async def metadata(self, artifact: str) -> ArtifactMetadata:
        _check_name(artifact)
        info = await self._info(await self._connected(), artifact)
        if info is None:
            raise NotFound(f"no artifact {artifact}")
        try:
            return decode_metadata(info.description or "")
        except msgspec.DecodeError:
            # an object some other program put into the bucket
            return ArtifactMetadata("application/octet-stream", info.size or 0)

    async def open_range(
        self, artifact: str, start: int = 0, end: int | None = None
    ) -> AsyncIterator[bytes]:
        _check_name(artifact)
        info = await self._info(await self._connected(), artifact)
        if info is None:
            raise NotFound(f"no artifact {artifact}")
        stop = check_range(artifact, start, end, info.size or 0)
        return self._chunks(info, start, stop)

    async def close(self, delete: bool = False) -> None:
        """Disconnect; `delete=True` also removes the bucket and every artifact in it
        (tests use it; production never should)."""
        self._closed = True
        nc = self._nc
        if nc is None and delete:
            nc = await nats.connect(self.url, allow_reconnect=False)
        if nc is None:
            return
        try:
            if delete:
                js = nc.jetstream(timeout=self.request_timeout)
                with contextlib.suppress(nats.js.errors.NotFoundError):
                    await js.delete_object_store(self.bucket)
        finally:
            await nc.close()
            self._nc = self._store = None

    async def _connected(self) -> ObjectStore:
        if self._closed:
            raise RuntimeError(f"the artifact store on bucket {self.bucket} is closed")
        if self._store is None:
            async with self._connecting:  # one connection, however many callers wait
                if self._store is None:
                    await self._connect()
        assert self._store is not None
        return self._store

    async def _connect(self) -> None:
        nc = await nats.connect(
            self.url,
            name=f"scenestate-artifacts-{self.bucket}",
            allow_reconnect=True,
            max_reconnect_attempts=-1,
        )
        try:
            js = nc.jetstream(timeout=self.request_timeout)
            try:
                store = await js.object_store(self.bucket)
            except nats.js.errors.BucketNotFoundError:
                config = js_api.ObjectStoreConfig(storage=self._storage)
                store = await js.create_object_store(self.bucket, config=config)
        except BaseException:
            await nc.close()
            raise
        self._nc, self._store = nc, store

    async def _info(self, store: ObjectStore, artifact: str) -> js_api.ObjectInfo | None:
        try:
            return await store.get_info(artifact)
        except nats.js.errors.NotFoundError:
            return None

    async def _chunks(self, info: js_api.ObjectInfo, start: int, stop: int) -> AsyncIterator[bytes]:
        """Read the object's chunks in order, yielding only the part inside the range
        and stopping once past it."""
        if stop <= start:
            return
        assert self._nc is not None
        js = self._nc.jetstream(timeout=self.request_timeout)
        subject = OBJ_CHUNKS_PRE_TEMPLATE.format(bucket=self.bucket, obj=info.nuid)
        subscription = await js.subscribe(subject, ordered_consumer=True)
        try:
            offset = 0
            for _ in range(info.chunks or 0):
                message = await subscription.next_msg(timeout=self.request_timeout)
                chunk, offset = message.data, offset + len(message.data)
                head = offset - len(chunk)
                if offset > start:
                    yield chunk[max(start - head, 0) : stop - head]
                if offset >= stop:
                    return
        finally:
            await subscription.unsubscribe()


def _check_name(artifact: str) -> None:
    if not isinstance(artifact, str) or not _SHA256.match(artifact):
        raise ValueError(f"{artifact!r} is not an artifact id (64 lowercase hex digits)")
