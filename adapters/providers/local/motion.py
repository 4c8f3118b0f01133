"""The local image-to-video model: a slow pan and zoom over a picture (the Ken Burns
effect), as an H.264 MP4 with no sound.

Like a real model it decides the clip's form itself, from the seed, the take and
the picture: 4% shorter or longer than asked, at 24, 25 or 30 frames a second, at
the picture's size or a fifth smaller (1280x720 or 1024x576 for a 720p picture).
The same inputs always give the same bytes: x264 runs on one thread, which keeps
its output independent of the machine's cores.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import av
import numpy as np
from PIL import Image, UnidentifiedImageError

from adapters.providers.local._determinism import fingerprint, generator_for
from engine.errors import TaskFailure
from engine.tasks import ErrorKind

DURATION_FACTORS = (0.96, 1.04)
FRAME_RATES = (24, 25, 30)
SCALES = (1.0, 0.8)
LONGEST_SIDE = 1280  # the model's largest output, whatever the picture's size
MOTIONS = ("pan-zoom",)
ZOOM = 1.2  # how far in the pan and zoom goes


@dataclass(frozen=True)
class Clip:
    data: bytes
    duration: float  # seconds, frames / fps
    fps: int
    width: int
    height: int
    frames: int


@dataclass(frozen=True)
class Shot:
    """The crop window at the start and the end of the clip, in the picture's
    pixels: centre x, centre y and zoom (1 is the whole picture)."""

    start: tuple[float, float, float]
    end: tuple[float, float, float]


def animate(image: bytes, duration: float, seed: int, take: int, motion: str = "pan-zoom") -> Clip:
    """A clip of about `duration` seconds panning and zooming over `image`."""
    if motion not in MOTIONS:
        raise TaskFailure(
            ErrorKind.INVALID_INPUT,
            f"param 'motion' is {motion!r}; this model knows {', '.join(MOTIONS)}",
        )
    picture = _open(image)
    rng = generator_for("motion", seed, take, fingerprint(image))
    fps = int(rng.choice(FRAME_RATES))
    frames = max(round(duration * float(rng.choice(DURATION_FACTORS)) * fps), 1)
    width, height = _output_size(picture.size, float(rng.choice(SCALES)))
    zoom_in = bool(rng.integers(0, 2))
    drift = rng.uniform(-0.5, 0.5, 2).tolist()
    shot = _shot(picture.size, zoom_in, drift)
    data = _encode(picture, shot, (width, height), fps, frames)
    return Clip(data, frames / fps, fps, width, height, frames)


def _open(image: bytes) -> Image.Image:
    try:
        picture = Image.open(io.BytesIO(image))
        picture.load()
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError) as exc:
        reason = "no image format fits" if isinstance(exc, UnidentifiedImageError) else str(exc)
        raise TaskFailure(
            ErrorKind.INVALID_INPUT,
            f"input 'image' ({len(image)} bytes) is not a picture this model can read: {reason}",
        ) from None
    if min(picture.size) < 16:
        raise TaskFailure(
            ErrorKind.INVALID_INPUT,
            f"input 'image' is {picture.width}x{picture.height}; this model needs 16x16 or more",
        )
    return picture.convert("RGB")


def _output_size(size: tuple[int, int], scale: float) -> tuple[int, int]:
    """The picture's aspect at the model's own scale, in even pixels (for yuv420p)."""
    width, height = size
    fit = min(1.0, LONGEST_SIDE / max(width, height)) * scale
    return max(round(width * fit / 2) * 2, 16), max(round(height * fit / 2) * 2, 16)


def _shot(size: tuple[int, int], zoom_in: bool, drift: list[float]) -> Shot:
    """Wide on one end, zoomed on the other; the zoomed end drifts off centre as far as
    the picture allows."""
    width, height = size
    room_x, room_y = width * (1 - 1 / ZOOM) / 2, height * (1 - 1 / ZOOM) / 2
    wide = (width / 2, height / 2, 1.0)
    close = (width / 2 + drift[0] * 2 * room_x, height / 2 + drift[1] * 2 * room_y, ZOOM)
    return Shot(wide, close) if zoom_in else Shot(close, wide)


def _window(shot: Shot, size: tuple[int, int], t: float) -> tuple[float, float, float, float]:
    eased = t * t * (3 - 2 * t)  # smoothstep: the camera eases in and out
    x, y, zoom = (a + (b - a) * eased for a, b in zip(shot.start, shot.end, strict=True))
    half_w, half_h = size[0] / zoom / 2, size[1] / zoom / 2
    x = min(max(x, half_w), size[0] - half_w)
    y = min(max(y, half_h), size[1] - half_h)
    return x - half_w, y - half_h, x + half_w, y + half_h


def _encode(
    picture: Image.Image, shot: Shot, size: tuple[int, int], fps: int, frames: int
) -> bytes:
    planes = _working_planes(picture, size)
    factor = planes[0].width / picture.width, planes[0].height / picture.height
    out = io.BytesIO()
    with av.open(out, mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        stream.options = {"preset": "veryfast", "crf": "20", "threads": "1"}
        for n in range(frames):
            left, top, right, bottom = _window(shot, picture.size, n / max(frames - 1, 1))
            box = (left * factor[0], top * factor[1], right * factor[0], bottom * factor[1])
            container.mux(stream.encode(_frame(planes, box, size)))
        container.mux(stream.encode(None))
    return out.getvalue()


def _working_planes(picture: Image.Image, size: tuple[int, int]) -> tuple[Image.Image, ...]:
    """The picture scaled once to the largest the crops need and converted once to
    Y, U and V planes, so each frame is three small single-channel resizes."""
    width, height = round(size[0] * ZOOM / 2) * 2, round(size[1] * ZOOM / 2) * 2
    scaled = picture.resize((width, height), Image.Resampling.LANCZOS)
    yuv = (
        av.VideoFrame.from_ndarray(np.asarray(scaled), format="rgb24")
        .reformat(format="yuv420p")
        .to_ndarray()
    )
    quarter = height // 2 * (width // 2)
    chroma = yuv[height:].reshape(-1)
    return (
        Image.fromarray(np.ascontiguousarray(yuv[:height])),
        Image.fromarray(chroma[:quarter].reshape(height // 2, width // 2)),
        Image.fromarray(chroma[quarter:].reshape(height // 2, width // 2)),
    )


def _frame(
    planes: tuple[Image.Image, ...], box: tuple[float, float, float, float], size: tuple[int, int]
) -> av.VideoFrame:
    width, height = size
    half = (box[0] / 2, box[1] / 2, box[2] / 2, box[3] / 2)
    luma = planes[0].resize(size, Image.Resampling.BILINEAR, box=box)
    blue, red = (
        p.resize((width // 2, height // 2), Image.Resampling.BILINEAR, box=half) for p in planes[1:]
    )
    layout = np.concatenate(
        [np.asarray(luma), np.asarray(blue).reshape(-1, width), np.asarray(red).reshape(-1, width)]
    )
    return av.VideoFrame.from_ndarray(layout, format="yuv420p")
