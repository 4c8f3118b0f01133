"""The local music model: ambience for a mood, as a stereo WAV.

Slow pads (detuned sine voices following a chord progression, each chord fading
into the next), a low drone, and for brighter moods a soft arpeggio. The mood
chooses scale, key, progression and pace; the seed turns the progression and the
voicing, so one mood has many pieces, each always the same. Words for places and
weather add their sound under the music (`ambience`): the sea's waves, rain, wind.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from adapters.providers.local._determinism import fingerprint, generator_for
from adapters.providers.local._wav import normalised, wav_bytes
from adapters.providers.local.ambience import add_ambience

RATE = 44100
MAJOR = (0, 2, 4, 5, 7, 9, 11)
MINOR = (0, 2, 3, 5, 7, 8, 10)


@dataclass(frozen=True)
class Mood:
    scale: tuple[int, ...]
    root: int  # MIDI note of the key
    progression: tuple[int, ...]  # scale degrees, 0-based
    chord_seconds: float
    arpeggio: bool
    brightness: float  # how much of the upper partials the pads keep, 0..1


MOODS = {
    "calm": Mood(MAJOR, 57, (0, 5, 3, 4), 4.0, False, 0.3),
    "peaceful": Mood(MAJOR, 55, (0, 3, 0, 4), 5.0, False, 0.25),
    "happy": Mood(MAJOR, 60, (0, 4, 5, 3), 2.0, True, 0.5),
    "upbeat": Mood(MAJOR, 62, (0, 4, 5, 3), 1.5, True, 0.6),
    "hopeful": Mood(MAJOR, 58, (3, 4, 0, 5), 3.0, True, 0.4),
    "sad": Mood(MINOR, 57, (0, 3, 5, 4), 4.5, False, 0.2),
    "melancholy": Mood(MINOR, 55, (0, 5, 3, 4), 5.0, False, 0.2),
    "dark": Mood(MINOR, 45, (0, 5, 0, 6), 6.0, False, 0.15),
    "tense": Mood(MINOR, 47, (0, 1, 0, 6), 3.0, True, 0.35),
    "mysterious": Mood(MINOR, 50, (0, 2, 5, 4), 5.0, True, 0.25),
    "epic": Mood(MINOR, 50, (0, 5, 2, 6), 3.0, True, 0.6),
}


def compose(mood: str, duration: float, seed: int, take: int = 0) -> bytes:
    """`duration` seconds of music for `mood`; an unknown mood gets a key and style of
    its own, chosen from its name. Another seed or take is another piece."""
    style = _mood(mood)
    rng = generator_for("music", mood, seed, take)
    count = max(int(duration * RATE), 1)
    shift = int(rng.integers(-2, 3))
    turn = int(rng.integers(0, len(style.progression)))
    progression = style.progression[turn:] + style.progression[:turn]
    mix = np.zeros((count, 2))
    mix += _pads(style, progression, shift, count, rng)
    mix += _drone(style.root + shift - 12, count)
    if style.arpeggio:
        mix += _arpeggio(style, progression, shift, count, rng)
    add_ambience(mix, mood, RATE, rng)
    mix *= _fades(count)[:, None]
    return wav_bytes(normalised(mix, 0.7), RATE)


def _mood(name: str) -> Mood:
    words = name.lower().split()
    known = next((MOODS[w] for w in words if w in MOODS), None)
    if known is not None:
        return known
    choice = fingerprint("mood", name)
    base = MOODS[sorted(MOODS)[choice[0] % len(MOODS)]]
    return Mood(
        base.scale,
        base.root + choice[1] % 7 - 3,
        base.progression,
        base.chord_seconds,
        base.arpeggio,
        base.brightness,
    )


def _chord(style: Mood, degree: int, shift: int) -> list[int]:
    """A triad plus the octave on `degree` of the scale, as MIDI notes."""
    scale = style.scale
    notes = [degree + step for step in (0, 2, 4, 7)]
    return [style.root + shift + scale[n % 7] + 12 * (n // 7) for n in notes]


def _hz(note: float) -> float:
    return 440.0 * 2 ** ((note - 69) / 12)


def _pads(
    style: Mood, progression: tuple[int, ...], shift: int, count: int, rng: np.random.Generator
) -> np.ndarray:
    """Each chord swells in and fades out over twice its length, overlapping its
    neighbours, so the harmony changes without a seam."""
    out = np.zeros((count, 2))
    length = int(style.chord_seconds * RATE)
    for index, start in enumerate(range(-length // 2, count, length)):
        notes = _chord(style, progression[index % len(progression)], shift)
        span = np.arange(max(start, 0), min(start + 2 * length, count))
        if span.size == 0:
            continue
        t = span / RATE
        window = np.sin(np.pi * (span - start) / (2 * length)) ** 2
        for note in notes:
            pan = float(rng.uniform(0.2, 0.8))
            voice = _pad_voice(_hz(note), t, style.brightness, float(rng.uniform(0, 2 * np.pi)))
            out[span, 0] += voice * window * (1 - pan)
            out[span, 1] += voice * window * pan
    return out


def _pad_voice(hz: float, t: np.ndarray, brightness: float, phase: float) -> np.ndarray:
    detune = 1.003  # two slightly apart oscillators beat slowly: a warm, moving tone
    voice = np.sin(2 * np.pi * hz * t + phase) + np.sin(2 * np.pi * hz * detune * t)
    voice += brightness * np.sin(2 * np.pi * 2 * hz * t + phase) * 0.5
    return voice * 0.15


def _drone(note: int, count: int) -> np.ndarray:
    t = np.arange(count) / RATE
    swell = 0.75 + 0.25 * np.sin(2 * np.pi * 0.07 * t)  # a slow breath
    tone = np.sin(2 * np.pi * _hz(note) * t) * 0.2 * swell
    return np.stack([tone, tone], axis=1)


def _arpeggio(
    style: Mood, progression: tuple[int, ...], shift: int, count: int, rng: np.random.Generator
) -> np.ndarray:
    out = np.zeros((count, 2))
    step = style.chord_seconds / 8
    pattern = rng.permutation(4).tolist()
    length = int(step * 2 * RATE)
    decay = np.exp(-np.arange(length) / (0.35 * length))
    for n in range(int(count / (step * RATE)) + 1):
        start = int(n * step * RATE)
        chord = _chord(style, progression[int(n // 8) % len(progression)], shift + 12)
        hz = _hz(chord[pattern[n % 4]])
        span = min(length, count - start)
        if span <= 0:
            break
        pluck = np.sin(2 * np.pi * hz * np.arange(span) / RATE) * decay[:span] * 0.12
        pan = 0.3 if n % 2 else 0.7
        out[start : start + span, 0] += pluck * (1 - pan)
        out[start : start + span, 1] += pluck * pan
    return out


def _fades(count: int) -> np.ndarray:
    """Fade in and out over a second (a tenth of very short pieces)."""
    edge = min(RATE, count // 10) or 1
    gain = np.ones(count)
    ramp = np.sin(np.linspace(0, np.pi / 2, edge)) ** 2
    gain[:edge] = ramp
    gain[count - edge :] = np.minimum(gain[count - edge :], ramp[::-1])
    return gain
