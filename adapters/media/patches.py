"""Pictures laid over part of a frame (a caption, a logo, a picture in picture), kept as
yuv420p planes with their coverage so each frame only blends the region they cover:
no whole-frame colour conversion on the render's hot path."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from av.video.frame import VideoFrame
from PIL import Image

from adapters.media.picture import Plane, planes_of

Weights = np.ndarray[Any, np.dtype[np.uint16]]

# coverage in 1/128ths: the products of 8-bit samples and weights then fit in uint16
FULL = 128
HD_HEIGHT = 720  # from here up players assume BT.709 colours, below BT.601
_MATRICES = {False: (0.299, 0.114), True: (0.2126, 0.0722)}


@dataclass(frozen=True)
class Patch:
    """Planes placed with their top-left corner at (x, y) of the frame, both even.
    `cover` is None for an opaque patch; otherwise the planes are premultiplied by
    it and `keep` is what remains of the frame below (FULL - cover)."""

    x: int
    y: int
    planes: tuple[Weights, Weights, Weights]
    keep: tuple[Weights, Weights] | None  # luma-size and chroma-size weights

    @property
    def width(self) -> int:
        return int(self.planes[0].shape[1])

    @property
    def height(self) -> int:
        return int(self.planes[0].shape[0])


def patch_from_image(image: Image.Image, x: int, y: int, frame_height: int) -> Patch:
    """A patch of an RGBA picture whose top-left corner goes at (x, y), rounded to even."""
    rgba = np.asarray(_even_sized(image.convert("RGBA")), np.float32) / 255.0
    alpha = rgba[..., 3]
    luma, u, v = _yuv(rgba[..., :3], frame_height >= HD_HEIGHT)
    cover = np.rint(alpha * FULL)
    cover_half = _halve(cover)
    u_half = _halve(u * alpha) / np.maximum(_halve(alpha), 1e-6)
    v_half = _halve(v * alpha) / np.maximum(_halve(alpha), 1e-6)
    planes = (
        _weights(luma * cover),
        _weights(u_half * cover_half),
        _weights(v_half * cover_half),
    )
    keep = (_weights(FULL - cover), _weights(FULL - cover_half))
    return Patch(x // 2 * 2, y // 2 * 2, planes, keep)


def patch_from_frame(frame: VideoFrame, x: int, y: int) -> Patch:
    """An opaque patch of a yuv420p frame's picture."""
    luma, u, v = planes_of(frame)
    planes = (luma.astype(np.uint16), u.astype(np.uint16), v.astype(np.uint16))
    return Patch(x // 2 * 2, y // 2 * 2, planes, None)


def blend(frame: VideoFrame, patch: Patch) -> None:
    """Lay `patch` over a writable yuv420p frame, in place, cut to the frame's edges."""
    for index, (plane, layer) in enumerate(zip(planes_of(frame), patch.planes, strict=True)):
        halve = 1 if index == 0 else 2
        region, cut = _overlap(plane, layer, patch.x // halve, patch.y // halve)
        if region is None:
            return
        if patch.keep is None:
            region[...] = layer[cut]
        else:
            keep = patch.keep[0 if index == 0 else 1][cut]
            region[...] = (region * keep + layer[cut] + FULL // 2) >> 7


def _overlap(
    plane: Plane, layer: Weights, x: int, y: int
) -> tuple[Plane | None, tuple[slice, slice]]:
    """The part of `plane` under `layer` placed at (x, y), and which part of `layer`."""
    top, left = max(y, 0), max(x, 0)
    bottom = min(y + layer.shape[0], plane.shape[0])
    right = min(x + layer.shape[1], plane.shape[1])
    cut = (slice(top - y, bottom - y), slice(left - x, right - x))
    if bottom <= top or right <= left:
        return None, cut
    return plane[top:bottom, left:right], cut


def _even_sized(image: Image.Image) -> Image.Image:
    width, height = image.width + image.width % 2, image.height + image.height % 2
    if (width, height) == image.size:
        return image
    padded = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    padded.paste(image, (0, 0))
    return padded


def _yuv(rgb: np.ndarray, hd: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Limited-range Y, U, V (floats) of RGB in 0..1."""
    kr, kb = _MATRICES[hd]
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    y = kr * r + (1.0 - kr - kb) * g + kb * b
    u = (b - y) / (2.0 * (1.0 - kb))
    v = (r - y) / (2.0 * (1.0 - kr))
    return 16.0 + 219.0 * y, 128.0 + 224.0 * u, 128.0 + 224.0 * v


def _halve(values: np.ndarray) -> np.ndarray:
    """Mean of each 2x2 block."""
    rows, cols = values.shape
    means: np.ndarray = values.reshape(rows // 2, 2, cols // 2, 2).mean(axis=(1, 3))
    return means


def _weights(values: np.ndarray) -> Weights:
    weights: Weights = np.rint(values).astype(np.uint16)
    return weights
