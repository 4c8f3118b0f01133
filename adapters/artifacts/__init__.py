"""Artifact stores: immutable media files addressed by sha256, with their metadata.

`FilesystemArtifactStore` keeps them on a local disk; `JetStreamArtifactStore` in a
NATS JetStream Object Store, for workers on machines with no shared disk. Both are
`MediaArtifactStore`s: they also describe artifacts and serve byte ranges.
"""

from adapters.artifacts.filesystem import FilesystemArtifactStore
from adapters.artifacts.metadata import ArtifactMetadata, MediaArtifactStore
from adapters.artifacts.object_store import JetStreamArtifactStore

__all__ = [
    "ArtifactMetadata",
    "FilesystemArtifactStore",
    "JetStreamArtifactStore",
    "MediaArtifactStore",
]
