"""The local text-to-image model: a picture of the prompt, the same every time it is
asked the same way, and visibly different when the prompt, seed or take changes."""

from __future__ import annotations

import io
import time

import numpy as np
import pytest
from PIL import Image

from adapters.providers.local.picture import render_picture

PROMPT = "a lighthouse on the sea at night in a storm"


def pixels(png: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(png)) as picture:
        assert picture.format == "PNG"
        return np.asarray(picture.convert("RGB"), dtype=np.float32)


def difference(a: bytes, b: bytes) -> float:
    """Mean absolute difference per channel, 0..255."""
    return float(np.abs(pixels(a) - pixels(b)).mean())


def test_the_picture_has_the_size_asked_for() -> None:
    assert pixels(render_picture(PROMPT, 1, 0, 320, 180)).shape == (180, 320, 3)
    assert pixels(render_picture(PROMPT, 1, 0, 200, 400)).shape == (400, 200, 3)


def test_the_same_request_gives_the_same_bytes() -> None:
    assert render_picture(PROMPT, 7, 2, 320, 180) == render_picture(PROMPT, 7, 2, 320, 180)


@pytest.mark.parametrize(
    "other",
    [
        ("sunrise over the hills", 7, 2),
        (PROMPT, 8, 2),
        (PROMPT, 7, 3),
    ],
    ids=["prompt", "seed", "take"],
)
def test_another_prompt_seed_or_take_gives_a_visibly_different_picture(
    other: tuple[str, int, int],
) -> None:
    first = render_picture(PROMPT, 7, 2, 320, 180)
    assert difference(first, render_picture(*other, 320, 180)) > 3.0


def test_night_is_darker_than_a_sunny_day() -> None:
    night = pixels(render_picture("the sea at night", 1, 0, 320, 180)).mean()
    day = pixels(render_picture("the sea on a sunny day", 1, 0, 320, 180)).mean()
    assert night < day / 2


def test_a_sunrise_is_warmer_than_a_night_storm() -> None:
    sunrise = pixels(render_picture("sunrise over the ocean", 1, 0, 320, 180))
    storm = pixels(render_picture("storm at night over the ocean", 1, 0, 320, 180))
    assert warmth(sunrise) > warmth(storm) + 10


def warmth(picture: np.ndarray) -> float:
    """How much redder than blue a picture is, on average."""
    return float((picture[..., 0] - picture[..., 2]).mean())


def test_unknown_words_still_change_the_picture() -> None:
    a = render_picture("quantum xylophone", 1, 0, 320, 180)
    b = render_picture("velvet harmonica", 1, 0, 320, 180)
    assert difference(a, b) > 3.0


def test_a_noir_prompt_is_black_and_white() -> None:
    picture = pixels(render_picture("a city street at night, noir", 1, 0, 320, 180))
    assert np.array_equal(picture[..., 0], picture[..., 1])
    assert np.array_equal(picture[..., 1], picture[..., 2])


def test_a_720p_picture_is_quick() -> None:
    started = time.perf_counter()
    render_picture(PROMPT, 1, 0, 1280, 720)
    assert time.perf_counter() - started < 1.5  # about 0.15 s; generous for shared machines
