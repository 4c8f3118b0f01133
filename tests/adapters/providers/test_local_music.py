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


@pytest.mark.parametrize("mood", ["tense", "a slow melancholy score over the sound of the sea"])
def test_the_same_mood_and_seed_give_the_same_bytes(mood: str) -> None:
    assert compose(mood, 1.5, seed=3) == compose(mood, 1.5, seed=3)


@pytest.mark.parametrize("other", [("tense", 4), ("calm", 3), ("a foggy harbour", 3)])
def test_another_seed_or_mood_gives_another_piece(other: tuple[str, int]) -> None:
    assert compose(*other[:1], 1.5, seed=other[1]) != compose("tense", 1.5, seed=3)


def test_a_piece_fades_in_and_out() -> None:
    _, samples = decoded(compose("peaceful", 3.0, seed=0))
    edge = 441  # the first and last hundredth of a second
    middle = np.abs(samples[:, 60000:70000]).mean()
    assert np.abs(samples[:, :edge]).mean() < middle / 10
    assert np.abs(samples[:, -edge:]).mean() < middle / 10


def share_between(samples: np.ndarray, rate: int, low: float, high: float) -> float:
    """The share of a piece's energy between `low` and `high` Hz (both channels)."""
    mono = samples.mean(axis=0)
    power = np.abs(np.fft.rfft(mono)) ** 2
    freqs = np.fft.rfftfreq(mono.size, 1 / rate)
    return float(power[(freqs >= low) & (freqs < high)].sum() / power.sum())


@pytest.mark.parametrize("mood", ["calm", "melancholy"])
def test_the_sea_is_heard_under_the_music_when_named(mood: str) -> None:
    """The pads are low tones; the waves' rush fills the band above them."""
    rate, plain = decoded(compose(mood, 8.0, seed=1))
    _, by_sea = decoded(compose(f"{mood}, over the sound of the sea", 8.0, seed=1))
    assert share_between(by_sea, rate, 1000, 2000) > 10 * share_between(plain, rate, 1000, 2000)


def test_rain_hisses_under_the_music_of_a_storm() -> None:
    rate, plain = decoded(compose("tense", 8.0, seed=1))
    _, storm = decoded(compose("tense, a storm", 8.0, seed=1))
    assert share_between(storm, rate, 2500, 9000) > 10 * share_between(plain, rate, 2500, 9000)


def test_a_take_is_another_piece() -> None:
    assert compose("calm", 1.5, seed=1, take=1) != compose("calm", 1.5, seed=1, take=0)
