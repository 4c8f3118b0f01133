"""The picture pass every re-encoding operation shares: decode a video, show each source
frame for as many output frames as the target frame rate asks (dropping or holding
frames), fit it to the target size, lay patches over it, and encode it."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction

from av.container import InputContainer
from av.video.frame import VideoFrame
from av.video.stream import VideoStream

from adapters.media.failures import bad_input, reading
from adapters.media.mp4 import CUT_SHORT, Mp4Writer
from adapters.media.patches import Patch, blend
from adapters.media.picture import copy_frame, fit_frame, ready_to_encode
from adapters.media.probe import require_video, stream_seconds

Layers = Callable[[float], Sequence[Patch]]  # what to lay over the frame shown at a time


@dataclass(frozen=True)
class Picture:
    """The picture an operation makes: frame rate, size, and exactly how many frames."""

    rate: Fraction
    width: int
    height: int
    frames: int
    fit: str = "letterbox"

    @property
    def seconds(self) -> float:
        return float(self.frames / self.rate)


def timed_frames(
    container: InputContainer, stream: VideoStream, name: str
) -> Iterator[tuple[Fraction, VideoFrame]]:
    """Decoded frames of input `name` with their time (seconds) from the stream's start.
    A file whose pictures stop well before its header says they should (a truncated
    download, say) fails rather than being padded as if nothing were wrong."""
    stream.thread_type = "AUTO"
    base = stream.time_base or Fraction(1, 90_000)
    origin = stream.start_time
    rate = stream.average_rate or Fraction(25)
    time = Fraction(0)
    with reading(name):
        for index, frame in enumerate(container.decode(stream)):
            if frame.pts is None:
                time = index / rate
            else:
                origin = frame.pts if origin is None else origin
                time = (frame.pts - origin) * base
            yield time, frame
    promised = stream_seconds(container, stream)
    if promised is not None and float(time + CUT_SHORT / rate) < promised:
        raise bad_input(
            name,
            f"is cut short: its header says {promised:.3f} s of video, "
            f"but the pictures stop at {float(time):.3f} s",
        )


def cadence(
    timed: Iterator[tuple[Fraction, VideoFrame]], rate: Fraction, total: int
) -> Iterator[tuple[VideoFrame, int]]:
    """Each source frame that is shown, with how many of the `total` output frames show it.

    Output frame i shows the latest source frame due by i/rate (with a quarter-frame of
    slack for jittery timestamps); the first source frame also covers a late start, and
    the last is held to the end. Decoding stops once every output frame is assigned."""
    slack = Fraction(1, 4) / rate
    held: VideoFrame | None = None
    shown = 0
    for time, frame in timed:
        if shown >= total:
            return
        if held is not None:
            takeover = min(total, max(shown, math.ceil((time - slack) * rate)))
            if takeover > shown:
                yield held, takeover - shown
                shown = takeover
        held = frame
    if held is not None and shown < total:
        yield held, total - shown


def render_picture(
    container: InputContainer,
    name: str,
    picture: Picture,
    writer: Mp4Writer,
    layers: Layers | None = None,
    first: int = 0,
) -> None:
    """Write exactly `picture.frames` frames of input `name`'s video to `writer`,
    numbered from `first` (a clip joined after others starts past theirs)."""
    stream = require_video(container, name)
    index = first
    shown = cadence(timed_frames(container, stream, name), picture.rate, picture.frames)
    for frame, count in shown:
        fitted = fit_frame(frame, picture.width, picture.height, picture.fit)
        for _ in range(count):
            patches = layers(float(index / picture.rate)) if layers is not None else ()
            writer.write_frame(
                ready_to_encode(_covered(fitted, patches, count > 1), index, picture.rate)
            )
            index += 1
    if index == first:
        raise bad_input(name, "has a video stream with no pictures in it")


def _covered(frame: VideoFrame, patches: Sequence[Patch], repeated: bool) -> VideoFrame:
    """`frame` with `patches` laid over it; a frame shown more than once is left clean
    (the patches differ from one showing to the next)."""
    if not patches:
        return frame
    if repeated:
        frame = copy_frame(frame)
    else:
        frame.make_writable()
    for patch in patches:
        blend(frame, patch)
    return frame
