"""The sound of a place under the local music: the sea's waves breaking, rain, wind.

Each is noise shaped to its band and moved by an envelope of its own: waves swell and
break every few seconds, wind gusts, rain patters on steadily. The noise is filtered
block by block and added into the music in place, so a long piece costs no more
memory than the music itself.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

BLOCK = 8192  # samples filtered at a time; neighbours overlap by half
LEVEL = 0.12  # each sound's loudness (RMS) at an envelope of 1, beside pads of about 0.2
WAVE_REACH = 20.0  # seconds after a wave starts breaking that it is still heard

Envelope = Callable[[np.ndarray], np.ndarray]  # times in seconds -> gains

# word -> the sound it brings
SOUNDS = {
    "sea": "waves",
    "ocean": "waves",
    "wave": "waves",
    "waves": "waves",
    "surf": "waves",
    "shore": "waves",
    "coast": "waves",
    "lighthouse": "waves",
    "rain": "rain",
    "rainy": "rain",
    "storm": "rain",
    "stormy": "rain",
    "wind": "wind",
    "windy": "wind",
    "gale": "wind",
}
BANDS = {"waves": (120.0, 1800.0), "wind": (150.0, 700.0), "rain": (2500.0, 9000.0)}


def sounds_in(words: str) -> list[str]:
    """The sounds `words` name (a storm brings wind with its rain), each once."""
    lowered = words.lower().replace(",", " ").replace(".", " ").split()
    named = {SOUNDS[w] for w in lowered if w in SOUNDS}
    if {"storm", "stormy", "gale"} & set(lowered):
        named.add("wind")
    return [sound for sound in ("waves", "wind", "rain") if sound in named]


def add_ambience(mix: np.ndarray, words: str, rate: int, rng: np.random.Generator) -> None:
    """Add to `mix` (frames x 2, at `rate`) the sounds `words` name."""
    for sound in sounds_in(words):
        if sound == "waves":
            envelope = _swells(rng, mix.shape[0] / rate)
        elif sound == "wind":
            envelope = _gusts(rng)
        else:

            def envelope(t: np.ndarray) -> np.ndarray:
                return np.full(t.shape, 0.6)

        _add_band(mix, rate, BANDS[sound], envelope, rng)


def _add_band(
    mix: np.ndarray,
    rate: int,
    band: tuple[float, float],
    envelope: Envelope,
    rng: np.random.Generator,
) -> None:
    """Noise between the band's edges, at RMS `LEVEL` times the envelope: blocks of
    white noise filtered in the frequency domain, windowed by a sine and overlapped by
    half (the windows' squares sum to one, so the loudness holds across the seams)."""
    count, hop = mix.shape[0], BLOCK // 2
    low, high = band
    freqs = np.fft.rfftfreq(BLOCK, 1.0 / rate)[1:]
    gain = np.concatenate(([0.0], 1.0 / (1.0 + (low / freqs) ** 4) / (1.0 + (freqs / high) ** 4)))
    # Parseval: the variance white noise keeps through this filter
    kept = (2.0 * float(np.sum(gain[1:-1] ** 2)) + float(gain[-1] ** 2)) / BLOCK
    gain *= LEVEL / np.sqrt(kept)
    window = np.sin(np.pi * (np.arange(BLOCK) + 0.5) / BLOCK)[:, None]
    for start in range(-hop, count, hop):
        noise = rng.standard_normal((BLOCK, 2))
        shaped = np.fft.irfft(np.fft.rfft(noise, axis=0) * gain[:, None], n=BLOCK, axis=0)
        begin, end = max(start, 0), min(start + BLOCK, count)
        times = np.arange(begin, end) / rate
        piece = shaped[begin - start : end - start] * window[begin - start : end - start]
        mix[begin:end] += piece * envelope(times)[:, None]


def _swells(rng: np.random.Generator, seconds: float) -> Envelope:
    """Waves: every five to nine seconds one swells for a second and a half, breaks and
    washes out over three; between them the sea never quite falls silent."""
    waves: list[tuple[float, float]] = []  # (when it starts to swell, how big)
    at = float(rng.uniform(-3.0, 1.0))
    while at < seconds:
        waves.append((at, float(rng.uniform(0.8, 1.3))))
        at += float(rng.uniform(5.0, 9.0))

    def envelope(t: np.ndarray) -> np.ndarray:
        gain = np.full(t.shape, 0.35)
        for start, size in waves:
            if t.size == 0 or start > t[-1] or start + WAVE_REACH < t[0]:
                continue
            since = t - start
            rise = np.clip(since / 1.5, 0.0, 1.0) ** 2
            fall = np.exp(-np.clip(since - 1.5, 0.0, None) / 3.0)
            gain += np.where(since > 0, rise * fall * size, 0.0)
        return gain

    return envelope


def _gusts(rng: np.random.Generator) -> Envelope:
    slow, quick = float(rng.uniform(0.05, 0.12)), float(rng.uniform(0.2, 0.4))
    first, second = (float(p) for p in rng.uniform(0, 2 * np.pi, 2))

    def envelope(t: np.ndarray) -> np.ndarray:
        gusts: np.ndarray = 0.6 + 0.3 * np.sin(2 * np.pi * slow * t + first)
        return gusts + 0.15 * np.sin(2 * np.pi * quick * t + second)

    return envelope
