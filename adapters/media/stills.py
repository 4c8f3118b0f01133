"""Stills of a film as PNG: a thumbnail of the frame shown at a given time, and a
contact sheet of evenly spaced frames laid out in a grid."""

from __future__ import annotations

import threading
from pathlib import Path

from av.container import InputContainer
from av.video.frame import VideoFrame
from av.video.stream import VideoStream
from PIL import Image

from adapters.media.failures import bad_input, bad_param, open_input, reading
from adapters.media.params import Inputs, Params, number, side, whole
from adapters.media.picture import even
from adapters.media.probe import require_video, video_seconds

IMAGE_PNG = "image/png"
SHEET_GAP = 4  # pixels between tiles and around the sheet
SHEET_BACKGROUND = (24, 24, 24)
DEFAULT_TILE_WIDTH = 320


def thumbnail(params: Params, inputs: Inputs, target: Path, stop: threading.Event) -> str:
    """The frame of input "video" shown at `at` seconds, `width` pixels wide if given."""
    at = number(params, "at", 0.0, at_least=0.0)
    with open_input(inputs["video"], "video") as source:
        stream = require_video(source, "video")
        length = video_seconds(source, stream, "video")
        if at >= length:
            raise bad_param("at", f"is {at:g} s, past the end of input 'video' ({length:.3f} s)")
        image = _image(frame_at(source, stream, at))
    if "width" in params:
        width = side(params, "width")
        image = image.resize((width, even(width * image.height / image.width)))
    _save_png(image, target)
    return IMAGE_PNG


def contact_sheet(params: Params, inputs: Inputs, target: Path, stop: threading.Event) -> str:
    """`columns` x `rows` frames of input "video", evenly spaced over its length."""
    columns, rows = whole(params, "columns", 4), whole(params, "rows", 3)
    with open_input(inputs["video"], "video") as source:
        stream = require_video(source, "video")
        length = video_seconds(source, stream, "video")
        context = stream.codec_context
        tile_w = _tile_width(params, context.width)
        tile_h = even(tile_w * context.height / max(context.width, 1))
        sheet = Image.new(
            "RGB",
            (columns * (tile_w + SHEET_GAP) + SHEET_GAP, rows * (tile_h + SHEET_GAP) + SHEET_GAP),
            SHEET_BACKGROUND,
        )
        count = columns * rows
        for index in range(count):
            at = (index + 0.5) * length / count
            tile = _image(frame_at(source, stream, at)).resize((tile_w, tile_h))
            row, column = divmod(index, columns)
            corner = (
                SHEET_GAP + column * (tile_w + SHEET_GAP),
                SHEET_GAP + row * (tile_h + SHEET_GAP),
            )
            sheet.paste(tile, corner)
    _save_png(sheet, target)
    return IMAGE_PNG


def frame_at(container: InputContainer, stream: VideoStream, seconds: float) -> VideoFrame:
    """The frame shown `seconds` after the stream's start: the latest one due by then."""
    base = stream.time_base
    if base is None:
        raise bad_input("video", "has no time base on its video stream")
    origin = stream.start_time or 0
    slack = 0.25 / float(stream.average_rate or 25)
    shown: VideoFrame | None = None
    with reading("video"):
        container.seek(origin + int(seconds / base), stream=stream, backward=True)
        for frame in container.decode(stream):
            late = frame.pts is not None and float((frame.pts - origin) * base) > seconds + slack
            if late and shown is not None:
                break
            shown = frame
    if shown is None:
        raise bad_input("video", f"has no picture at {seconds:g} s")
    return shown


def _tile_width(params: Params, source_width: int) -> int:
    if "tile_width" in params:
        return side(params, "tile_width")
    return even(min(DEFAULT_TILE_WIDTH, source_width))


def _image(frame: VideoFrame) -> Image.Image:
    return Image.fromarray(frame.to_ndarray(format="rgb24"))


def _cell(number: int, size: int) -> int:
    return SHEET_GAP + number * (size + SHEET_GAP)


def _save_png(image: Image.Image, target: Path) -> None:
    image.save(target, format="PNG")
