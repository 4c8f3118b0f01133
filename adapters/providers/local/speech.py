"""The local text-to-speech model: espeak-ng when it is installed, otherwise a
synthesised voice-like signal of the right length (`voice_synth`); WAV either way.

Both are deterministic: the same text and voice always give the same bytes on one
machine.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import wave
from dataclasses import dataclass
from io import BytesIO

from adapters.providers.local import voice_synth
from adapters.providers.local._determinism import fingerprint
from adapters.providers.local._wav import wav_bytes
from engine.errors import TaskFailure
from engine.tasks import ErrorKind

MAX_CHARACTERS = 5000
ESPEAK_VOICES = {
    "default": "en-us",
    "narrator": "en-gb+m3",
    "male": "en-us+m3",
    "female": "en-us+f3",
    "child": "en-us+f5",
}
ESPEAK_WORDS_PER_MINUTE = "150"
ESPEAK_TIMEOUT = 120.0  # seconds


@dataclass(frozen=True)
class Speech:
    data: bytes  # WAV, 16-bit PCM
    duration: float  # seconds
    engine: str  # "espeak-ng" or "synthesised"


def speak(text: str, voice: str, espeak: str | None = None) -> Speech:
    """`text` spoken in `voice`; `espeak` is the espeak-ng program to use, if any."""
    if not text.strip():
        raise TaskFailure(ErrorKind.INVALID_INPUT, "param 'text' is empty; there is nothing to say")
    if len(text) > MAX_CHARACTERS:
        raise TaskFailure(
            ErrorKind.INVALID_INPUT,
            f"param 'text' has {len(text)} characters; this model speaks at most {MAX_CHARACTERS}",
        )
    if not any(c.isalnum() for c in text):
        raise TaskFailure(ErrorKind.INVALID_INPUT, f"param 'text' {text!r} has no words to speak")
    if espeak is not None:
        data = _espeak(espeak, text, voice)
        engine = "espeak-ng"
    else:
        data = wav_bytes(voice_synth.synthesise(text, voice), voice_synth.RATE)
        engine = "synthesised"
    with wave.open(BytesIO(data)) as reader:
        duration = reader.getnframes() / reader.getframerate()
    return Speech(data, duration, engine)


def installed_espeak() -> str | None:
    return shutil.which("espeak-ng")


def espeak_voice(voice: str) -> str:
    """The espeak-ng voice for one of ours; an unknown voice gets one of them, always
    the same."""
    for word in voice.lower().replace("-", " ").split():
        if word in ESPEAK_VOICES:
            return ESPEAK_VOICES[word]
    choices = sorted(set(ESPEAK_VOICES.values()))
    return choices[fingerprint("espeak voice", voice)[0] % len(choices)]


def _espeak(program: str, text: str, voice: str) -> bytes:
    command = [
        program,
        "--stdout",
        "--stdin",
        "-v",
        espeak_voice(voice),
        "-s",
        ESPEAK_WORDS_PER_MINUTE,
    ]
    try:
        done = subprocess.run(
            command, input=text.encode(), capture_output=True, timeout=ESPEAK_TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired:
        raise TaskFailure(
            ErrorKind.TIMEOUT, f"espeak-ng ran longer than {ESPEAK_TIMEOUT:g} s"
        ) from None
    except OSError as exc:
        raise TaskFailure(ErrorKind.UNAVAILABLE, f"espeak-ng could not start: {exc}") from None
    if done.returncode != 0:
        reason = done.stderr.decode(errors="replace").strip() or "no message"
        raise TaskFailure(ErrorKind.INTERNAL, f"espeak-ng exited with {done.returncode}: {reason}")
    return _repaired_wav(done.stdout)


def _repaired_wav(raw: bytes) -> bytes:
    """espeak-ng writes to a pipe, so its WAV header cannot hold the real sizes; read
    the format and samples and write a WAV whose header is right."""
    channels, rate, width, samples = _pcm_of(raw)
    out = BytesIO()
    with wave.open(out, "wb") as writer:
        writer.setnchannels(channels)
        writer.setsampwidth(width)
        writer.setframerate(rate)
        writer.writeframes(samples[: len(samples) - len(samples) % (channels * width)])
    return out.getvalue()


def _pcm_of(raw: bytes) -> tuple[int, int, int, bytes]:
    """Channels, sample rate, bytes per sample and the samples of a WAV file whose
    data chunk may claim more bytes than follow it."""
    if raw[:4] != b"RIFF" or raw[8:12] != b"WAVE":
        raise TaskFailure(ErrorKind.INTERNAL, "espeak-ng did not write a WAV file")
    position, fmt = 12, None
    while position + 8 <= len(raw):
        kind = raw[position : position + 4]
        (size,) = struct.unpack("<I", raw[position + 4 : position + 8])
        body = position + 8
        if kind == b"fmt ":
            fmt = struct.unpack("<HHIIHH", raw[body : body + 16])
        elif kind == b"data" and fmt is not None:
            _, channels, rate, _, _, bits = fmt
            return channels, rate, bits // 8, raw[body : body + size]
        position = body + size + size % 2
    raise TaskFailure(ErrorKind.INTERNAL, "espeak-ng wrote a WAV file with no samples")
