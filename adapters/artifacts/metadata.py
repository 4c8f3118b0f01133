"""What an artifact is, beyond its bytes: media type, size and what a PyAV probe finds
(duration, frame rate, picture size, sample rate, channels, codec).

The records and the store surface (`ArtifactMetadata`, `MediaArtifactStore`) are the
core's (`engine.ports`); this module makes the records and checks byte ranges.
"""

from __future__ import annotations

import logging

import msgspec

from engine.errors import TaskFailure
from engine.ports import ArtifactMetadata, MediaArtifactStore

log = logging.getLogger("scenestate.artifacts")

PROBED_FAMILIES = ("audio/", "video/", "image/")


def check_range(artifact: str, start: int, end: int | None, size: int) -> int:
    """The exclusive end of a byte range, once it is known to lie inside the artifact."""
    stop = size if end is None else end
    if start < 0 or stop < start or stop > size:
        raise ValueError(
            f"byte range {start}..{end} does not fit artifact {artifact} of {size} bytes"
        )
    return stop


def describe(data: bytes, media_type: str) -> ArtifactMetadata:
    """Metadata for `data`; media files are probed, anything else gets type and size only.

    A media file the probe cannot read is still described (by type and size): storing
    what a worker made must not fail because it is unusual.
    """
    plain = ArtifactMetadata(media_type=media_type, size=len(data))
    if not media_type.startswith(PROBED_FAMILIES):
        return plain
    try:
        return _probe(data, media_type)
    except (TaskFailure, ValueError, OSError) as exc:
        log.warning("could not probe a %s artifact of %d bytes: %s", media_type, len(data), exc)
        return plain


def _probe(data: bytes, media_type: str) -> ArtifactMetadata:
    from adapters.media import probe_media  # PyAV: loaded only when a media file is stored

    info = probe_media(data)
    return ArtifactMetadata(
        media_type=media_type,
        size=len(data),
        duration=info.duration,
        fps=info.fps,
        width=info.width,
        height=info.height,
        sample_rate=info.sample_rate,
        channels=info.channels,
        codec=info.video_codec or info.audio_codec,
    )


def encode_metadata(metadata: ArtifactMetadata) -> bytes:
    return msgspec.json.encode(metadata)


def decode_metadata(raw: bytes | str) -> ArtifactMetadata:
    return msgspec.json.decode(raw, type=ArtifactMetadata)


__all__ = [
    "ArtifactMetadata",
    "MediaArtifactStore",
    "check_range",
    "decode_metadata",
    "describe",
    "encode_metadata",
]
