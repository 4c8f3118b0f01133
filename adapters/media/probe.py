"""What a media file holds: kind, duration, frame rate, picture size, sample rate,
channels and codecs, as found by PyAV."""

from __future__ import annotations

import io
from pathlib import Path

import av
import msgspec
from av.audio.stream import AudioStream
from av.container import InputContainer
from av.video.stream import VideoStream

from adapters.media.failures import bad_input, not_media, open_input, reading

# demuxers that read a single still picture
_STILL_FORMATS = ("image2", "png_pipe", "jpeg_pipe", "webp_pipe", "bmp_pipe", "tiff_pipe")


class MediaInfo(msgspec.Struct, frozen=True):
    """A probe's findings; a fact that does not apply (the frame rate of audio) is None."""

    media_type: str  # "video", "audio" or "image"
    duration: float | None = None  # seconds; of the picture for video, of the sound for audio
    fps: float | None = None
    width: int | None = None
    height: int | None = None
    sample_rate: int | None = None
    channels: int | None = None
    video_codec: str | None = None
    audio_codec: str | None = None


def probe_media(source: Path | str | bytes, name: str = "media") -> MediaInfo:
    """Probe a file (by path) or bytes; a damaged or non-media source fails naming `name`."""
    if isinstance(source, bytes):
        try:
            container = av.open(io.BytesIO(source), "r")
        except av.FFmpegError as error:
            raise not_media(name, error) from None
    else:
        container = open_input(Path(source), name)
    with container, reading(name):
        return describe(container, name)


def describe(container: InputContainer, name: str) -> MediaInfo:
    video = first_video(container)
    audio = container.streams.audio[0] if container.streams.audio else None
    if video is None and audio is None:
        raise bad_input(name, "holds neither pictures nor sound")
    still = container.format.name in _STILL_FORMATS
    kind = "image" if still else "video" if video is not None else "audio"
    main = video if video is not None and not still else audio
    return MediaInfo(
        media_type=kind,
        duration=None if main is None else stream_seconds(container, main),
        fps=None if video is None or still else _fps(video),
        width=None if video is None else video.codec_context.width,
        height=None if video is None else video.codec_context.height,
        sample_rate=None if audio is None else audio.codec_context.sample_rate,
        channels=None if audio is None else audio.codec_context.channels,
        video_codec=None if video is None else video.codec_context.name,
        audio_codec=None if audio is None else audio.codec_context.name,
    )


def first_video(container: InputContainer) -> VideoStream | None:
    """The first video stream that is moving picture, not cover art."""
    for stream in container.streams.video:
        if not stream.disposition & 0x400:  # AV_DISPOSITION_ATTACHED_PIC
            return stream
    return None


def stream_seconds(container: InputContainer, stream: VideoStream | AudioStream) -> float | None:
    """How long a stream lasts, from its own header, else from the container's."""
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / 1_000_000
    return None


def video_seconds(container: InputContainer, stream: VideoStream, name: str) -> float:
    """How long the picture of input `name` lasts; fails when no header says."""
    found = stream_seconds(container, stream)
    if found is None or found <= 0:
        raise bad_input(name, "does not say how long its video lasts")
    return found


def video_origin(stream: VideoStream) -> float:
    """Where the video stream starts on its container's clock, in seconds: the zero of
    the film's timeline, to which its sound is aligned."""
    if stream.start_time is None or stream.time_base is None:
        return 0.0
    return float(stream.start_time * stream.time_base)


def require_video(container: InputContainer, name: str) -> VideoStream:
    stream = first_video(container)
    if stream is None:
        raise bad_input(name, "has no video stream")
    return stream


def _fps(stream: VideoStream) -> float | None:
    rate = stream.average_rate or stream.guessed_rate
    return None if not rate else float(rate)
