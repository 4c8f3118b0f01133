"""The land and water of a local picture: ridges, hills, dunes, the sea with its waves,
a beach, a forest, a city, a lighthouse (`lighthouse`), a boat, and a keeper standing
in the foreground when there is no lighthouse for them to be on.

Everything is measured in fractions of the picture, so any size looks the same.
"""

from __future__ import annotations

import numpy as np

from adapters.providers.local._canvas import Canvas
from adapters.providers.local.figures import Box, Keeper, paint_keeper
from adapters.providers.local.lighthouse import STONE, paint_lighthouse
from adapters.providers.local.scenery import Colour, Scenery, blend, shade

SAND: Colour = (214, 180, 120)
WINDOW: Colour = (255, 214, 120)


def paint_land(canvas: Canvas, scenery: Scenery) -> Box | None:
    """Paint the land and what stands on it; return the keeper's box, if one is there."""
    elements, palette = scenery.elements, scenery.palette
    if "mountains" in elements:
        middle = blend(palette.far_land, palette.land, 0.5)
        _ridge(canvas, canvas.horizon, canvas.horizon * 0.45, palette.far_land, jagged=True)
        _ridge(canvas, canvas.horizon, canvas.horizon * 0.25, middle, jagged=True)
    if "hills" in elements and "sea" in elements:  # a far shore
        _ridge(canvas, canvas.horizon, canvas.horizon * 0.08, palette.land, jagged=False)
    if "city" in elements:
        _city(canvas, scenery)
    if "sea" in elements:
        _sea(canvas, scenery)
    else:
        _ground(canvas, scenery)
    if "forest" in elements:
        _forest(canvas, scenery)
    if "sand" in elements and "sea" in elements:
        _beach(canvas, scenery)
    keeper = paint_lighthouse(canvas, scenery) if "lighthouse" in elements else None
    if "boat" in elements:
        _boat(canvas, scenery)
    if scenery.figure is not None and keeper is None:
        keeper = _keeper_ashore(canvas, scenery)
    return keeper


def _ridge(canvas: Canvas, base: float, rise: float, colour: Colour, *, jagged: bool) -> None:
    """A line of mountains (jagged) or hills (smooth) standing on `base`, up to `rise` tall."""
    width = canvas.width
    xs = np.linspace(0, width, 64)
    phases = canvas.rng.uniform(0, 2 * np.pi, 3)
    waves = sum(
        np.sin(xs / width * np.pi * f + p) / f for f, p in zip((1.5, 3.7, 8.3), phases, strict=True)
    )
    profile = 0.55 + 0.35 * np.asarray(waves)
    if jagged:
        profile = profile + canvas.rng.uniform(-0.12, 0.12, xs.size)
    ys = base - rise * np.clip(profile, 0.05, 1.0)
    outline = [(0.0, base), *zip(xs.tolist(), ys.tolist(), strict=True), (float(width), base)]
    canvas.draw.polygon(outline, fill=colour)


def _ground(canvas: Canvas, scenery: Scenery) -> None:
    """Land from the horizon down, in bands that get darker toward the viewer."""
    desert = "desert" in scenery.elements
    near = shade(SAND, scenery.palette.brightness) if desert else scenery.palette.land
    far = blend(near, scenery.palette.sky_horizon, 0.35)
    height, horizon = canvas.height, canvas.horizon
    canvas.draw.rectangle((0, horizon, canvas.width, height), fill=far)
    bands = 5
    for band in range(bands):
        top = horizon + (height - horizon) * (band / bands) ** 1.5 - height * 0.03
        colour = blend(far, shade(near, 0.75), band / (bands - 1))
        _ridge(canvas, float(height), height - top, colour, jagged=False)


def _sea(canvas: Canvas, scenery: Scenery) -> None:
    water, horizon = scenery.palette.water, canvas.horizon
    depth = canvas.height - horizon
    for row in range(int(horizon), canvas.height, 2):
        colour = blend(shade(water, 1.25), shade(water, 0.7), (row - horizon) / max(depth, 1.0))
        canvas.draw.line(((0, row), (canvas.width, row)), fill=colour, width=2)
    crest = blend(water, scenery.palette.sky_horizon, 0.7)
    rough = 2.0 if scenery.storm else 1.0
    for _ in range(int(canvas.width * depth / 1800 * rough)):
        t = canvas.uniform(0, 1) ** 1.8  # more, smaller waves far away
        x, y = canvas.uniform(0, canvas.width), horizon + depth * t
        span = canvas.width * (0.005 + 0.04 * t) * rough
        lift = canvas.height * (0.002 + 0.012 * t) * rough
        canvas.draw.line(
            ((x - span, y), (x - span * 0.4, y - lift), (x, y - lift * 1.2), (x + span * 0.5, y)),
            fill=(*crest, int(90 + 120 * t)),
            width=max(int(1 + 3 * t * canvas.height / 720), 1),
        )


def _beach(canvas: Canvas, scenery: Scenery) -> None:
    top = canvas.height * canvas.uniform(0.82, 0.9)
    sand = shade(SAND, scenery.palette.brightness)
    _ridge(canvas, float(canvas.height), canvas.height - top, sand, jagged=False)


def _forest(canvas: Canvas, scenery: Scenery) -> None:
    """Fir trees: over the land, nearer ones bigger and darker; or along a far shore."""
    dark = shade(scenery.palette.land, 0.55)
    far_shore = "sea" in scenery.elements
    for _ in range((12 if far_shore else 40) * max(canvas.width // 320, 1)):
        t = 0.0 if far_shore else canvas.uniform(0, 1) ** 2
        base = canvas.horizon + (canvas.height - canvas.horizon) * t * 0.9
        tall = canvas.height * (0.04 + 0.18 * t) * canvas.uniform(0.7, 1.3)
        x = canvas.uniform(0, canvas.width)
        colour = blend(blend(scenery.palette.far_land, dark, 0.6), dark, t)
        tree = ((x - tall * 0.22, base), (x, base - tall), (x + tall * 0.22, base))
        canvas.draw.polygon(tree, fill=colour)


def _city(canvas: Canvas, scenery: Scenery) -> None:
    """Towers side by side along the horizon, their windows lit once the light goes."""
    lightness = 0.5 + 0.5 * scenery.palette.brightness
    wall = shade(blend(scenery.palette.far_land, STONE, 0.6), lightness)
    lit = scenery.night or scenery.storm or scenery.light == "sunset"
    x, horizon = 0.0, canvas.horizon
    while x < canvas.width:
        wide = canvas.width * canvas.uniform(0.03, 0.08)
        tall = canvas.height * canvas.uniform(0.08, 0.38)
        colour = shade(wall, canvas.uniform(0.8, 1.2))
        canvas.draw.rectangle((x, horizon - tall, x + wide, horizon + 2), fill=colour)
        if lit:
            _windows(canvas, (x, horizon - tall, x + wide, horizon))
        x += wide + canvas.width * canvas.uniform(0.0, 0.01)


def _windows(canvas: Canvas, tower: tuple[float, float, float, float]) -> None:
    left, top, right, bottom = tower
    step = canvas.height * 0.02
    y = top + step
    while y < bottom - step:
        x = left + step * 0.6
        while x < right - step * 0.6:
            if canvas.uniform(0, 1) < 0.45:
                canvas.draw.rectangle((x, y, x + step * 0.4, y + step * 0.5), fill=WINDOW)
            x += step * 0.8
        y += step


def _boat(canvas: Canvas, scenery: Scenery) -> None:
    """A sailing boat on the water, bigger the nearer it is."""
    t = canvas.uniform(0.1, 0.6)
    x = canvas.width * canvas.uniform(0.3, 0.7)
    y = canvas.horizon + (canvas.height - canvas.horizon) * t
    size = canvas.height * (0.03 + 0.12 * t)
    lit = 0.4 + 0.6 * scenery.palette.brightness
    hull, sail = shade((90, 60, 40), lit), shade((240, 235, 220), lit)
    deck = y - size * 0.25
    canvas.draw.polygon(
        ((x - size, deck), (x + size, deck), (x + size * 0.7, y), (x - size * 0.7, y)), fill=hull
    )
    canvas.draw.line(((x, deck), (x, y - size * 1.6)), fill=hull, width=max(int(size / 20), 1))
    canvas.draw.polygon(
        (
            (x + size * 0.05, y - size * 1.55),
            (x + size * 0.05, y - size * 0.35),
            (x + size * 0.8, y - size * 0.35),
        ),
        fill=sail,
    )


def _keeper_ashore(canvas: Canvas, scenery: Scenery) -> Box:
    """The keeper near the viewer, on a rock when the foreground is water."""
    tall = canvas.height * 0.3
    x = canvas.width * canvas.uniform(0.2, 0.8)
    feet = canvas.height * canvas.uniform(0.86, 0.92)
    lit = 0.4 + 0.6 * scenery.palette.brightness
    if "sea" in scenery.elements:
        reach = tall * 0.45
        rock = (x - reach, feet - tall * 0.04, x + reach, feet + tall * 0.2)
        canvas.draw.ellipse(rock, fill=shade(STONE, lit))
    facing = 1.0 if x < canvas.width / 2 else -1.0
    return paint_keeper(canvas.picture, canvas.draw, Keeper(x, feet, tall, facing), lit)
