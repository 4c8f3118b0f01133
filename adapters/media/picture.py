"""Pictures as yuv420p planes: numpy views of a frame's planes, building frames from
planes, and fitting a picture to the film's size by letterboxing or cropping."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np
from av.video.frame import PictureType, VideoFrame

Plane = np.ndarray[Any, np.dtype[np.uint8]]

# black in limited-range YUV, the range H.264 players assume
BLACK_LUMA, NEUTRAL_CHROMA = 16, 128


def planes_of(frame: VideoFrame) -> tuple[Plane, Plane, Plane]:
    """Views (not copies) of the Y, U and V planes of a yuv420p frame, without the
    padding at the end of each line; writing to them changes the frame."""
    views = []
    for plane in frame.planes[:3]:
        rows = np.frombuffer(memoryview(plane), np.uint8).reshape(-1, plane.line_size)
        views.append(rows[: plane.height, : plane.width])
    return views[0], views[1], views[2]


def blank_planes(width: int, height: int) -> tuple[Plane, Plane, Plane, Plane]:
    """Black Y, U, V planes of a width x height picture, and the packed buffer they live in
    (the layout `VideoFrame.from_ndarray(..., format="yuv420p")` takes)."""
    packed = np.empty(height * width * 3 // 2, np.uint8)
    luma_size, chroma_size = height * width, height * width // 4
    luma = packed[:luma_size].reshape(height, width)
    u = packed[luma_size : luma_size + chroma_size].reshape(height // 2, width // 2)
    v = packed[luma_size + chroma_size :].reshape(height // 2, width // 2)
    luma.fill(BLACK_LUMA)
    u.fill(NEUTRAL_CHROMA)
    v.fill(NEUTRAL_CHROMA)
    return packed.reshape(height * 3 // 2, width), luma, u, v


def copy_frame(frame: VideoFrame) -> VideoFrame:
    """A yuv420p frame with its own copy of the picture."""
    packed, luma, u, v = blank_planes(frame.width, frame.height)
    for target, source in zip((luma, u, v), planes_of(frame), strict=True):
        target[...] = source
    return VideoFrame.from_ndarray(packed, format="yuv420p")


def even(value: float) -> int:
    return max(2, round(value / 2) * 2)


def fit_frame(frame: VideoFrame, width: int, height: int, fit: str) -> VideoFrame:
    """The picture at exactly width x height in yuv420p: scaled to fit inside with black
    bars ("letterbox"), or scaled to cover and cut at the edges ("crop")."""
    if (frame.width, frame.height) == (width, height) and frame.format.name == "yuv420p":
        return frame
    grow = max if fit == "crop" else min
    scale = grow(width / frame.width, height / frame.height)
    inner_w, inner_h = even(frame.width * scale), even(frame.height * scale)
    if fit != "crop":
        inner_w, inner_h = min(inner_w, width), min(inner_h, height)
    scaled = frame.reformat(width=inner_w, height=inner_h, format="yuv420p")
    if (inner_w, inner_h) == (width, height):
        return scaled
    # offsets on the luma grid, even so the half-size chroma planes stay aligned;
    # negative when cropping
    dy, dx = (height - inner_h) // 4 * 2, (width - inner_w) // 4 * 2
    packed, *targets = blank_planes(width, height)
    for halve, target, source in zip((1, 2, 2), targets, planes_of(scaled), strict=True):
        _place(target, source, dy // halve, dx // halve)
    return VideoFrame.from_ndarray(packed, format="yuv420p")


def _place(target: Plane, source: Plane, dy: int, dx: int) -> None:
    """Copy `source` into `target` with its top-left corner at (dy, dx), cutting what
    falls outside."""
    ty, sy, tx, sx = max(dy, 0), max(-dy, 0), max(dx, 0), max(-dx, 0)
    rows = min(target.shape[0] - ty, source.shape[0] - sy)
    cols = min(target.shape[1] - tx, source.shape[1] - sx)
    target[ty : ty + rows, tx : tx + cols] = source[sy : sy + rows, sx : sx + cols]


def ready_to_encode(frame: VideoFrame, index: int, rate: Fraction) -> VideoFrame:
    """Stamp a frame as output frame `index` at `rate` frames a second. The decoder's
    picture type is cleared, or libx264 would force the source's I/P/B pattern on the
    new stream."""
    frame.pts = index
    frame.time_base = 1 / rate
    frame.pict_type = PictureType.NONE
    return frame
