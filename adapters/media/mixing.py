"""Mixing voice-over into a film: the bed (the film's own sound, plus music if given) is
ducked while a voice plays, each voice is placed at its start, and the picture is
copied packet for packet. A voice that would run past the end is cut at the film's end."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from adapters.media.failures import bad_input, bad_param, open_input
from adapters.media.mp4 import PRODUCTION, VIDEO_MP4, Mp4Writer
from adapters.media.params import Inputs, Params, number, records
from adapters.media.probe import require_video, video_origin, video_seconds
from adapters.media.sound import Samples, decode_sound, fitted, sample_count, silence

ATTACK, RELEASE = 0.08, 0.3  # seconds the bed takes to duck before a voice and recover after


@dataclass(frozen=True)
class Voice:
    input: str
    start: float
    volume: float


def voices_of(params: Params) -> list[Voice]:
    voices = []
    for index, item in enumerate(records(params, "voices")):
        where = f"voices[{index}]."
        name = item.get("input")
        if not isinstance(name, str) or not name:
            raise bad_param(f"{where}input", "must name the voice's audio input")
        start = number(item, "start", 0.0, at_least=0.0, within=where)
        volume = number(item, "volume", 1.0, at_least=0.0, within=where)
        voices.append(Voice(name, start, volume))
    return voices


def mix_inputs(params: Params, available: Iterable[str]) -> list[str]:
    """The inputs a mix reads: the film, each voice the params name, and music if given."""
    present = set(available)
    names = ["video"]
    for voice in voices_of(params):
        if voice.input not in present:
            raise bad_param("voices", f"names input {voice.input!r}, which the task does not have")
        names.append(voice.input)
    return [*names, "music"] if "music" in present else names


def mix(params: Params, inputs: Inputs, target: Path, stop: threading.Event) -> str:
    voices = voices_of(params)
    ducking = number(params, "ducking", 0.3, at_least=0.0, at_most=1.0)
    music_volume = number(params, "music_volume", 1.0, at_least=0.0)
    bed, length = _film_sound(inputs["video"])
    if "music" in inputs:
        bed = bed + music_volume * fitted(read_sound(inputs["music"], "music"), length)
    spoken = silence(length)
    speaking: list[tuple[int, int]] = []
    for voice in voices:
        sound = read_sound(inputs[voice.input], voice.input) * voice.volume
        begin = sample_count(voice.start)
        end = min(length, begin + sound.shape[1])
        if begin < end:
            spoken[:, begin:end] += sound[:, : end - begin]
            speaking.append((begin, end))
    mixed = np.clip(bed * ducking_gain(length, speaking, ducking) + spoken, -1.0, 1.0)
    _write(inputs["video"], mixed, target, stop)
    return VIDEO_MP4


def read_sound(path: Path, name: str) -> Samples:
    """The whole sound of input `name`, from its first sample, at 48 kHz stereo."""
    with open_input(path, name) as source:
        sound = decode_sound(source, name)
    if sound is None:
        raise bad_input(name, "has no audio stream")
    return sound


def ducking_gain(length: int, speaking: Iterable[tuple[int, int]], ducking: float) -> np.ndarray:
    """Gain of the bed per sample: `ducking` while a voice plays, 1 elsewhere, with
    short ramps so the bed neither clicks nor lands on top of a voice's first word."""
    depth = np.zeros(length, np.float32)  # 0: bed at full level, 1: fully ducked
    attack, release = sample_count(ATTACK), sample_count(RELEASE)
    for begin, end in speaking:
        depth[begin:end] = 1.0
        lead = max(0, begin - attack)
        ramp = np.linspace(0.0, 1.0, begin - lead, endpoint=False, dtype=np.float32)
        depth[lead:begin] = np.maximum(depth[lead:begin], ramp)
        tail = min(length, end + release)
        fall = np.linspace(1.0, 0.0, release, endpoint=False, dtype=np.float32)[: tail - end]
        depth[end:tail] = np.maximum(depth[end:tail], fall)
    return 1.0 - (1.0 - ducking) * depth


def _film_sound(path: Path) -> tuple[Samples, int]:
    """The film's own sound (silence if it has none), exactly as long as its picture."""
    with open_input(path, "video") as source:
        stream = require_video(source, "video")
        length = sample_count(video_seconds(source, stream, "video"))
        origin = video_origin(stream)
        sound = decode_sound(source, "video", origin)
    return fitted(silence(length) if sound is None else sound, length), length


def _write(path: Path, sound: Samples, target: Path, stop: threading.Event) -> None:
    with open_input(path, "video") as source, Mp4Writer(target, stop) as writer:
        writer.copied_video(require_video(source, "video"))
        # the mix is the film's final sound (the encodes copy it), so it gets the
        # production audio encoder whatever the picture's fidelity
        writer.encoded_sound(sound, PRODUCTION)
        writer.copy_video(source, "video")
        writer.finish()
