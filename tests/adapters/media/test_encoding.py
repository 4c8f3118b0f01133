"""encode: the production and preview presets give the promised codec, size, rate and
layout, and burn captions in the same pass."""

from __future__ import annotations

import numpy as np
import pytest

from tests.adapters.media.harness import run
from tests.adapters.media.sources import decode, tone_level, top_level_boxes


async def test_production_is_h264_aac_at_the_asked_size_with_faststart(film: bytes) -> None:
    params = {"preset": "production", "fps": 24, "width": 256, "height": 144}
    data = await run("encode", params, {"video": film})
    made = decode(data)
    assert (made.video_codec, made.pix_fmt, made.width, made.height) == (
        "h264", "yuv420p", 256, 144,
    )  # fmt: skip
    assert made.fps == 24
    assert len(made.frames) == 48
    assert made.times == [index / made.fps for index in range(48)]
    assert (made.audio_codec, made.sample_rate, made.sound.shape[0]) == ("aac", 48_000, 2)
    assert made.audio_seconds == pytest.approx(made.video_seconds, abs=1 / 24)
    assert tone_level(made.sound, 48_000, 0.1, 0.9, 440.0) > 0.3
    boxes = top_level_boxes(data)
    assert boxes.index("moov") < boxes.index("mdat")


async def test_production_takes_the_films_own_format_by_default(film: bytes) -> None:
    made = decode(await run("encode", {"preset": "production"}, {"video": film}))
    assert (made.fps, made.width, made.height, len(made.frames)) == (24, 320, 180, 48)


async def test_preview_is_small_and_twelve_frames_a_second(film: bytes) -> None:
    params = {"preset": "preview", "fps": 24, "width": 1280, "height": 720}
    data = await run("encode", params, {"video": film})
    made = decode(data)
    assert (made.width, made.height) == (640, 360)
    assert made.fps == 12
    assert len(made.frames) == 24
    assert made.video_seconds == pytest.approx(2.0)
    assert made.audio_seconds == pytest.approx(2.0, abs=1 / 12)
    boxes = top_level_boxes(data)
    assert boxes.index("moov") < boxes.index("mdat")


async def test_captions_are_burnt_in_during_the_encode(moving_film: bytes) -> None:
    params = {
        "preset": "production",
        "captions": [{"text": "She turns and smiles", "start": 1.0, "end": 2.0}],
    }
    made = decode(await run("encode", params, {"video": moving_film}))
    plain = decode(await run("encode", {"preset": "production"}, {"video": moving_film}))

    def caption_change(index: int) -> float:
        rows = slice(135, 175)
        return float(
            np.abs(made.frames[index][rows].astype(int) - plain.frames[index][rows]).mean()
        )

    assert caption_change(12) < 2
    assert caption_change(30) > 8
