"""The local text-to-image model: a picture of the prompt, the same every time it is
asked the same way, and visibly different when the prompt, seed or take changes."""

from __future__ import annotations

import io
import time

import numpy as np
import pytest
from PIL import Image

from adapters.providers.local.picture import paint, render_picture

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


@pytest.mark.parametrize("prompt", [PROMPT, "the keeper at the lighthouse window, close-up"])
def test_the_same_request_gives_the_same_bytes(prompt: str) -> None:
    assert paint(prompt, 7, 2, 320, 180) == paint(prompt, 7, 2, 320, 180)


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


def luma(picture: np.ndarray) -> np.ndarray:
    weighted: np.ndarray = (
        0.299 * picture[..., 0] + 0.587 * picture[..., 1] + 0.114 * picture[..., 2]
    )
    return weighted


def test_the_first_time_of_day_named_decides() -> None:
    """A shot's prompt comes before its caption's words, so it leads: dawn with a
    caption that remembers the night is still dawn, and the other way round."""
    dawn = pixels(render_picture("the sea at dawn, a memory of the night", 1, 0, 320, 180))
    night = pixels(render_picture("the sea at night, dreaming of dawn", 1, 0, 320, 180))
    assert luma(night).mean() < luma(dawn).mean() / 3


def rain_streaks(picture: np.ndarray) -> float:
    """The share of the sky's pixels brighter than both their left and right
    neighbours by a clear step: thin streaks crossing it."""
    sky = luma(picture)[: picture.shape[0] // 2]
    step = sky[:, 1:-1] - np.maximum(sky[:, :-2], sky[:, 2:])
    return float((step > 6.0).mean())


def colourfulness(picture: np.ndarray) -> float:
    """How much colour the sky has: the mean spread of its channels, 0..255."""
    sky = picture[: picture.shape[0] // 3]
    return float((sky.max(axis=-1) - sky.min(axis=-1)).mean())


@pytest.mark.parametrize("when", ["at night", "by day", "at dawn", "at dusk"])
def test_a_storm_brings_rain_at_any_hour(when: str) -> None:
    clear = pixels(render_picture(f"the sea {when}", 1, 0, 640, 360))
    storm = pixels(render_picture(f"the sea {when} in a storm", 1, 0, 640, 360))
    assert rain_streaks(storm) > 5 * rain_streaks(clear) + 0.002


@pytest.mark.parametrize("when", ["by day", "at dawn", "at dusk"])
def test_storm_cloud_turns_a_coloured_sky_grey(when: str) -> None:
    clear = pixels(render_picture(f"the sea {when}", 1, 0, 640, 360))
    storm = pixels(render_picture(f"the sea {when} in a storm", 1, 0, 640, 360))
    assert colourfulness(storm) < colourfulness(clear) / 2


def lit_sky(picture: np.ndarray) -> float:
    """The share of the upper half that is well lit."""
    return float((luma(picture[: picture.shape[0] // 2]) > 50).mean())


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_lighthouse_at_night_sends_its_beam_across_the_dark(seed: int) -> None:
    dark_sea = pixels(render_picture("the sea at night", seed, 0, 320, 180))
    lighthouse = pixels(render_picture("a lighthouse at night", seed, 0, 320, 180))
    assert lit_sky(dark_sea) < 0.01  # stars and the moon are small
    assert lit_sky(lighthouse) > 0.04


def keeper_of(prompt: str, seed: int = 1) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    painting = paint(prompt, seed, 0, 640, 360)
    assert painting.keeper is not None, prompt
    return pixels(painting.png), painting.keeper


def stands_out(picture: np.ndarray, box: tuple[int, int, int, int]) -> float:
    """How far the colour inside `box` is from the colour around it (the sum of the
    three channels' differences)."""
    left, top, right, bottom = box
    wide, high = right - left, bottom - top
    outer_left, outer_top = max(left - wide, 0), max(top - high // 2, 0)
    around = picture[outer_top : bottom + high // 2, outer_left : right + wide].copy()
    keep = np.ones(around.shape[:2], bool)
    keep[top - outer_top : bottom - outer_top, left - outer_left : right - outer_left] = False
    inside = picture[top:bottom, left:right].reshape(-1, 3).mean(axis=0)
    return float(np.abs(inside - around[keep].mean(axis=0)).sum())


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_keeper_at_the_window_is_dark_against_the_lamp(seed: int) -> None:
    picture, box = keeper_of("the keeper at the lighthouse window at night", seed)
    left, top, right, bottom = box
    assert bottom < 360 * 0.5  # up in the lantern room, not on the rocks
    assert bottom - top >= 360 * 0.06  # big enough to make out
    inside = luma(picture[top:bottom, left:right])
    assert (inside < 60).mean() > 0.4  # the figure ...
    assert (inside > 150).mean() > 0.1  # ... against the lit glass


@pytest.mark.parametrize(
    "prompt",
    [
        "at dawn, the keeper on the gallery of the lighthouse",
        "a lighthouse keeper at dusk",
        "a lighthouse keeper",
        "a keeper in the hills at dawn",
        "a keeper by the sea at night in a storm",
    ],
)
def test_the_keeper_stands_out_wherever_he_stands(prompt: str) -> None:
    picture, box = keeper_of(prompt)
    assert stands_out(picture, box) > 60, prompt


def test_the_keeper_on_the_gallery_is_high_up_beside_the_lantern() -> None:
    _, box = keeper_of("at dawn, the keeper on the gallery of the lighthouse")
    assert box[3] < 360 * 0.5


def test_no_keeper_is_painted_when_no_one_is_named() -> None:
    assert paint("a lighthouse at night, close-up", 1, 0, 640, 360).keeper is None
    assert paint("the sea at dawn", 1, 0, 640, 360).keeper is None
