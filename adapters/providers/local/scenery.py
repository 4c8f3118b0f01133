"""What a prompt asks a local picture to show: the light, the things in it and their
colours. Known words choose; every other word still shifts the colours, so two
prompts never look alike by accident.
"""

from __future__ import annotations

import colorsys
import re
from collections.abc import Callable
from dataclasses import dataclass

from adapters.providers.local._determinism import fingerprint

Colour = tuple[int, int, int]

LIGHTS = ("day", "sunrise", "sunset", "night", "storm")

# word -> what it brings into the picture; a light is one of LIGHTS, the rest elements
VOCABULARY: dict[str, tuple[str, ...]] = {
    "night": ("night", "stars", "moon"),
    "midnight": ("night", "stars", "moon"),
    "moon": ("night", "moon"),
    "moonlit": ("night", "moon", "stars"),
    "starry": ("night", "stars"),
    "starlit": ("night", "stars"),
    "nightfall": ("night", "stars"),
    "twilight": ("sunset",),
    "moonlight": ("night", "moon"),
    "star": ("night", "stars"),
    "dark": ("night",),
    "storm": ("storm", "rain", "clouds", "lightning"),
    "stormy": ("storm", "rain", "clouds"),
    "thunder": ("storm", "clouds", "lightning"),
    "lightning": ("storm", "lightning"),
    "rain": ("rain", "clouds"),
    "rainy": ("rain", "clouds"),
    "snow": ("snow",),
    "winter": ("snow",),
    "sunrise": ("sunrise", "sun"),
    "dawn": ("sunrise", "sun"),
    "morning": ("sunrise", "sun"),
    "sunset": ("sunset", "sun"),
    "dusk": ("sunset", "sun"),
    "evening": ("sunset",),
    "golden": ("sunset", "sun"),
    "sun": ("sun",),
    "sunny": ("day", "sun"),
    "cloud": ("clouds",),
    "cloudy": ("clouds",),
    "sea": ("sea",),
    "ocean": ("sea",),
    "wave": ("sea",),
    "coast": ("sea",),
    "beach": ("sea", "sand"),
    "harbour": ("sea", "boat"),
    "harbor": ("sea", "boat"),
    "lake": ("sea",),
    "boat": ("sea", "boat"),
    "ship": ("sea", "boat"),
    "sail": ("sea", "boat"),
    "lighthouse": ("sea", "lighthouse"),
    "mountain": ("mountains",),
    "peak": ("mountains",),
    "alps": ("mountains", "snow"),
    "hill": ("hills",),
    "meadow": ("hills",),
    "field": ("hills",),
    "countryside": ("hills", "forest"),
    "forest": ("forest", "hills"),
    "tree": ("forest", "hills"),
    "wood": ("forest", "hills"),
    "city": ("city",),
    "skyline": ("city",),
    "street": ("city",),
    "town": ("city",),
    "building": ("city",),
    "desert": ("desert", "sun"),
    "dune": ("desert",),
    "sand": ("desert",),
    "bird": ("birds",),
    "seagull": ("birds", "sea"),
    "gull": ("birds", "sea"),
    "fog": ("fog",),
    "mist": ("fog",),
    "misty": ("fog",),
    "foggy": ("fog",),
    "noir": ("mono",),
    "monochrome": ("mono",),
}
# When a prompt names no land, one is chosen from its words.
LANDS = ("sea", "hills", "mountains", "desert")
# Words that say nothing about how a picture looks; they leave its colours alone.
PLAIN_WORDS = frozenset(
    "the and with over under from into onto above below across through near beside "  # noqa: SIM905
    "its their his her this that there where while very".split()
)


@dataclass(frozen=True)
class Palette:
    sky_top: Colour
    sky_horizon: Colour
    sun: Colour
    water: Colour
    land: Colour
    far_land: Colour
    brightness: float  # how lit the land is, 0..1


PALETTES: dict[str, Palette] = {
    "day": Palette(
        (70, 130, 210),
        (185, 215, 240),
        (255, 250, 220),
        (40, 100, 150),
        (80, 140, 70),
        (120, 150, 170),
        1.0,
    ),
    "sunrise": Palette(
        (125, 120, 185),
        (255, 185, 120),
        (255, 225, 150),
        (150, 115, 120),
        (90, 110, 70),
        (150, 130, 150),
        0.8,
    ),
    "sunset": Palette(
        (60, 50, 120),
        (250, 130, 70),
        (255, 180, 90),
        (80, 60, 90),
        (70, 60, 50),
        (130, 80, 100),
        0.6,
    ),
    "night": Palette(
        (5, 8, 25),
        (25, 35, 70),
        (235, 235, 210),
        (10, 20, 40),
        (15, 25, 25),
        (30, 35, 55),
        0.3,
    ),
    "storm": Palette(
        (40, 45, 55),
        (95, 100, 110),
        (200, 200, 200),
        (35, 50, 60),
        (40, 55, 45),
        (70, 75, 85),
        0.5,
    ),
}


@dataclass(frozen=True)
class Scenery:
    light: str
    night: bool
    elements: frozenset[str]
    palette: Palette
    mono: bool
    words: tuple[str, ...]


def scenery_for(prompt: str) -> Scenery:
    """Read a prompt as a picture to paint."""
    words = tuple(re.findall(r"[a-z]+", prompt.lower()))
    found: set[str] = set()
    unknown: list[str] = []
    for word in words:
        features = VOCABULARY.get(word) or VOCABULARY.get(word.rstrip("s"))
        if features:
            found.update(features)
        elif len(word) > 2 and word not in PLAIN_WORDS:
            unknown.append(word)
    light = next(
        (light for light in ("storm", "sunset", "sunrise", "night") if light in found), "day"
    )
    night = "night" in found
    elements = found - set(LIGHTS) - {"mono"}
    if not elements & {"sea", "hills", "mountains", "desert", "city"}:
        elements.add(LANDS[fingerprint("land", *unknown)[0] % len(LANDS)])
    if night and light != "night":
        elements.discard("sun")
    palette = _tinted(_darkened(PALETTES[light], night and light != "night"), unknown)
    return Scenery(light, night, frozenset(elements), palette, "mono" in found, words)


def _darkened(palette: Palette, darker: bool) -> Palette:
    if not darker:
        return palette
    return _recoloured(palette, lambda colour: _scale(colour, 0.45), palette.brightness * 0.5)


def _tinted(palette: Palette, words: list[str]) -> Palette:
    """Unknown words turn the hues a little, each prompt its own way."""
    if not words:
        return palette
    # at most a twentieth of the colour wheel either way: a sunrise stays warm
    turn = (fingerprint("tint", *words)[0] / 255.0 - 0.5) * 0.1
    return _recoloured(palette, lambda colour: _turned(colour, turn), palette.brightness)


def _recoloured(palette: Palette, change: Callable[[Colour], Colour], brightness: float) -> Palette:
    return Palette(
        sky_top=change(palette.sky_top),
        sky_horizon=change(palette.sky_horizon),
        sun=change(palette.sun),
        water=change(palette.water),
        land=change(palette.land),
        far_land=change(palette.far_land),
        brightness=brightness,
    )


def _scale(colour: Colour, factor: float) -> Colour:
    r, g, b = (min(int(c * factor), 255) for c in colour)
    return r, g, b


def _turned(colour: Colour, turn: float) -> Colour:
    hue, lightness, saturation = colorsys.rgb_to_hls(*(c / 255.0 for c in colour))
    r, g, b = colorsys.hls_to_rgb((hue + turn) % 1.0, lightness, saturation)
    return round(r * 255), round(g * 255), round(b * 255)


def shade(colour: Colour, factor: float) -> Colour:
    """A colour made lighter (factor > 1) or darker (< 1)."""
    return _scale(colour, factor)


def blend(a: Colour, b: Colour, t: float) -> Colour:
    r, g, bl = (round(x + (y - x) * t) for x, y in zip(a, b, strict=True))
    return r, g, bl
