"""Artifact stores: immutable media files addressed by sha256."""

from adapters.artifacts.filesystem import FilesystemArtifactStore

__all__ = ["FilesystemArtifactStore"]
