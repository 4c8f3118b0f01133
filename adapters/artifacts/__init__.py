"""Artifact stores: immutable media files addressed by sha256, with their metadata.

`FilesystemArtifactStore` keeps them on a local disk; `JetStreamArtifactStore` in a
NATS JetStream Object Store, for workers on machines with no shared disk. Both are
`MediaArtifactStore`s: they also describe artifacts and serve byte ranges.
"""

from typing import TYPE_CHECKING, Any

from adapters.artifacts.filesystem import FilesystemArtifactStore
from adapters.artifacts.metadata import ArtifactMetadata, MediaArtifactStore

if TYPE_CHECKING:
    from adapters.artifacts.object_store import JetStreamArtifactStore

__all__ = [
    "ArtifactMetadata",
    "FilesystemArtifactStore",
    "JetStreamArtifactStore",
    "MediaArtifactStore",
]


def __getattr__(name: str) -> Any:
    # nats-py loads only where the Object Store is used
    if name == "JetStreamArtifactStore":
        from adapters.artifacts.object_store import JetStreamArtifactStore

        return JetStreamArtifactStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
