"""Making a film of an exact picture format: frame rate, size (letterboxed or cropped),
yuv420p, an exact number of frames (trimmed, or padded by holding the last frame) and a
48 kHz stereo AAC sound track exactly as long as the picture.

`normalize` and `trim_pad` are the operations; `redraw` is the pass they share with
captions, overlays and the final encodes.
"""

from __future__ import annotations

import threading
from pathlib import Path

from av.container import InputContainer

from adapters.media.failures import bad_input, open_input
from adapters.media.mp4 import INTERMEDIATE, VIDEO_MP4, Encoding, Mp4Writer
from adapters.media.params import Inputs, Params, choice, frame_rate, seconds, side
from adapters.media.probe import require_video, video_origin, video_seconds
from adapters.media.render import Layers, Picture, render_picture
from adapters.media.sound import (
    CHANNELS,
    RATE,
    Samples,
    decode_sound,
    fitted,
    sample_count,
    silence,
)

FITS = ("letterbox", "crop")


def normalize(params: Params, inputs: Inputs, target: Path, stop: threading.Event) -> str:
    """Input "video" at the params' fps, width, height and duration."""
    rate = frame_rate(params)
    width, height = side(params, "width"), side(params, "height")
    duration = seconds(params, "duration")
    fit = choice(params, "fit", FITS, "letterbox")
    picture = Picture(rate, width, height, round(duration * rate), fit)
    redraw(inputs["video"], "video", target, picture, INTERMEDIATE, stop=stop)
    return VIDEO_MP4


def trim_pad(params: Params, inputs: Inputs, target: Path, stop: threading.Event) -> str:
    """Input "video" cut or padded to the params' duration, at its own rate and size
    unless fps, width or height are given."""
    with open_input(inputs["video"], "video") as source:
        own = source_picture(source, "video")
    rate = frame_rate(params) if "fps" in params else own.rate
    width = side(params, "width") if "width" in params else own.width
    height = side(params, "height") if "height" in params else own.height
    duration = seconds(params, "duration")
    picture = Picture(rate, width, height, round(duration * rate))
    redraw(inputs["video"], "video", target, picture, INTERMEDIATE, stop=stop)
    return VIDEO_MP4


def source_picture(container: InputContainer, name: str) -> Picture:
    """The picture format input `name` has now (odd sizes rounded up to even)."""
    stream = require_video(container, name)
    rate = stream.average_rate or stream.guessed_rate
    if not rate:
        raise bad_input(name, "does not say its frame rate")
    width, height = stream.codec_context.width, stream.codec_context.height
    frames = round(video_seconds(container, stream, name) * rate)
    return Picture(rate, width + width % 2, height + height % 2, frames)


def redraw(
    path: Path,
    name: str,
    target: Path,
    picture: Picture,
    encoding: Encoding,
    layers: Layers | None = None,
    stop: threading.Event | None = None,
) -> None:
    """Re-encode input `name` as `picture` with `layers` laid over it. Its sound is
    copied when it is already AAC 48 kHz stereo lasting as long as the new picture, and
    otherwise decoded, resampled and cut or padded to the picture (silence if none)."""
    with open_input(path, name) as source, Mp4Writer(target, stop) as writer:
        writer.encoded_video(encoding, picture.rate, picture.width, picture.height)
        if _sound_fits(source, name, picture):
            writer.copied_sound(source, name)
        else:
            writer.encoded_sound(_sound_for(source, name, picture), encoding)
        source.seek(0)
        render_picture(source, name, picture, writer, layers)
        writer.finish()


def _sound_fits(source: InputContainer, name: str, picture: Picture) -> bool:
    if not source.streams.audio:
        return False
    audio = source.streams.audio[0].codec_context
    if (audio.name, audio.sample_rate, audio.channels) != ("aac", RATE, CHANNELS):
        return False
    now = video_seconds(source, require_video(source, name), name)
    return abs(now - picture.seconds) < 0.5 / float(picture.rate)


def _sound_for(source: InputContainer, name: str, picture: Picture) -> Samples:
    stream = require_video(source, name)
    origin = video_origin(stream)
    sound = decode_sound(source, name, origin)
    length = sample_count(picture.seconds)
    return fitted(silence(length) if sound is None else sound, length)
