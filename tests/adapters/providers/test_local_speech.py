"""The local text-to-speech model: espeak-ng when installed, otherwise a synthesised
voice of the right length; WAV either way, the same bytes for the same words."""

from __future__ import annotations

import io
import stat
import struct
import sys
from pathlib import Path

import av
import numpy as np
import pytest

from adapters.providers.local.speech import Speech, installed_espeak, speak
from engine.errors import TaskFailure
from engine.tasks import ErrorKind

SHORT = "The storm rolls in."
LONG = (
    "The lighthouse keeper watched the storm roll in from the sea. Would the ship make "
    "it home tonight? Nobody knew, and the night was long, cold and very dark."
)


def decoded(speech: Speech) -> tuple[av.audio.stream.AudioStream, np.ndarray]:
    with av.open(io.BytesIO(speech.data), mode="r") as container:
        stream = container.streams.audio[0]
        samples = np.concatenate([f.to_ndarray().reshape(-1) for f in container.decode(stream)])
        return stream, samples


def test_synthesised_speech_is_a_16_bit_wav_of_the_length_it_reports() -> None:
    speech = speak(SHORT, "default", espeak=None)
    stream, samples = decoded(speech)
    assert stream.codec_context.name == "pcm_s16le"
    assert speech.engine == "synthesised"
    assert samples.size / stream.sample_rate == pytest.approx(speech.duration)
    assert np.abs(samples.astype(float)).max() > 10000  # it is not silence


def test_synthesised_speech_is_spoken_at_a_narrators_pace() -> None:
    speech = speak(LONG, "narrator", espeak=None)
    words_per_second = len(LONG.split()) / speech.duration
    assert 2.2 <= words_per_second <= 3.3


def test_more_text_takes_longer_to_say() -> None:
    lengths = [speak(text, "default", espeak=None).duration for text in (SHORT, LONG, LONG * 2)]
    assert lengths == sorted(lengths)
    assert lengths[2] == pytest.approx(2 * lengths[1], rel=0.1)


def test_a_full_stop_pauses_longer_than_a_space() -> None:
    joined = speak("the sea the sky", "default", espeak=None).duration
    stopped = speak("the sea. the sky.", "default", espeak=None).duration
    assert stopped > joined + 0.5


def test_the_same_words_give_the_same_bytes_and_other_voices_other_bytes() -> None:
    assert speak(SHORT, "female", espeak=None).data == speak(SHORT, "female", espeak=None).data
    assert speak(SHORT, "female", espeak=None).data != speak(SHORT, "male", espeak=None).data
    assert speak(SHORT, "pirate", espeak=None).data != speak(SHORT, "male", espeak=None).data


@pytest.mark.parametrize("text", ["", "   ", "\n\t", "...?!"])
def test_nothing_to_say_is_refused(text: str) -> None:
    with pytest.raises(TaskFailure, match="param 'text'") as failure:
        speak(text, "default", espeak=None)
    assert failure.value.kind == ErrorKind.INVALID_INPUT


FAKE_ESPEAK = """#!{python}
# writes what espeak-ng writes to a pipe: a WAV header with placeholder sizes
import pathlib, struct, sys
pathlib.Path({args!r}).write_text(" ".join(sys.argv[1:]))
pathlib.Path({text!r}).write_text(sys.stdin.read())
fmt = struct.pack("<HHIIHH", 1, 1, 22050, 44100, 2, 16)
header = b"RIFF" + struct.pack("<I", 0x7FFFFFFF) + b"WAVE"
header += b"fmt " + struct.pack("<I", 16) + fmt + b"data" + struct.pack("<I", 0x7FFFFFFF)
sys.stdout.buffer.write(header + b"\\x01" * 44100)
"""


@pytest.fixture
def fake_espeak(tmp_path: Path) -> Path:
    program = tmp_path / "espeak-ng"
    paths = {"args": str(tmp_path / "args.txt"), "text": str(tmp_path / "text.txt")}
    program.write_text(FAKE_ESPEAK.format(python=sys.executable, **paths))
    program.chmod(program.stat().st_mode | stat.S_IXUSR)
    return program


def test_espeak_speaks_when_installed_and_its_header_is_repaired(fake_espeak: Path) -> None:
    speech = speak(SHORT, "female", espeak=str(fake_espeak))
    assert speech.engine == "espeak-ng"
    assert speech.duration == pytest.approx(1.0)  # 44100 bytes of 16-bit mono at 22050 Hz
    stream, samples = decoded(speech)
    assert (stream.sample_rate, samples.size) == (22050, 22050)
    assert struct.unpack("<I", speech.data[40:44])[0] == 44100
    assert (fake_espeak.parent / "text.txt").read_text() == SHORT
    arguments = (fake_espeak.parent / "args.txt").read_text().split()
    assert arguments[arguments.index("-v") + 1] == "en-us+f3"


def test_espeak_failing_fails_the_task_with_its_message(tmp_path: Path) -> None:
    program = tmp_path / "espeak-ng"
    program.write_text("#!/bin/sh\necho 'voice not found' >&2\nexit 3\n")
    program.chmod(program.stat().st_mode | stat.S_IXUSR)
    with pytest.raises(TaskFailure, match="voice not found") as failure:
        speak(SHORT, "default", espeak=str(program))
    assert failure.value.kind == ErrorKind.INTERNAL


@pytest.mark.skipif(installed_espeak() is None, reason="espeak-ng is not installed")
def test_an_installed_espeak_speaks_at_a_narrators_pace_and_the_same_each_time() -> None:
    program = installed_espeak()
    first, again = speak(LONG, "narrator", espeak=program), speak(LONG, "narrator", espeak=program)
    assert first.engine == "espeak-ng"
    assert first.data == again.data
    assert 2.2 <= len(LONG.split()) / first.duration <= 3.3
