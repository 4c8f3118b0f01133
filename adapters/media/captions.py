"""Captions burnt into the picture: white text with a dark outline on a dark box,
bottom centre, wrapped to the frame's width, drawn with Pillow once per set of captions
on screen and then blended into the caption region of each frame."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from adapters.media.conform import redraw, source_picture
from adapters.media.failures import bad_param, open_input
from adapters.media.mp4 import INTERMEDIATE, VIDEO_MP4
from adapters.media.params import Inputs, Params, number, records
from adapters.media.patches import Patch, patch_from_image

TEXT_HEIGHT = 0.045  # of the frame's height
MIN_FONT = 10
BOTTOM_MARGIN = 0.06  # of the frame's height
MAX_WIDTH = 0.88  # of the frame's width, box included
BOX = (0, 0, 0, 150)


@dataclass(frozen=True)
class Caption:
    text: str
    start: float  # seconds on the film's timeline
    end: float


def captions_of(params: Params) -> list[Caption]:
    captions = []
    for index, item in enumerate(records(params, "captions")):
        where = f"captions[{index}]."
        text = item.get("text")
        if not isinstance(text, str):
            raise bad_param(f"{where}text", f"must be a string, got {text!r}")
        start = number(item, "start", at_least=0.0, within=where)
        end = number(item, "end", above=start, within=where)
        if text.strip():
            captions.append(Caption(text.strip(), start, end))
    return captions


class CaptionTrack:
    """The caption patches to lay over the frame shown at a given time; what is on
    screen together is drawn once, the first time it appears."""

    def __init__(self, captions: Sequence[Caption], width: int, height: int) -> None:
        self.captions = sorted(captions, key=lambda caption: caption.start)
        self.width, self.height = width, height
        self._drawn: dict[tuple[int, ...], Patch] = {}

    def __call__(self, seconds: float) -> Sequence[Patch]:
        on = tuple(
            index
            for index, caption in enumerate(self.captions)
            if caption.start <= seconds < caption.end
        )
        if not on:
            return ()
        if on not in self._drawn:
            lines = [self.captions[index].text for index in on]
            self._drawn[on] = caption_patch(lines, self.width, self.height)
        return (self._drawn[on],)


def caption_patch(texts: Sequence[str], width: int, height: int) -> Patch:
    """The captions `texts` (one paragraph each) as a patch at the bottom centre."""
    size = max(MIN_FONT, round(height * TEXT_HEIGHT))
    font = ImageFont.load_default(size=size)
    pad, stroke = max(2, size // 3), max(1, size // 14)
    lines = [line for text in texts for line in wrap(text, font, width * MAX_WIDTH - 2 * pad)]
    line_height = round(size * 1.25)
    box_w = round(max(font.getlength(line) for line in lines)) + 2 * (pad + stroke)
    box_h = line_height * len(lines) + 2 * pad
    image = Image.new("RGBA", (box_w, box_h), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 0, box_w - 1, box_h - 1), radius=pad, fill=BOX)
    for row, line in enumerate(lines):
        draw.text(
            (box_w / 2, pad + row * line_height + line_height / 2),
            line,
            font=font,
            fill=(255, 255, 255, 255),
            anchor="mm",
            stroke_width=stroke,
            stroke_fill=(0, 0, 0, 255),
        )
    x = (width - box_w) // 2
    y = height - round(height * BOTTOM_MARGIN) - box_h
    return patch_from_image(image, x, y, height)


def wrap(text: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont, room: float) -> list[str]:
    """`text` broken into lines no wider than `room` pixels where the words allow."""
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        line = ""
        for word in paragraph.split():
            candidate = f"{line} {word}" if line else word
            if line and font.getlength(candidate) > room:
                lines.append(line)
                candidate = word
            line = candidate
        lines.append(line)
    return [line for line in lines if line] or [text]


def burn_captions(params: Params, inputs: Inputs, target: Path, stop: threading.Event) -> str:
    """Input "video" with the params' captions burnt in, at its own format and length."""
    captions = captions_of(params)
    with open_input(inputs["video"], "video") as source:
        picture = source_picture(source, "video")
    track = CaptionTrack(captions, picture.width, picture.height)
    redraw(inputs["video"], "video", target, picture, INTERMEDIATE, track, stop)
    return VIDEO_MP4
