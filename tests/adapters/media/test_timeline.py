"""concat: the film lasts the sum of its shots, keeps sound and picture in step across
the joins, and copies normalised clips' pictures without re-encoding them."""

from __future__ import annotations

import pytest

from engine.errors import TaskFailure
from tests.adapters.media.harness import run
from tests.adapters.media.sources import decode, rms, tone_level, video_packets

ONE_FRAME = 1 / 24


async def test_joined_film_lasts_the_sum_of_its_shots(shot_a: bytes, shot_b: bytes) -> None:
    inputs = {"clip-001": shot_a, "clip-002": shot_b, "clip-003": shot_a}
    made = decode(await run("concat", {"duration": 3.0}, inputs), keep_frames=False)
    assert len(made.times) == 72
    assert made.times == [index / made.fps for index in range(72)]
    assert made.video_seconds == pytest.approx(3.0, abs=ONE_FRAME)
    assert made.audio_seconds == pytest.approx(made.video_seconds, abs=ONE_FRAME)


async def test_sound_stays_with_its_shot_across_the_join(film: bytes) -> None:
    made = decode(film, keep_frames=False)
    assert tone_level(made.sound, 48_000, 0.05, 0.95, 440.0) > 0.3
    assert rms(made.sound, 48_000, 1.03, 1.97) < 1e-3


async def test_normalised_clips_are_joined_without_re_encoding(
    shot_a: bytes, shot_b: bytes, film: bytes
) -> None:
    assert video_packets(film) == video_packets(shot_a) + video_packets(shot_b)


async def test_clips_are_joined_in_input_name_order(shot_a: bytes, shot_b: bytes) -> None:
    made = await run("concat", {}, {"clip-002": shot_a, "clip-001": shot_b})
    assert video_packets(made) == video_packets(shot_b) + video_packets(shot_a)


async def test_clips_of_other_formats_are_re_encoded_to_the_first(
    shot_a: bytes, silent_clip: bytes
) -> None:
    # 320x180 24 fps, then 256x192 30 fps lasting 0.9 s
    made = decode(await run("concat", {}, {"clip-001": shot_a, "clip-002": silent_clip}))
    assert (made.fps, made.width, made.height) == (24, 320, 180)
    assert len(made.frames) == 24 + round(0.9 * 24)
    assert made.audio_seconds == pytest.approx(made.video_seconds, abs=ONE_FRAME)
    assert made.frames[30][90, 160][0] > 150  # the red clip, letterboxed


async def test_a_join_is_padded_to_the_asked_duration(shot_a: bytes, shot_b: bytes) -> None:
    inputs = {"clip-001": shot_a, "clip-002": shot_b}
    made = decode(await run("concat", {"duration": 2.5}, inputs), keep_frames=False)
    assert len(made.times) == 60
    assert made.audio_seconds == pytest.approx(2.5, abs=ONE_FRAME)


async def test_concat_without_clips_says_what_it_needs(shot_a: bytes) -> None:
    with pytest.raises(TaskFailure, match="clip-001, clip-002") as failure:
        await run("concat", {}, {"video": shot_a})
    assert failure.value.kind == "invalid_input"
