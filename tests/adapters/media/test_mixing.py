"""mix: each voice starts where its node says, the bed ducks under it, the picture is
copied untouched, and nothing runs past the film's end."""

from __future__ import annotations

import io
import wave

import numpy as np
import pytest

from engine.errors import TaskFailure
from tests.adapters.media.harness import run
from tests.adapters.media.sources import decode, rms, tone_level, video_packets, wav_bytes

RATE = 48_000


async def test_voice_starts_where_its_node_says(moving_film: bytes, voice: bytes) -> None:
    params = {"voices": [{"input": "voice-001", "start": 0.8, "volume": 1.0}], "ducking": 0.3}
    made = decode(await run("mix", params, {"video": moving_film, "voice-001": voice}))
    assert rms(made.sound, RATE, 0.0, 0.78) < 1e-3
    assert tone_level(made.sound, RATE, 0.82, 1.28, 660.0) == pytest.approx(0.6, rel=0.1)
    assert rms(made.sound, RATE, 1.35, 2.0) < 1e-3


async def test_bed_and_music_duck_while_a_voice_plays(
    film: bytes, voice: bytes, moving_film: bytes
) -> None:
    # the film's own sound is a 440 Hz tone in its first second; music is 330 Hz
    music = wav_bytes(2.0, 330.0, 44_100, 0.4)
    params = {
        "voices": [{"input": "voice-001", "start": 0.4}],
        "ducking": 0.3,
        "music_volume": 0.5,
    }
    inputs = {"video": film, "voice-001": voice, "music": music}
    made = decode(await run("mix", params, inputs))
    before_bed = tone_level(made.sound, RATE, 0.05, 0.3, 440.0)
    during_bed = tone_level(made.sound, RATE, 0.45, 0.85, 440.0)
    assert during_bed / before_bed == pytest.approx(0.3, abs=0.05)
    before_music = tone_level(made.sound, RATE, 0.05, 0.3, 330.0)
    assert before_music == pytest.approx(0.2, rel=0.1)  # 0.4 at music_volume 0.5
    during_music = tone_level(made.sound, RATE, 0.45, 0.85, 330.0)
    assert during_music / before_music == pytest.approx(0.3, abs=0.05)
    after_music = tone_level(made.sound, RATE, 1.3, 1.9, 330.0)
    assert after_music == pytest.approx(before_music, rel=0.1)


async def test_picture_is_copied_and_sound_lasts_as_long(moving_film: bytes, voice: bytes) -> None:
    params = {"voices": [{"input": "voice-001", "start": 1.8}]}
    made_bytes = await run("mix", params, {"video": moving_film, "voice-001": voice})
    assert video_packets(made_bytes) == video_packets(moving_film)
    made = decode(made_bytes, keep_frames=False)
    # the voice would run to 2.3 s; it is cut at the film's end
    assert made.audio_seconds == pytest.approx(made.video_seconds, abs=1 / 24)
    assert tone_level(made.sound, RATE, 1.82, 1.98, 660.0) > 0.4


async def test_a_voice_naming_a_missing_input_is_refused(moving_film: bytes, voice: bytes) -> None:
    params = {"voices": [{"input": "voice-009", "start": 0.0}]}
    with pytest.raises(TaskFailure, match="voice-009") as failure:
        await run("mix", params, {"video": moving_film, "voice-001": voice})
    assert failure.value.kind == "invalid_input"
    assert "'voices'" in failure.value.message


async def test_a_negative_start_is_refused_naming_it(moving_film: bytes, voice: bytes) -> None:
    params = {"voices": [{"input": "voice-001", "start": -1.0}]}
    with pytest.raises(TaskFailure, match=r"'voices\[0\]\.start'"):
        await run("mix", params, {"video": moving_film, "voice-001": voice})


def spoken_then_quiet(words: float, quiet: float, rate: int = 24_000) -> bytes:
    """A 660 Hz 'voice' for `words` seconds, then the silence a speech file trails."""
    times = np.arange(round(words * rate)) / rate
    samples = np.concatenate(
        [0.6 * np.sin(2 * np.pi * 660.0 * times), np.zeros(round(quiet * rate))]
    )
    out = io.BytesIO()
    with wave.open(out, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes((samples * 32767).astype("<i2").tobytes())
    return out.getvalue()


async def test_a_music_bed_plays_under_the_whole_film_and_ducks_under_the_voice(
    moving_film: bytes,
) -> None:
    music = wav_bytes(3.0, 330.0, 44_100, 0.4)  # longer than the film: cut at its end
    params = {
        "voices": [{"input": "voice-001", "start": 0.5}],
        "beds": [{"input": "bed-001", "start": 0.0, "volume": 0.5}],
        "ducking": 0.3,
    }
    inputs = {"video": moving_film, "voice-001": spoken_then_quiet(0.5, 0.0), "bed-001": music}
    made = decode(await run("mix", params, inputs))
    alone = tone_level(made.sound, RATE, 0.05, 0.4, 330.0)
    assert alone == pytest.approx(0.2, rel=0.1)  # 0.4 at volume 0.5
    under = tone_level(made.sound, RATE, 0.55, 0.95, 330.0)
    assert under / alone == pytest.approx(0.3, abs=0.05)
    assert tone_level(made.sound, RATE, 1.4, 1.95, 330.0) == pytest.approx(alone, rel=0.1)
    assert made.audio_seconds == pytest.approx(made.video_seconds, abs=1 / 24)


async def test_the_bed_comes_back_up_once_the_words_end_not_the_file(moving_film: bytes) -> None:
    """Speech files trail silence after their last word; the bed does not stay ducked
    through it."""
    music = wav_bytes(2.0, 330.0, 44_100, 0.4)
    params = {
        "voices": [{"input": "voice-001", "start": 0.2}],
        "beds": [{"input": "bed-001"}],
        "ducking": 0.3,
    }
    voice = spoken_then_quiet(0.4, 1.2)  # words until 0.6 s, the file until 1.8 s
    made = decode(
        await run("mix", params, {"video": moving_film, "voice-001": voice, "bed-001": music})
    )
    alone = tone_level(made.sound, RATE, 0.0, 0.1, 330.0)
    assert tone_level(made.sound, RATE, 0.3, 0.55, 330.0) < alone * 0.4
    assert tone_level(made.sound, RATE, 1.0, 1.7, 330.0) == pytest.approx(alone, rel=0.15)


async def test_a_bed_naming_a_missing_input_is_refused(moving_film: bytes) -> None:
    params = {"beds": [{"input": "bed-002"}]}
    with pytest.raises(TaskFailure, match="bed-002") as failure:
        await run("mix", params, {"video": moving_film})
    assert failure.value.kind == "invalid_input"
