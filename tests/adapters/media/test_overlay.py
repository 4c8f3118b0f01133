"""overlay: a logo (keeping its transparency) or a picture in picture at the asked
corner and size, only between start and end."""

from __future__ import annotations

import numpy as np
import pytest

from engine.errors import TaskFailure
from tests.adapters.media.harness import run
from tests.adapters.media.sources import decode


async def test_logo_sits_in_the_top_right_corner_keeping_its_hole(
    moving_film: bytes, logo: bytes
) -> None:
    params = {"position": "top-right", "scale": 0.25}
    made = decode(await run("overlay", params, {"video": moving_film, "overlay": logo}))
    original = decode(moving_film)
    # 80x40 at a 13-pixel margin: x 227..307, y 13..53; the hole is its middle half
    frame, before = made.frames[40].astype(int), original.frames[40].astype(int)
    solid = frame[16:22, 232:302]
    assert solid[..., 0].mean() > 200 and solid[..., 2].mean() < 60
    assert np.abs(frame[28:38, 252:282] - before[28:38, 252:282]).mean() < 4
    assert np.abs(frame[80:, :] - before[80:, :]).mean() < 2
    assert len(made.frames) == 48


async def test_overlay_shows_only_between_start_and_end(moving_film: bytes, logo: bytes) -> None:
    params = {"position": "bottom-left", "scale": 0.25, "start": 0.5, "end": 1.0}
    made = decode(await run("overlay", params, {"video": moving_film, "overlay": logo}))
    corner = (slice(130, 165), slice(15, 90))
    reds = [frame[corner][..., 0].mean() - frame[corner][..., 2].mean() for frame in made.frames]
    shown = [index for index, red in enumerate(reds) if red > 100]
    assert shown == list(range(12, 24))


async def test_a_video_plays_as_a_picture_in_picture(moving_film: bytes, shot_b: bytes) -> None:
    params = {"position": "20,30", "scale": 0.5}
    made = decode(await run("overlay", params, {"video": moving_film, "overlay": shot_b}))
    box = (slice(32, 118), slice(22, 178))  # inside the 160x90 box at (20, 30)
    assert made.frames[6][box][..., 0].mean() > 150  # the red clip
    playing = np.abs(made.frames[6][box].astype(int) - made.frames[18][box]).mean()
    assert playing > 5  # its bar moves: it plays rather than stands still
    after = made.frames[40][box]  # the 1 s clip has ended at 1.67 s
    assert after[..., 0].mean() < 100
    assert made.audio_seconds == pytest.approx(decode(moving_film).audio_seconds)


async def test_a_bad_position_names_the_param(moving_film: bytes, logo: bytes) -> None:
    with pytest.raises(TaskFailure, match="'position'"):
        await run("overlay", {"position": "middle"}, {"video": moving_film, "overlay": logo})
