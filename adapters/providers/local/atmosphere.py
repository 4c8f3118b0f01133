"""The sky and the weather of a local picture: sun and glow, moon, stars, clouds,
lightning, birds, and over everything rain, snow or fog."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from adapters.providers.local._canvas import Canvas
from adapters.providers.local.scenery import Colour, Scenery, shade

Disc = tuple[float, float, float]  # centre x, centre y, radius
RAIN: tuple[int, int, int, int] = (200, 210, 225, 90)
SNOW: tuple[int, int, int, int] = (250, 250, 255, 200)
FLASH: Colour = (250, 250, 255)


def sun_disc(
    scenery: Scenery, rng: np.random.Generator, size: tuple[int, int], horizon: float
) -> Disc | None:
    """Where the sun stands: low at sunrise and sunset, high by day, absent at night."""
    width, height = size
    if "sun" not in scenery.elements or scenery.night or scenery.storm:
        return None
    low = scenery.light in ("sunrise", "sunset")
    y = horizon - height * float(rng.uniform(0.02, 0.12) if low else rng.uniform(0.3, 0.45))
    radius = height * (0.07 if low else 0.05)
    return width * float(rng.uniform(0.2, 0.8)), y, radius


def add_glow(pixels: np.ndarray, disc: Disc, colour: Colour, reach: float) -> None:
    """Light `pixels` (float RGB, height x width x 3) around a disc, fading with distance."""
    height, width, _ = pixels.shape
    x, y, radius = disc
    ys = (np.arange(height, dtype=np.float32) - y)[:, None]
    xs = (np.arange(width, dtype=np.float32) - x)[None, :]
    distance = np.sqrt(xs * xs + ys * ys) / (radius * reach)
    strength = np.exp(-(distance**2))[:, :, None]
    pixels += (np.array(colour, dtype=np.float32) - pixels) * strength * 0.8


def paint_sky(canvas: Canvas, scenery: Scenery, sun: Disc | None) -> None:
    if scenery.night and not scenery.storm:
        _stars(canvas)
    if "moon" in scenery.elements and not scenery.storm:
        _moon(canvas, scenery)
    if sun is not None:
        x, y, r = sun
        canvas.draw.ellipse((x - r, y - r, x + r, y + r), fill=scenery.palette.sun)
    if "clouds" in scenery.elements:
        _clouds(canvas, scenery)
    if "lightning" in scenery.elements:  # out at sea, behind whatever stands nearer
        _lightning(canvas)
    if "birds" in scenery.elements:
        _birds(canvas, scenery)


def paint_weather(canvas: Canvas, scenery: Scenery) -> None:
    if "rain" in scenery.elements:
        _rain(canvas)
    if "snow" in scenery.elements:
        _snow(canvas)
    if "fog" in scenery.elements:
        _fog(canvas, scenery)


def _stars(canvas: Canvas) -> None:
    count = int(canvas.width * canvas.horizon / 3000)
    xs = canvas.rng.uniform(0, canvas.width, count).tolist()
    ys = canvas.rng.uniform(0, canvas.horizon * 0.9, count).tolist()
    levels = canvas.rng.integers(120, 256, count).tolist()
    for x, y, level in zip(xs, ys, levels, strict=True):
        canvas.draw.point((x, y), fill=(level, level, min(level + 20, 255)))
        if level > 235:  # the brightest stars get a little cross of light
            cross = ((x - 1, y), (x + 1, y), (x, y - 1), (x, y + 1))
            canvas.draw.point(cross, fill=(level, level, level, 140))


def _moon(canvas: Canvas, scenery: Scenery) -> None:
    """A crescent (a disc partly covered by a disc of the sky behind it) in a soft glow."""
    r = canvas.height * 0.045
    x, y = canvas.width * canvas.uniform(0.15, 0.85), canvas.horizon * canvas.uniform(0.15, 0.45)
    around = canvas.picture.crop((int(x - r), int(y - r), int(x + r) + 1, int(y + r) + 1))
    red, green, blue = np.median(np.asarray(around).reshape(-1, 3), axis=0).astype(int).tolist()
    canvas.draw.ellipse((x - r, y - r, x + r, y + r), fill=scenery.palette.sun)
    shift = r * canvas.uniform(0.35, 0.7)
    shadow = (x - r + shift, y - r - shift * 0.3, x + r + shift, y + r - shift * 0.3)
    canvas.draw.ellipse(shadow, fill=(red, green, blue))
    for halo in (3.2, 2.6, 2.0, 1.5):  # rings of faint light add up to a soft glow
        ring = (x - halo * r, y - halo * r, x + halo * r, y + halo * r)
        canvas.draw.ellipse(ring, fill=(200, 210, 255, 7))


def _clouds(canvas: Canvas, scenery: Scenery) -> None:
    """Soft clouds: clusters of ellipses drawn small, blurred and laid over the sky."""
    small = (max(canvas.width // 4, 1), max(canvas.height // 4, 1))
    mask = Image.new("L", small, 0)
    draw = ImageDraw.Draw(mask)
    heavy = scenery.storm
    for _ in range(int(canvas.rng.integers(4, 8)) * (3 if heavy else 1)):
        cx, cy = canvas.uniform(0, small[0]), canvas.uniform(0, canvas.horizon / 4 * 0.8)
        for _ in range(int(canvas.rng.integers(3, 7))):
            rx, ry = small[0] * canvas.uniform(0.04, 0.1), small[1] * canvas.uniform(0.03, 0.07)
            x, y = cx + float(canvas.rng.normal(0, rx)), cy + float(canvas.rng.normal(0, ry / 2))
            draw.ellipse((x - rx, y - ry, x + rx, y + ry), fill=int(canvas.uniform(150, 230)))
    blurred = mask.filter(ImageFilter.GaussianBlur(max(small[1] / 60, 1.0)))
    # storm clouds are darker than the sky by day; at night only their lit undersides show
    lift = (1.6 if scenery.night else 0.55) if heavy else 1.1
    colour = shade(scenery.palette.sky_horizon, lift)
    size = (canvas.width, canvas.height)
    canvas.picture.paste(colour, (0, 0, *size), blurred.resize(size))


def _birds(canvas: Canvas, scenery: Scenery) -> None:
    """A loose flock of small V shapes."""
    colour = shade(scenery.palette.far_land, 0.4)
    cx = canvas.width * canvas.uniform(0.2, 0.8)
    cy = canvas.horizon * canvas.uniform(0.25, 0.6)
    line = max(canvas.height // 400, 1)
    for _ in range(int(canvas.rng.integers(3, 9))):
        x = cx + float(canvas.rng.normal(0, canvas.width * 0.06))
        y = cy + float(canvas.rng.normal(0, canvas.height * 0.04))
        span = canvas.height * canvas.uniform(0.008, 0.018)
        wings = ((x - span, y - span / 2), (x, y), (x + span, y - span / 2))
        canvas.draw.line(wings, fill=colour, width=line)


def _lightning(canvas: Canvas) -> None:
    x, y = canvas.width * canvas.uniform(0.15, 0.85), 0.0
    bolt = [(x, y)]
    while y < canvas.horizon:
        x += float(canvas.rng.normal(0, canvas.width * 0.02))
        y += canvas.height * canvas.uniform(0.03, 0.07)
        bolt.append((x, min(y, canvas.horizon)))
    canvas.draw.line(bolt, fill=(200, 210, 255, 70), width=max(canvas.height // 60, 3))
    canvas.draw.line(bolt, fill=FLASH, width=max(canvas.height // 300, 1))


def _rain(canvas: Canvas) -> None:
    count = int(canvas.width * canvas.height / 2500)
    slant = canvas.uniform(-0.35, 0.1)
    xs = canvas.rng.uniform(-0.2 * canvas.width, 1.2 * canvas.width, count).tolist()
    ys = canvas.rng.uniform(0, canvas.height, count).tolist()
    lengths = (canvas.rng.uniform(0.02, 0.05, count) * canvas.height).tolist()
    width = max(round(canvas.height / 400), 1)  # still seen once a film scales it down
    for x, y, length in zip(xs, ys, lengths, strict=True):
        canvas.draw.line(((x, y), (x + slant * length, y + length)), fill=RAIN, width=width)


def _snow(canvas: Canvas) -> None:
    count = int(canvas.width * canvas.height / 3000)
    xs = canvas.rng.uniform(0, canvas.width, count).tolist()
    ys = canvas.rng.uniform(0, canvas.height, count).tolist()
    sizes = (canvas.rng.uniform(0.6, 2.5, count) * canvas.height / 720).tolist()
    for x, y, r in zip(xs, ys, sizes, strict=True):
        canvas.draw.ellipse((x - r, y - r, x + r, y + r), fill=SNOW)


def _fog(canvas: Canvas, scenery: Scenery) -> None:
    """A veil thickest at the horizon, thinning above and below it."""
    width, height = canvas.width, canvas.height
    rows = np.arange(height, dtype=np.float32)
    thickness = (np.exp(-(((rows - canvas.horizon) / (height * 0.18)) ** 2)) * 190).astype(np.uint8)
    mask = Image.fromarray(
        np.ascontiguousarray(np.broadcast_to(thickness[:, None], (height, width)))
    )
    canvas.picture.paste(shade(scenery.palette.sky_horizon, 1.05), (0, 0, width, height), mask)
