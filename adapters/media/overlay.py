"""Laying a picture over a film: a logo (a still image, its transparency kept) or a
picture in picture (a video), at a corner or at x,y, scaled to a fraction of the
film's width, for the whole film or from `start` to `end`."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

from av.container import InputContainer
from av.video.frame import VideoFrame
from PIL import Image, UnidentifiedImageError

from adapters.media.conform import redraw, source_picture
from adapters.media.failures import bad_param, not_media, open_input
from adapters.media.mp4 import INTERMEDIATE, VIDEO_MP4
from adapters.media.params import Inputs, Params, number
from adapters.media.patches import Patch, patch_from_frame, patch_from_image
from adapters.media.picture import even
from adapters.media.probe import describe, require_video, video_seconds
from adapters.media.render import Layers, Picture, timed_frames

CORNERS = ("top-left", "top-right", "bottom-left", "bottom-right", "center")
MARGIN = 0.04  # of the film's width, between a corner overlay and the edges


def overlay(params: Params, inputs: Inputs, target: Path, stop: threading.Event) -> str:
    scale = number(params, "scale", 0.25, above=0.0, at_most=1.0)
    start = number(params, "start", 0.0, at_least=0.0)
    end = number(params, "end", float("inf"), above=start)
    with open_input(inputs["video"], "video") as source:
        picture = source_picture(source, "video")
    with open_input(inputs["overlay"], "overlay") as layer_source:
        still = describe(layer_source, "overlay").media_type == "image"
        size = _layer_size(layer_source, picture.width, scale)
        place = position(params.get("position", "top-right"), picture, size)
        if still:
            patch = patch_from_image(_image(inputs["overlay"], size), *place, picture.height)
            layers = _during(lambda _: (patch,), start, end)
        else:
            layers = _during(MovingLayer(layer_source, size, place, start), start, end)
        redraw(inputs["video"], "video", target, picture, INTERMEDIATE, layers, stop)
    return VIDEO_MP4


def position(value: Any, picture: Picture, size: tuple[int, int]) -> tuple[int, int]:
    """Where the overlay's top-left corner goes: a named corner, "x,y" or [x, y] pixels."""
    width, height = size
    margin = round(picture.width * MARGIN)
    if value == "center":
        return (picture.width - width) // 2, (picture.height - height) // 2
    if value in CORNERS:
        x = margin if value.endswith("left") else picture.width - width - margin
        y = margin if value.startswith("top") else picture.height - height - margin
        return x, y
    parts = value.split(",") if isinstance(value, str) else value
    try:
        x, y = (int(float(part)) for part in parts)
    except (TypeError, ValueError):
        raise bad_param(
            "position", f"must be one of {', '.join(CORNERS)}, 'x,y' or [x, y]; got {value!r}"
        ) from None
    return x, y


def _layer_size(source: InputContainer, film_width: int, scale: float) -> tuple[int, int]:
    context = require_video(source, "overlay").codec_context
    width = even(film_width * scale)
    return width, even(width * context.height / max(context.width, 1))


def _image(path: Path, size: tuple[int, int]) -> Image.Image:
    try:
        with Image.open(path) as image:
            return image.convert("RGBA").resize(size, Image.Resampling.LANCZOS)
    except (UnidentifiedImageError, OSError) as error:
        raise not_media("overlay", error) from None


def _during(layers: Layers, start: float, end: float) -> Layers:
    def shown(seconds: float) -> Sequence[Patch]:
        return layers(seconds) if start <= seconds < end else ()

    return shown


class MovingLayer:
    """A video laid over the film from `start`: at each film time the frame of it due
    then, until it runs out."""

    def __init__(
        self, source: InputContainer, size: tuple[int, int], place: tuple[int, int], start: float
    ) -> None:
        stream = require_video(source, "overlay")
        self.size, self.place, self.start = size, place, start
        self.length = video_seconds(source, stream, "overlay")
        self._frames = timed_frames(source, stream, "overlay")
        self._next: tuple[Fraction, VideoFrame] | None = next(self._frames, None)
        self._shown: Patch | None = None

    def __call__(self, seconds: float) -> Sequence[Patch]:
        due = seconds - self.start
        if due < 0 or due >= self.length:
            return ()
        frame: VideoFrame | None = None
        while self._next is not None and self._next[0] <= due + 1e-3:
            frame, self._next = self._next[1], next(self._frames, None)
        if frame is not None:
            scaled = frame.reformat(width=self.size[0], height=self.size[1], format="yuv420p")
            self._shown = patch_from_frame(scaled, *self.place)
        return () if self._shown is None else (self._shown,)
