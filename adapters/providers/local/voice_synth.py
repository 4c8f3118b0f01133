"""A synthesised voice for machines without espeak-ng: not words, but speech-like sound
of the right length and rhythm.

Each syllable is a voiced burst (harmonics of a gliding pitch, weighted by the
formants of its vowel) led by a noise burst for its consonants; words are spaced,
commas and full stops pause, a phrase's pitch falls toward its end and rises at a
question mark. About 2.6 words a second with the pauses, like an unhurried narrator.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from adapters.providers.local._determinism import fingerprint, generator_for
from adapters.providers.local._wav import normalised

RATE = 22050
SYLLABLE = 0.15  # seconds
WORD_GAP = 0.06
PAUSES = {",": 0.28, ";": 0.3, ":": 0.3, ".": 0.5, "!": 0.5, "?": 0.5}
EDGE = 0.15  # silence before the first and after the last sound
# Formant frequencies (Hz) of each vowel letter, for an adult male voice.
FORMANTS = {
    "a": (730.0, 1090.0, 2440.0),
    "e": (530.0, 1840.0, 2480.0),
    "i": (270.0, 2290.0, 3010.0),
    "o": (570.0, 840.0, 2410.0),
    "u": (300.0, 870.0, 2240.0),
    "y": (400.0, 1900.0, 2600.0),
}
HISSING = set("sczxfjh")  # consonants heard as bright noise; the rest as short dull bursts
VOICES = {  # voice -> (pitch in Hz, formant scale)
    "default": (150.0, 1.08),
    "narrator": (118.0, 1.0),
    "male": (110.0, 1.0),
    "female": (210.0, 1.17),
    "child": (280.0, 1.3),
}


@dataclass(frozen=True)
class Syllable:
    onset: str  # the consonants before the vowel
    vowel: str
    stressed: bool
    last_of_word: bool


def synthesise(text: str, voice: str) -> np.ndarray:
    """Mono samples in -1..1 at RATE speaking `text` (which holds at least one word)."""
    pitch, formant_scale = _voice(voice)
    rng = generator_for("speech", text, voice)
    pieces = [_silence(EDGE)]
    for phrase, mark in _phrases(text):
        pieces.extend(_spoken(phrase, mark == "?", pitch, formant_scale, rng))
        pieces.append(_silence(PAUSES.get(mark, 0.0)))
    pieces.append(_silence(EDGE))
    return normalised(np.concatenate(pieces), 0.8)


def _spoken(
    phrase: list[str], rising: bool, pitch: float, formant_scale: float, rng: np.random.Generator
) -> list[np.ndarray]:
    syllables = [s for word in phrase for s in _syllables(word)]
    pieces = []
    for n, syllable in enumerate(syllables):
        start, end = _contour(n / max(len(syllables) - 1, 1), rising, syllable.stressed)
        length = SYLLABLE * float(rng.uniform(0.85, 1.15))
        loudness = 1.0 if syllable.stressed else 0.7
        pieces.append(_consonants(syllable.onset, rng))
        vowel = _voiced(syllable.vowel, pitch * start, pitch * end, length, formant_scale)
        pieces.append(vowel * loudness)
        if syllable.last_of_word:
            pieces.append(_silence(WORD_GAP))
    return pieces


def _silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * RATE))


def _voice(voice: str) -> tuple[float, float]:
    words = re.findall(r"[a-z]+", voice.lower())
    known = next((VOICES[w] for w in words if w in VOICES), None)
    if known is not None:
        return known
    # an unknown voice still speaks in a voice of its own
    shade = fingerprint("voice", voice)
    return 100.0 + shade[0] % 140, 1.0 + (shade[1] % 25) / 100


def _phrases(text: str) -> list[tuple[list[str], str]]:
    """Words grouped into phrases, each with the punctuation that ends it ('' at the end)."""
    phrases: list[tuple[list[str], str]] = []
    words: list[str] = []
    for token in re.findall(r"[^\W_]+(?:'[^\W_]+)?|[.,;:!?]", text.lower()):
        if token in PAUSES:
            if words:
                phrases.append((words, token))
            words = []
        else:
            words.append(token)
    if words:
        phrases.append((words, ""))
    return phrases


def _syllables(word: str) -> list[Syllable]:
    if word.isdigit():  # each digit is spoken as about one syllable
        return [Syllable("n", "o", n == 0, n == len(word) - 1) for n in range(len(word))]
    groups = list(re.finditer(r"[aeiouy]+", word))
    if len(groups) > 1 and groups[-1].group() == "e" and groups[-1].end() == len(word):
        groups.pop()  # a silent final e, as in "lighthouse"
    if not groups:
        return [Syllable(word[:2], "u", True, True)]
    syllables = []
    previous_end = 0
    for n, group in enumerate(groups):
        onset = word[previous_end : group.start()]
        syllables.append(Syllable(onset, group.group()[0], n == 0, n == len(groups) - 1))
        previous_end = group.end()
    return syllables


def _contour(position: float, rising: bool, stressed: bool) -> tuple[float, float]:
    """The pitch at the start and end of a syllable, as factors of the voice's pitch:
    a phrase falls as it goes, a question rises at its end, a stress lifts."""
    start = 1.12 - 0.25 * position
    end = start - 0.04
    if rising and position > 0.75:
        end = start + 0.3
    lift = 1.08 if stressed else 1.0
    return start * lift, end * lift


def _voiced(
    vowel: str, f_start: float, f_end: float, seconds: float, formant_scale: float
) -> np.ndarray:
    count = int(seconds * RATE)
    t = np.arange(count) / count
    f0 = f_start + (f_end - f_start) * t
    phase = 2 * np.pi * np.cumsum(f0) / RATE
    formants = [f * formant_scale for f in FORMANTS.get(vowel, FORMANTS["a"])]
    mean = (f_start + f_end) / 2
    harmonics = np.arange(1, int(4500 / mean) + 1)
    gains = sum(
        1.0 / (1.0 + ((harmonics * mean - f) / (60.0 + 0.08 * f)) ** 2) for f in formants
    ) / np.sqrt(harmonics)
    wave = (gains[:, None] * np.sin(harmonics[:, None] * phase[None, :])).sum(axis=0)
    envelope = np.sin(np.pi * t) ** 0.6
    shaped: np.ndarray = wave / max(float(gains.sum()), 1e-9) * envelope
    return shaped


def _consonants(onset: str, rng: np.random.Generator) -> np.ndarray:
    letters = [c for c in onset if c.isalpha()]
    if not letters:
        return np.zeros(0)
    count = int(min(0.03 + 0.02 * len(letters), 0.09) * RATE)
    noise = rng.standard_normal(count)
    if any(c in HISSING for c in letters):
        noise = np.diff(noise, prepend=0.0) * 0.5  # the difference keeps the highs: a hiss
    else:
        noise = np.convolve(noise, np.ones(6) / 6, mode="same")  # a dull burst
    t = np.arange(count) / count
    burst: np.ndarray = noise * 0.25 * np.sin(np.pi * t) ** 2
    return burst
