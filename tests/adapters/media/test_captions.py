"""burn_captions: a caption is visibly drawn in the bottom centre while it is on, and
gone after; the rest of the picture, its length and its sound are kept."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from engine.errors import TaskFailure
from tests.adapters.media.harness import run
from tests.adapters.media.sources import decode

CAPTION_ROWS = slice(135, 175)  # bottom of a 180-pixel frame
TOP_ROWS = slice(0, 100)


def change(before: Any, after: Any, rows: slice, columns: slice = slice(None)) -> float:
    return float(np.abs(before[rows, columns].astype(int) - after[rows, columns]).mean())


async def test_caption_is_drawn_while_on_and_not_after(moving_film: bytes) -> None:
    params = {"captions": [{"text": "Rain on the glass", "start": 0.5, "end": 1.25}]}
    made = decode(await run("burn_captions", params, {"video": moving_film}))
    original = decode(moving_film)
    assert len(made.frames) == len(original.frames) == 48
    on = [index for index in range(48) if 0.5 <= index / 24 < 1.25]
    for index, (before, after) in enumerate(zip(original.frames, made.frames, strict=True)):
        if index in on:
            assert change(before, after, CAPTION_ROWS) > 8, f"no caption in frame {index}"
        else:
            assert change(before, after, CAPTION_ROWS) < 2, f"caption left in frame {index}"
        assert change(before, after, TOP_ROWS) < 2
    assert made.audio_seconds == pytest.approx(original.audio_seconds)


async def test_a_long_caption_wraps_inside_the_frame(moving_film: bytes) -> None:
    text = "a slow dolly shot across a rain soaked neon street at night with reflections"
    params = {"captions": [{"text": text, "start": 0.0, "end": 2.0}]}
    made = decode(await run("burn_captions", params, {"video": moving_film}))
    original = decode(moving_film)
    before, after = original.frames[3], made.frames[3]
    edges = (slice(0, 12), slice(308, 320))
    assert all(change(before, after, slice(None), edge) < 2 for edge in edges)
    one_line = change(before, after, slice(150, 175))
    higher_line = change(before, after, slice(120, 145))
    assert one_line > 8 and higher_line > 8  # two lines or more


async def test_captions_on_together_are_all_drawn(moving_film: bytes) -> None:
    captions = [
        {"text": "First speaker", "start": 0.0, "end": 1.0},
        {"text": "Second speaker", "start": 0.5, "end": 1.5},
    ]
    made = decode(await run("burn_captions", {"captions": captions}, {"video": moving_film}))
    original = decode(moving_film)
    alone, together = 6, 18  # frames at 0.25 s and 0.75 s
    upper_line = slice(139, 150)  # above a single caption's box
    assert change(original.frames[together], made.frames[together], upper_line) > 8
    assert change(original.frames[alone], made.frames[alone], upper_line) < 2


@pytest.mark.parametrize(
    ("caption", "named"),
    [
        ({"text": "x", "start": 1.0, "end": 0.5}, "captions[0].end"),
        ({"text": "x", "end": 0.5}, "captions[0].start"),
        ({"text": 3, "start": 0.0, "end": 0.5}, "captions[0].text"),
    ],
)
async def test_a_bad_caption_is_refused_naming_the_field(
    moving_film: bytes, caption: dict[str, Any], named: str
) -> None:
    with pytest.raises(TaskFailure) as failure:
        await run("burn_captions", {"captions": [caption]}, {"video": moving_film})
    assert failure.value.kind == "invalid_input"
    assert repr(named) in failure.value.message
