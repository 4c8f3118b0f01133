"""The final encodes of a film: `preview` (small, 12 fps, fastest encode) and
`production` (full size, H.264 + AAC, faststart), with captions burnt in during the
same decode and encode pass when they are given."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from adapters.media.captions import CaptionTrack, captions_of
from adapters.media.conform import redraw, source_picture
from adapters.media.failures import open_input
from adapters.media.mp4 import PREVIEW, PRODUCTION, VIDEO_MP4, Encoding
from adapters.media.params import Inputs, Params, choice, frame_rate, side
from adapters.media.picture import even
from adapters.media.render import Picture

PREVIEW_FPS = Fraction(12)
PREVIEW_WIDTH = 640


@dataclass(frozen=True)
class Preset:
    name: str
    encoding: Encoding

    def picture(self, rate: Fraction, width: int, height: int, seconds: float) -> Picture:
        """The picture this preset makes of a film asked for at rate, width x height."""
        if self.name == "preview":
            rate = min(rate, PREVIEW_FPS)
            small = min(width, PREVIEW_WIDTH)
            width, height = small, even(height * small / width)
        return Picture(rate, width, height, round(seconds * rate))


PRESETS = {"preview": Preset("preview", PREVIEW), "production": Preset("production", PRODUCTION)}


def encode(params: Params, inputs: Inputs, target: Path, stop: threading.Event) -> str:
    """Input "video" at `preset`; fps, width and height default to the input's own."""
    preset = PRESETS[choice(params, "preset", tuple(PRESETS), "production")]
    captions = captions_of(params)
    with open_input(inputs["video"], "video") as source:
        own = source_picture(source, "video")
    rate = frame_rate(params) if "fps" in params else own.rate
    width = side(params, "width") if "width" in params else own.width
    height = side(params, "height") if "height" in params else own.height
    picture = preset.picture(rate, width, height, own.seconds)
    track = CaptionTrack(captions, picture.width, picture.height) if captions else None
    redraw(inputs["video"], "video", target, picture, preset.encoding, track, stop)
    return VIDEO_MP4
