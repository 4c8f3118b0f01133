"""The keeper: a person in an oilskin coat and sou'wester, drawn standing with their
feet at a point, either in colour or as a dark silhouette against a lit window.

Measured in fractions of the figure's height, so a keeper far off on the rocks and one
filling a lantern room's window are the same drawing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from adapters.providers.local.scenery import Colour, shade

Box = tuple[int, int, int, int]  # left, top, right, bottom, in the picture's pixels

OILSKIN: Colour = (235, 185, 40)  # against the dark: sea, rock, a night sky
NAVY: Colour = (30, 38, 70)  # the keeper's uniform, against a bright sky
BOOTS: Colour = (35, 35, 40)
SKIN: Colour = (215, 170, 135)
SILHOUETTE: Colour = (22, 20, 24)


@dataclass(frozen=True)
class Keeper:
    x: float  # the centre, between the feet
    feet: float  # where the feet stand
    tall: float  # pixels from the soles to the top of the hat
    facing: float  # -1 looks left, 1 looks right


def paint_keeper(
    picture: Image.Image,
    draw: ImageDraw.ImageDraw,
    keeper: Keeper,
    lit: float,
    *,
    silhouette: bool = False,
) -> Box:
    """Draw `keeper` on `picture` (through `draw`), coloured as lit by `lit` (0..1) or as
    a silhouette; return the box the figure covers. The coat is whichever of the
    keeper's two stands out from what is behind: a yellow oilskin or a navy uniform."""
    box = _box(keeper)
    if silhouette:
        coat = boots = skin = SILHOUETTE
    else:
        behind = _brightness(picture, box)
        coat = shade(NAVY if behind > 120 else OILSKIN, lit)
        boots, skin = shade(BOOTS, lit), shade(SKIN, lit)
    x, feet, tall, facing = keeper.x, keeper.feet, keeper.tall, keeper.facing

    def at(dx: float, up: float) -> tuple[float, float]:
        return x + dx * tall, feet - up * tall

    for side in (-1.0, 1.0):  # legs and boots
        draw.polygon((at(side * 0.02, 0.42), at(side * 0.1, 0.42), at(side * 0.09, 0.0),
                      at(side * 0.02, 0.0)), fill=boots)  # fmt: skip
    draw.polygon((at(-0.15, 0.35), at(-0.11, 0.76), at(0.11, 0.76), at(0.15, 0.35)), fill=coat)
    for side in (-1.0, 1.0):  # arms hang at the coat's sides
        draw.polygon((at(side * 0.11, 0.76), at(side * 0.17, 0.72), at(side * 0.19, 0.44),
                      at(side * 0.14, 0.44)), fill=coat)  # fmt: skip
    head = (*at(-0.065, 0.9), *at(0.065, 0.76))
    draw.ellipse(head, fill=skin)
    # the sou'wester: a crown over the head and a brim that droops behind
    draw.chord((*at(-0.08, 0.97), *at(0.08, 0.83)), 180, 360, fill=coat)
    draw.polygon((at(-0.11, 0.88), at(0.11, 0.88), at(0.11 + 0.04 * -facing, 0.85),
                  at(-0.11 - 0.04 * facing, 0.84)), fill=coat)  # fmt: skip
    return box


def _box(keeper: Keeper) -> Box:
    half = keeper.tall * 0.2
    top = keeper.feet - keeper.tall
    return int(keeper.x - half), int(top), int(keeper.x + half + 1), int(keeper.feet + 1)


def _brightness(picture: Image.Image, box: Box) -> float:
    """The mean luma (0..255) of the picture where the box is, before the keeper."""
    left, top = max(box[0], 0), max(box[1], 0)
    right, bottom = min(box[2], picture.width), min(box[3], picture.height)
    if left >= right or top >= bottom:
        return 0.0
    region = np.asarray(picture.crop((left, top, right, bottom)).convert("L"), dtype=np.float32)
    return float(region.mean())
