"""The local music model: ambience for a mood, exactly as long as asked, the same
piece for the same mood and seed."""

from __future__ import annotations

import io

import av
import numpy as np
import pytest

from adapters.providers.local.music import compose


def decoded(wav: bytes) -> tuple[int, np.ndarray]:
    with av.open(io.BytesIO(wav), mode="r") as container:
        stream = container.streams.audio[0]
        assert stream.codec_context.name == "pcm_s16le"
        # packed 16-bit samples decode interleaved: left, right, left, right...
        packed = np.concatenate([f.to_ndarray().reshape(-1) for f in container.decode(stream)])
        channels = packed.reshape(-1, stream.channels).T
        return stream.sample_rate, channels.astype(float) / 32768


def test_music_is_stereo_and_as_long_as_asked() -> None:
    rate, samples = decoded(compose("calm", 2.0, seed=1))
    assert rate == 44100
    assert samples.shape == (2, 88200)


def test_music_is_not_silence_and_does_not_clip() -> None:
    _, samples = decoded(compose("happy", 2.0, seed=1))
    loudness = float(np.sqrt((samples**2).mean()))
    assert loudness > 0.05
    assert np.abs(samples).max() < 0.99


def test_the_same_mood_and_seed_give_the_same_bytes() -> None:
    assert compose("tense", 1.5, seed=3) == compose("tense", 1.5, seed=3)


@pytest.mark.parametrize("other", [("tense", 4), ("calm", 3), ("a foggy harbour", 3)])
def test_another_seed_or_mood_gives_another_piece(other: tuple[str, int]) -> None:
    assert compose(*other[:1], 1.5, seed=other[1]) != compose("tense", 1.5, seed=3)


def test_a_piece_fades_in_and_out() -> None:
    _, samples = decoded(compose("peaceful", 3.0, seed=0))
    edge = 441  # the first and last hundredth of a second
    middle = np.abs(samples[:, 60000:70000]).mean()
    assert np.abs(samples[:, :edge]).mean() < middle / 10
    assert np.abs(samples[:, -edge:]).mean() < middle / 10
