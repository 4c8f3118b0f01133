"""A picture being painted, with what every painter of it needs."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw


@dataclass(frozen=True)
class Canvas:
    """Where to draw (with alpha blending), the picture's own random numbers, and the
    height of its horizon in pixels."""

    picture: Image.Image
    draw: ImageDraw.ImageDraw
    rng: np.random.Generator
    horizon: float

    @property
    def width(self) -> int:
        return self.picture.width

    @property
    def height(self) -> int:
        return self.picture.height

    def uniform(self, low: float, high: float) -> float:
        return float(self.rng.uniform(low, high))
