"""What an artifact is, beyond its bytes: media type, size and what a PyAV probe finds
(duration, frame rate, picture size, sample rate, channels, codec).

Also the store surface the HTTP layer needs on top of `engine.ports.ArtifactStore`:
metadata without reading the bytes, and byte ranges for partial responses.
"""

from __future__ import annotations

import io
import logging
from collections.abc import AsyncIterator
from fractions import Fraction
from typing import Protocol

import av
import msgspec

from engine.ports import ArtifactStore

log = logging.getLogger("scenestate.artifacts")

PROBED_FAMILIES = ("audio/", "video/", "image/")


class ArtifactMetadata(msgspec.Struct, frozen=True):
    """Facts about one artifact; a fact the probe could not find (or that does not
    apply, such as the frame rate of a still image) is None."""

    media_type: str
    size: int
    duration: float | None = None  # seconds
    fps: float | None = None
    width: int | None = None
    height: int | None = None
    sample_rate: int | None = None
    channels: int | None = None
    codec: str | None = None  # the first stream's: video for video, audio for audio


class MediaArtifactStore(ArtifactStore, Protocol):
    """An artifact store that can also describe artifacts and serve parts of them."""

    async def metadata(self, artifact: str) -> ArtifactMetadata:
        """What was recorded when the artifact was put; NotFound when there is none."""
        ...

    async def open_range(
        self, artifact: str, start: int = 0, end: int | None = None
    ) -> AsyncIterator[bytes]:
        """The bytes `start` (inclusive) to `end` (exclusive, None for the end of the
        artifact) in chunks; NotFound before any chunk when there is no artifact,
        ValueError when the range does not fit inside it."""
        ...


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
    except (av.FFmpegError, ValueError, OSError) as exc:
        log.warning("could not probe a %s artifact of %d bytes: %s", media_type, len(data), exc)
        return plain


def _probe(data: bytes, media_type: str) -> ArtifactMetadata:
    with av.open(io.BytesIO(data), mode="r") as container:
        video = next(iter(container.streams.video), None)
        audio = next(iter(container.streams.audio), None)
        still = media_type.startswith("image/")
        first = video if video is not None else audio
        return ArtifactMetadata(
            media_type=media_type,
            size=len(data),
            duration=None if still else _duration(container),
            fps=None if still or video is None else _fps(video.average_rate or video.guessed_rate),
            width=video.width if video is not None else None,
            height=video.height if video is not None else None,
            sample_rate=audio.sample_rate if audio is not None else None,
            channels=audio.channels if audio is not None else None,
            codec=first.codec_context.name if first is not None else None,
        )


def _duration(container: av.container.InputContainer) -> float | None:
    # The longest stream decides: a clip padded with silence lasts as long as its audio.
    longest = 0.0
    for stream in (*container.streams.video, *container.streams.audio):
        if stream.duration is not None and stream.time_base is not None:
            longest = max(longest, float(stream.duration * stream.time_base))
    if longest == 0.0 and container.duration is not None:
        longest = container.duration / av.time_base
    return round(longest, 6) if longest > 0 else None


def _fps(rate: Fraction | None) -> float | None:
    return round(float(rate), 6) if rate else None


def encode_metadata(metadata: ArtifactMetadata) -> bytes:
    return msgspec.json.encode(metadata)


def decode_metadata(raw: bytes | str) -> ArtifactMetadata:
    return msgspec.json.decode(raw, type=ArtifactMetadata)
