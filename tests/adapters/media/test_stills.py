"""thumbnail and contact_sheet: PNGs of the frames shown at the asked times."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from engine.errors import TaskFailure
from tests.adapters.media.harness import run, run_output
from tests.adapters.media.sources import decode


def picture(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB")).astype(int)


async def test_thumbnail_is_the_frame_shown_at_the_asked_time(moving_film: bytes) -> None:
    output = await run_output("thumbnail", {"at": 1.5}, {"video": moving_film})
    assert output.media_type == "image/png"
    assert output.data is not None
    frames = decode(moving_film).frames
    thumb = picture(output.data)
    assert thumb.shape == (180, 320, 3)
    assert np.abs(thumb - frames[36]).mean() < 2
    assert np.abs(thumb - frames[24]).mean() > 5


async def test_thumbnail_scales_to_the_asked_width(moving_film: bytes) -> None:
    thumb = picture(await run("thumbnail", {"at": 0.0, "width": 160}, {"video": moving_film}))
    assert thumb.shape == (90, 160, 3)


async def test_thumbnail_past_the_end_names_the_param(moving_film: bytes) -> None:
    with pytest.raises(TaskFailure, match="'at'") as failure:
        await run("thumbnail", {"at": 5.0}, {"video": moving_film})
    assert failure.value.kind == "invalid_input"


async def test_contact_sheet_lays_out_evenly_spaced_frames(moving_film: bytes) -> None:
    params = {"columns": 3, "rows": 2, "tile_width": 96}
    sheet = picture(await run("contact_sheet", params, {"video": moving_film}))
    gap, tile_w, tile_h = 4, 96, 54
    assert sheet.shape == (2 * (tile_h + gap) + gap, 3 * (tile_w + gap) + gap, 3)
    frames = decode(moving_film).frames
    for index in range(6):
        row, column = divmod(index, 3)
        top, left = gap + row * (tile_h + gap), gap + column * (tile_w + gap)
        tile = sheet[top : top + tile_h, left : left + tile_w]
        at = (index + 0.5) * 2.0 / 6  # seconds
        expected = Image.fromarray(frames[int(at * 24)]).resize((tile_w, tile_h))
        assert np.abs(tile - np.asarray(expected).astype(int)).mean() < 6, f"tile {index}"
