"""The local text-to-image model: a procedural painting of the prompt, as a PNG, and
where in it the keeper stands when the prompt asks for one.

The same prompt, seed and take always give the same bytes; a different one moves
the horizon, the sun, the hills and the weather, so takes differ visibly.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageOps

from adapters.providers.local import atmosphere, landscape
from adapters.providers.local._canvas import Canvas
from adapters.providers.local._determinism import generator_for
from adapters.providers.local.figures import Box
from adapters.providers.local.scenery import Scenery, scenery_for


@dataclass(frozen=True)
class Painting:
    png: bytes
    keeper: Box | None  # the box the keeper covers, when the prompt asked for one


def render_picture(prompt: str, seed: int, take: int, width: int, height: int) -> bytes:
    """A PNG of `prompt`, `width` x `height` pixels."""
    return paint(prompt, seed, take, width, height).png


def paint(prompt: str, seed: int, take: int, width: int, height: int) -> Painting:
    """`prompt` painted `width` x `height` pixels, with where its keeper stands."""
    scenery = scenery_for(prompt)
    rng = generator_for("picture", prompt, seed, take)
    horizon = height * float(rng.uniform(0.52, 0.7))
    sun = atmosphere.sun_disc(scenery, rng, (width, height), horizon)
    picture = _sky(scenery, width, height, horizon, sun)
    canvas = Canvas(picture, ImageDraw.Draw(picture, "RGBA"), rng, horizon)
    atmosphere.paint_sky(canvas, scenery, sun)
    keeper = landscape.paint_land(canvas, scenery)
    atmosphere.paint_weather(canvas, scenery)
    if scenery.mono:
        picture = ImageOps.grayscale(picture).convert("RGB")
    out = io.BytesIO()
    # a low compression level keeps 1280x720 well under half a second
    picture.save(out, "PNG", compress_level=3)
    return Painting(out.getvalue(), _within(keeper, width, height))


def _within(box: Box | None, width: int, height: int) -> Box | None:
    """The part of `box` inside the picture; None when nothing of it is."""
    if box is None:
        return None
    left, top = max(box[0], 0), max(box[1], 0)
    right, bottom = min(box[2], width), min(box[3], height)
    return (left, top, right, bottom) if left < right and top < bottom else None


def _sky(
    scenery: Scenery, width: int, height: int, horizon: float, sun: atmosphere.Disc | None
) -> Image.Image:
    """A vertical gradient from the top of the sky to the horizon, held below it, lit
    around the sun."""
    rows = np.clip(np.arange(height, dtype=np.float32) / max(horizon, 1.0), 0.0, 1.0)
    rows = rows**1.6  # the colour changes fastest near the horizon, as in a real sky
    top = np.array(scenery.palette.sky_top, dtype=np.float32)
    bottom = np.array(scenery.palette.sky_horizon, dtype=np.float32)
    column = top + (bottom - top) * rows[:, None]
    pixels = np.repeat(column[:, None, :], width, axis=1)
    if sun is not None:
        atmosphere.add_glow(pixels, sun, scenery.palette.sun, reach=4.0)
    return Image.fromarray(np.clip(pixels, 0, 255).round().astype(np.uint8), "RGB")
