"""The lighthouse of a local picture: a tapering red and white tower on a rock, the
gallery around its top, the lantern room with its lamp lit and after dark its beam
sweeping out over the water; and the keeper, when the words ask for one, at the
lantern's window, out on the gallery or on the rocks below.

The framing decides how big the tower stands: far off in a wide shot, filling the
height of a close-up.
"""

from __future__ import annotations

from dataclasses import dataclass

from adapters.providers.local._canvas import Canvas
from adapters.providers.local.figures import Box, Keeper, paint_keeper
from adapters.providers.local.scenery import Colour, Scenery, shade

STONE: Colour = (60, 58, 62)
LAMP: Colour = (255, 236, 160)
RED: Colour = (190, 40, 40)
WHITE: Colour = (235, 235, 230)
SIZES = {"wide": 0.34, "medium": 0.62, "close": 0.8}  # the tower's height / the picture's
BANDS = 5


@dataclass(frozen=True)
class Tower:
    """Where the tower stands, in pixels: its axis, the foot and the top of its body
    (where the gallery is), its half widths at foot and head, the lantern room, and
    which way the open picture lies."""

    x: float
    base: float
    top: float
    foot: float
    head: float
    lantern: tuple[float, float, float, float]  # left, top, right, bottom
    inward: float  # toward the middle of the picture: -1 left, 1 right


def paint_lighthouse(canvas: Canvas, scenery: Scenery) -> Box | None:
    """Paint the lighthouse; return the keeper's box when the keeper is on it."""
    tower = _placed(canvas, scenery)
    lit = 0.4 + 0.6 * scenery.palette.brightness
    _rock(canvas, tower, lit)
    _body(canvas, tower, lit)
    _lantern(canvas, tower)
    if scenery.night or scenery.storm or scenery.light == "sunset":
        _beam(canvas, tower, scenery.framing == "wide")
    keeper = None
    place = _keeper_place(scenery)
    if place == "window":
        keeper = _at_window(canvas, tower)
    elif place == "gallery":
        keeper = _on_gallery(canvas, tower, lit)
    _railing(canvas, tower, lit)
    if place == "rocks":
        keeper = _on_rocks(canvas, tower, lit)
    return keeper


def _placed(canvas: Canvas, scenery: Scenery) -> Tower:
    width, height, horizon = canvas.width, canvas.height, canvas.horizon
    scale = SIZES[scenery.framing] / SIZES["wide"]
    side = float(canvas.rng.choice((0.22, 0.78)))
    if scenery.framing == "wide":
        x = width * (side + canvas.uniform(-0.07, 0.07))
        base = horizon + (height - horizon) * canvas.uniform(0.25, 0.45)
    else:  # nearer, and far enough from the edge for the gallery and a keeper on it
        x = width * (0.5 + (side - 0.5) * 0.75 + canvas.uniform(-0.03, 0.03))
        low = (0.9, 0.96) if scenery.framing == "medium" else (1.0, 1.04)
        base = height * canvas.uniform(*low)
    top = base - height * SIZES[scenery.framing]
    head = height * 0.032 * scale
    lantern = (x - head * 0.8, top - height * 0.045 * scale, x + head * 0.8, top)
    inward = 1.0 if x < width / 2 else -1.0
    return Tower(x, base, top, height * 0.05 * scale, head, lantern, inward)


def _rock(canvas: Canvas, tower: Tower, lit: float) -> None:
    reach, rise = tower.foot * 3.2, tower.foot * 0.6
    rock = (tower.x - reach, tower.base - rise, tower.x + reach, tower.base + rise * 2.7)
    canvas.draw.ellipse(rock, fill=shade(STONE, 0.5 + 0.5 * (lit - 0.4) / 0.6))


def _body(canvas: Canvas, tower: Tower, lit: float) -> None:
    x, tall = tower.x, tower.base - tower.top
    for n in range(BANDS):
        y0, y1 = tower.base - tall * n / BANDS, tower.base - tall * (n + 1) / BANDS
        w0 = tower.foot + (tower.head - tower.foot) * n / BANDS
        w1 = tower.foot + (tower.head - tower.foot) * (n + 1) / BANDS
        band = ((x - w0, y0), (x - w1, y1), (x + w1, y1), (x + w0, y0))
        canvas.draw.polygon(band, fill=shade(RED if n % 2 == 0 else WHITE, lit))
    floor = tower.head * 0.25
    deck = (x - tower.head * 1.5, tower.top - floor * 0.2, x + tower.head * 1.5, tower.top + floor)
    canvas.draw.rectangle(deck, fill=STONE)


def _lantern(canvas: Canvas, tower: Tower) -> None:
    """The lit room of glass, its glazing bars, and the roof over it."""
    left, top, right, bottom = tower.lantern
    canvas.draw.rectangle(tower.lantern, fill=LAMP)
    bar = max(int((right - left) / 14), 1)
    for n in (1, 2):
        bx = left + (right - left) * n / 3
        canvas.draw.line(((bx, top), (bx, bottom)), fill=(*STONE, 160), width=bar)
    rise = (bottom - top) * 0.66
    roof = ((left - tower.head * 0.4, top), (tower.x, top - rise), (right + tower.head * 0.4, top))
    canvas.draw.polygon(roof, fill=STONE)


def _beam(canvas: Canvas, tower: Tower, either_way: bool) -> None:
    """The beam, toward either side in a wide shot; nearer, toward the open water."""
    x, y = tower.x, (tower.lantern[1] + tower.lantern[3]) / 2
    side = float(canvas.rng.choice((-1.0, 1.0))) if either_way else tower.inward
    far = x + side * canvas.width * 0.9
    spread = canvas.height * canvas.uniform(0.06, 0.12)
    drop = canvas.height * canvas.uniform(-0.04, 0.08)
    beam = ((x, y - 3), (far, y + drop - spread), (far, y + drop + spread), (x, y + 3))
    canvas.draw.polygon(beam, fill=(*LAMP, 75))
    glow = canvas.height * 0.04
    canvas.draw.ellipse((x - glow, y - glow, x + glow, y + glow), fill=(*LAMP, 110))


def _railing(canvas: Canvas, tower: Tower, lit: float) -> None:
    """The gallery's rail, in front of whatever stands on it."""
    high = (tower.lantern[3] - tower.lantern[1]) * 0.4
    left, right, y = tower.x - tower.head * 1.5, tower.x + tower.head * 1.5, tower.top
    line = max(int(tower.head / 10), 1)
    colour = shade(STONE, 0.6 + 0.4 * lit)
    canvas.draw.line(((left, y - high), (right, y - high)), fill=colour, width=line)
    for n in range(7):
        post = left + (right - left) * n / 6
        canvas.draw.line(((post, y - high), (post, y)), fill=colour, width=line)


def _keeper_place(scenery: Scenery) -> str | None:
    """Where on the lighthouse the keeper stands; out of a close view the rocks below
    would be out of the picture, so an outdoor keeper stands on the gallery."""
    if scenery.figure is None:
        return None
    if scenery.figure == "outside":
        return "rocks" if scenery.framing == "wide" else "gallery"
    return scenery.figure


def _at_window(canvas: Canvas, tower: Tower) -> Box:
    """Dark against the lamp behind the glass, looking out to sea."""
    left, top, right, bottom = tower.lantern
    keeper = Keeper(
        tower.x + (right - left) * 0.12 * tower.inward,
        bottom,
        (bottom - top) * 0.92,
        tower.inward,
    )
    return paint_keeper(canvas.picture, canvas.draw, keeper, 1.0, silhouette=True)


def _on_gallery(canvas: Canvas, tower: Tower, lit: float) -> Box:
    left, top, right, bottom = tower.lantern
    tall = (bottom - top) * 1.05
    x = tower.x + tower.inward * ((right - left) / 2 + tall * 0.22)
    return paint_keeper(canvas.picture, canvas.draw, Keeper(x, tower.top, tall, tower.inward), lit)


def _on_rocks(canvas: Canvas, tower: Tower, lit: float) -> Box:
    tall = (tower.base - tower.top) * 0.16
    x = tower.x + tower.inward * tower.foot * 1.9
    return paint_keeper(canvas.picture, canvas.draw, Keeper(x, tower.base, tall, tower.inward), lit)
