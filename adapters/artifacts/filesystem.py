"""Artifacts on a local disk, content-addressed: `<root>/ab/cdef...` for sha256 `abcdef...`.

Writes go to a temporary file in the same directory and are renamed into place,
so a reader never sees half a file. Only 64-hex names are accepted, so no name a
caller supplies can reach outside the store.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import tempfile
from pathlib import Path

from engine.errors import NotFound

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class FilesystemArtifactStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, artifact: str) -> Path:
        """Where an artifact's bytes live (whether or not they exist yet)."""
        if not isinstance(artifact, str) or not _SHA256.match(artifact):
            raise ValueError(f"{artifact!r} is not an artifact id (64 lowercase hex digits)")
        return self.root / artifact[:2] / artifact[2:]

    async def put(self, data: bytes, media_type: str) -> str:
        return await asyncio.to_thread(self._put, data, media_type)

    def _put(self, data: bytes, media_type: str) -> str:
        artifact = hashlib.sha256(data).hexdigest()
        target = self.path(artifact)
        if target.exists():
            return artifact
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        target.with_name(target.name + ".type").write_text(media_type)
        return artifact

    async def get(self, artifact: str) -> bytes:
        target = self.path(artifact)
        try:
            return await asyncio.to_thread(target.read_bytes)
        except FileNotFoundError:
            raise NotFound(f"no artifact {artifact}") from None

    async def exists(self, artifact: str) -> bool:
        return self.path(artifact).exists()

    def media_type(self, artifact: str) -> str:
        kept = self.path(artifact).with_name(self.path(artifact).name + ".type")
        return kept.read_text() if kept.exists() else "application/octet-stream"
