"""What a prompt asks a local picture to show: the time of day, the weather, the things
in it (a keeper among them, and where he stands), how close the camera is, and the
colours. Known words choose; every other word still shifts the colours, so two
prompts never look alike by accident.

A shot's prompt may carry its caption after it ("..., At dawn the keeper steps out"),
so the first word that names a time of day decides it: the prompt leads, the caption
fills in what the prompt leaves unsaid.
"""

from __future__ import annotations

import colorsys
import re
from collections.abc import Callable
from dataclasses import dataclass

from adapters.providers.local._determinism import fingerprint

Colour = tuple[int, int, int]

TIMES = ("day", "sunrise", "sunset", "night")
STORM = "storm"  # weather, over any time of day
FIGURE = "figure"  # a person: the keeper
PLACES = ("window", "gallery")  # where a figure stands; elsewhere it stands outside
FRAMINGS = ("wide", "medium", "close")

# word -> what it brings into the picture: a time of day (TIMES), STORM, FIGURE, a
# place (PLACES) or a framing (FRAMINGS); the rest are elements
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
    "day": ("day",),
    "daytime": ("day",),
    "daylight": ("day",),
    "noon": ("day", "sun"),
    "afternoon": ("day", "sun"),
    "storm": ("storm", "rain", "clouds", "lightning"),
    "stormy": ("storm", "rain", "clouds"),
    "thunder": ("storm", "clouds", "lightning"),
    "lightning": ("storm", "lightning"),
    "gale": ("storm", "rain", "clouds"),
    "tempest": ("storm", "rain", "clouds", "lightning"),
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
    "keeper": (FIGURE,),
    "man": (FIGURE,),
    "woman": (FIGURE,),
    "person": (FIGURE,),
    "figure": (FIGURE,),
    "someone": (FIGURE,),
    "fisherman": (FIGURE,),
    "sailor": (FIGURE,),
    "window": ("window",),
    "gallery": ("gallery",),
    "balcony": ("gallery",),
    "railing": ("gallery",),
    "close": ("close",),
    "closeup": ("close",),
    "medium": ("medium",),
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
}
STORM_PALETTE = Palette(
    (40, 45, 55),
    (95, 100, 110),
    (200, 200, 200),
    (35, 50, 60),
    (40, 55, 45),
    (70, 75, 85),
    0.5,
)
# how much of the storm's grey light each time of day lets through
STORM_LIGHT = {"day": 1.0, "sunrise": 0.75, "sunset": 0.6, "night": 0.3}


@dataclass(frozen=True)
class Scenery:
    light: str  # the time of day, one of TIMES
    storm: bool
    elements: frozenset[str]
    palette: Palette
    mono: bool
    words: tuple[str, ...]
    figure: str | None = None  # where the keeper stands: a PLACE, "outside", or no keeper
    framing: str = "wide"  # one of FRAMINGS: how close the camera is to the lighthouse

    @property
    def night(self) -> bool:
        return self.light == "night"


def scenery_for(prompt: str) -> Scenery:
    """Read a prompt as a picture to paint."""
    words = tuple(re.findall(r"[a-z]+", prompt.lower()))
    found: list[str] = []  # features in the order the words bring them
    unknown: list[str] = []
    for word in words:
        features = VOCABULARY.get(word) or VOCABULARY.get(word.rstrip("s"))
        if features:
            found.extend(features)
        elif len(word) > 2 and word not in PLAIN_WORDS:
            unknown.append(word)
    light = next((feature for feature in found if feature in TIMES), "day")
    storm = STORM in found
    elements = set(found) - {*TIMES, STORM, FIGURE, *PLACES, *FRAMINGS, "mono"}
    if not elements & {"sea", "hills", "mountains", "desert", "city"}:
        elements.add(LANDS[fingerprint("land", *unknown)[0] % len(LANDS)])
    if light == "night" or storm:
        elements.discard("sun")
    palette = PALETTES[light]
    palette = _tinted(_stormy(palette, light) if storm else palette, unknown)
    figure = None
    if FIGURE in found:
        figure = next((feature for feature in found if feature in PLACES), "outside")
    # a keeper up on the lighthouse is too small to see from far off
    nearer = "medium" if figure in PLACES else "wide"
    framing = next((feature for feature in found if feature in FRAMINGS), nearer)
    return Scenery(
        light, storm, frozenset(elements), palette, "mono" in found, words, figure, framing
    )


def _stormy(palette: Palette, light: str) -> Palette:
    """The time of day under storm clouds: its colours mostly turned to the storm's grey,
    as bright as the hour allows."""
    level, grey = STORM_LIGHT[light], STORM_PALETTE

    def mixed(ours: Colour, storms: Colour) -> Colour:
        return blend(ours, _scale(storms, level), 0.7)

    return Palette(
        sky_top=mixed(palette.sky_top, grey.sky_top),
        sky_horizon=mixed(palette.sky_horizon, grey.sky_horizon),
        sun=mixed(palette.sun, grey.sun),
        water=mixed(palette.water, grey.water),
        land=mixed(palette.land, grey.land),
        far_land=mixed(palette.far_land, grey.far_land),
        brightness=min(palette.brightness, grey.brightness * level),
    )


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
