"""Joining clips end to end: inputs clip-001, clip-002, ... in name order.

Clips that share their codec parameters, as normalised clips do, are joined by copying
their video packets with shifted timestamps (no re-encode); other clips, or a join that
must be cut or padded to the asked duration, are decoded and re-encoded at the first
clip's format. The sound is always decoded, placed at each clip's first frame and encoded
once: copied AAC would carry each clip's encoder delay into the film and drift.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path

from adapters.media.conform import source_picture
from adapters.media.failures import open_input
from adapters.media.mp4 import INTERMEDIATE, VIDEO_MP4, Mp4Writer
from adapters.media.params import Inputs, Params, seconds
from adapters.media.probe import require_video, video_origin
from adapters.media.render import Picture, render_picture
from adapters.media.sound import Samples, decode_sound, fitted, sample_count, silence
from engine.errors import TaskFailure
from engine.tasks import ErrorKind

CLIP_PREFIX = "clip-"


@dataclass(frozen=True)
class Clip:
    name: str
    path: Path
    picture: Picture
    start: int  # the video stream's first timestamp, in its time base
    ticks: int | None  # how long the video stream lasts, in its time base
    codec: tuple[object, ...]  # everything that must match for packets to be joined


def clip_names(available: Iterable[str]) -> list[str]:
    """The clip inputs among `available`, in the order they are joined."""
    names = sorted(name for name in available if name.startswith(CLIP_PREFIX))
    if not names:
        raise TaskFailure(
            ErrorKind.INVALID_INPUT,
            "concat needs inputs named clip-001, clip-002, ...; the task has none",
        )
    return names


def concat(params: Params, inputs: Inputs, target: Path, stop: threading.Event) -> str:
    clips = [_clip(inputs[name], name) for name in clip_names(inputs)]
    rate = clips[0].picture.rate
    joined = sum(round(clip.picture.seconds * rate) for clip in clips)  # at the film's rate
    wanted = round(seconds(params, "duration") * rate) if "duration" in params else joined
    if wanted == joined and _copyable(clips):
        _join_packets(clips, target, stop)
    else:
        _join_frames(clips, wanted, target, stop)
    return VIDEO_MP4


def _clip(path: Path, name: str) -> Clip:
    with open_input(path, name) as source:
        picture = source_picture(source, name)
        stream = require_video(source, name)
        context = stream.codec_context
        codec = (
            context.name,
            context.width,
            context.height,
            context.pix_fmt,
            stream.time_base,
            stream.average_rate,
            bytes(context.extradata or b""),
        )
        return Clip(name, path, picture, stream.start_time or 0, stream.duration, codec)


def _copyable(clips: Sequence[Clip]) -> bool:
    first = clips[0]
    return first.codec[0] == "h264" and all(
        clip.codec == first.codec and clip.ticks for clip in clips
    )


def _join_packets(clips: Sequence[Clip], target: Path, stop: threading.Event) -> None:
    frames = [clip.picture.frames for clip in clips]
    sound = _film_sound(clips, frames, clips[0].picture.rate)
    first_clip = clips[0]
    with open_input(first_clip.path, first_clip.name) as first, Mp4Writer(target, stop) as writer:
        writer.copied_video(require_video(first, first_clip.name))
        writer.encoded_sound(sound, INTERMEDIATE)
        offset = 0
        for clip in clips:
            with open_input(clip.path, clip.name) as source:
                writer.copy_video(source, clip.name, shift=offset - clip.start)
            offset += clip.ticks or 0
        writer.finish()


def _join_frames(clips: Sequence[Clip], wanted: int, target: Path, stop: threading.Event) -> None:
    picture = replace(clips[0].picture, fit="letterbox")
    frames = _frames_per_clip(clips, wanted, picture.rate)
    sound = _film_sound(clips, frames, picture.rate)
    with Mp4Writer(target, stop) as writer:
        writer.encoded_video(INTERMEDIATE, picture.rate, picture.width, picture.height)
        writer.encoded_sound(sound, INTERMEDIATE)
        first = 0
        for clip, count in zip(clips, frames, strict=True):
            if count:
                with open_input(clip.path, clip.name) as source:
                    shown = replace(picture, frames=count)
                    render_picture(source, clip.name, shown, writer, first=first)
            first += count
        writer.finish()


def _frames_per_clip(clips: Sequence[Clip], wanted: int, rate: Fraction) -> list[int]:
    """How many frames of the film each clip gives: its own length at the film's rate,
    the last one cut or stretched (holding its last frame) to make `wanted` in all."""
    counts, left = [], wanted
    for clip in clips:
        count = min(left, round(clip.picture.seconds * rate))
        counts.append(count)
        left -= count
    counts[-1] += left
    return counts


def _film_sound(clips: Sequence[Clip], frames: Sequence[int], rate: Fraction) -> Samples:
    """Each clip's sound placed at its first frame and cut at its last; positions come
    from frame numbers, so no rounding accumulates along the film."""
    length = sample_count(float(sum(frames) / rate))
    film = silence(length)
    first = 0
    for clip, count in zip(clips, frames, strict=True):
        begin = sample_count(float(first / rate))
        end = sample_count(float((first + count) / rate))
        with open_input(clip.path, clip.name) as source:
            origin = video_origin(require_video(source, clip.name))
            sound = decode_sound(source, clip.name, origin)
        if sound is not None:
            film[:, begin:end] = fitted(sound, end - begin)
        first += count
    return film
