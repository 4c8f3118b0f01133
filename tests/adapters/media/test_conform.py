"""normalize and trim_pad: exact frame counts, constant rate and size, sound as long as
the picture."""

from __future__ import annotations

import numpy as np
import pytest

from tests.adapters.media.harness import run
from tests.adapters.media.sources import clip_bytes, decode, rms, tone_level

ONE_FRAME = 1 / 24


@pytest.mark.parametrize(
    ("source", "seconds"),
    [((320, 180, 25, 1.2), 1.0), ((256, 192, 30, 0.9), 1.0), ((320, 180, 25, 1.2), 0.5)],
    ids=["25fps-long-trimmed", "30fps-short-padded", "cut-to-half"],
)
async def test_normalize_gives_exact_frames_rate_size_and_sound(
    source: tuple[int, int, int, float], seconds: float
) -> None:
    width, height, fps, length = source
    clip = clip_bytes(width, height, fps, length)
    params = {"fps": 24, "width": 160, "height": 90, "duration": seconds}
    made = decode(await run("normalize", params, {"video": clip}))
    assert len(made.frames) == round(seconds * 24)
    assert made.times == [index / made.fps for index in range(len(made.frames))]
    assert made.fps == 24
    assert (made.width, made.height, made.video_codec, made.pix_fmt) == (160, 90, "h264", "yuv420p")
    assert {frame.shape for frame in made.frames} == {(90, 160, 3)}
    assert made.video_seconds == pytest.approx(seconds)
    assert (made.audio_codec, made.sample_rate, made.sound.shape[0]) == ("aac", 48_000, 2)
    assert made.audio_seconds == pytest.approx(seconds, abs=ONE_FRAME)
    assert tone_level(made.sound, 48_000, 0.1, seconds - 0.1, 440.0) > 0.3


async def test_a_clip_without_sound_gets_a_silent_track(silent_clip: bytes) -> None:
    params = {"fps": 24, "width": 160, "height": 90, "duration": 1.0}
    made = decode(await run("normalize", params, {"video": silent_clip}))
    assert made.audio_codec == "aac"
    assert made.audio_seconds == pytest.approx(1.0, abs=ONE_FRAME)
    assert rms(made.sound, 48_000, 0.0, 1.0) < 1e-3


async def test_a_short_clip_is_padded_by_holding_its_last_frame(silent_clip: bytes) -> None:
    params = {"fps": 24, "width": 160, "height": 90, "duration": 1.0}
    made = decode(await run("normalize", params, {"video": silent_clip}))
    # the source's last frame is at 0.867 s; frames after it repeat it
    held = [frame.astype(int) for frame in made.frames[21:]]
    assert all(np.abs(frame - held[0]).mean() < 2 for frame in held)
    assert np.abs(made.frames[5].astype(int) - made.frames[15]).mean() > 5


async def test_letterbox_adds_black_bars_and_crop_fills_the_frame(silent_clip: bytes) -> None:
    # a 4:3 source in a 16:9 frame
    base = {"fps": 24, "width": 320, "height": 180, "duration": 0.5}
    boxed = decode(await run("normalize", base, {"video": silent_clip}))
    cropped = decode(await run("normalize", {**base, "fit": "crop"}, {"video": silent_clip}))
    left_edge = boxed.frames[0][:, :8].reshape(-1, 3).mean(axis=0)
    assert left_edge.max() < 24  # black bar
    middle = boxed.frames[0][90, 160]
    assert middle[0] > 150  # the red picture, unstretched in the middle
    cropped_edge = cropped.frames[0][:, :8].reshape(-1, 3).mean(axis=0)
    assert cropped_edge[0] > 150  # red to the edge
    assert (cropped.width, cropped.height) == (320, 180)


async def test_trim_pad_keeps_rate_and_size_and_pads_with_silence(toned_clip: bytes) -> None:
    made = decode(await run("trim_pad", {"duration": 2.0}, {"video": toned_clip}))
    assert (made.fps, made.width, made.height) == (25, 320, 180)
    assert len(made.frames) == 50
    assert made.audio_seconds == pytest.approx(2.0, abs=1 / 25)
    assert tone_level(made.sound, 48_000, 0.2, 1.0, 440.0) > 0.3
    assert rms(made.sound, 48_000, 1.3, 1.9) < 1e-3


async def test_trim_pad_cuts_to_a_shorter_duration(toned_clip: bytes) -> None:
    made = decode(await run("trim_pad", {"duration": 0.6, "fps": 10}, {"video": toned_clip}))
    assert len(made.frames) == 6
    assert made.fps == 10
    assert made.audio_seconds == pytest.approx(0.6, abs=0.1)
