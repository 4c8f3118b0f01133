"""Mixing voice-over into a film: the bed (the film's own sound, plus music or ambience
if given) is ducked while someone is talking (not for the silence a voice's file
carries before or after its words), each voice and each bed track is placed at its
start, and the picture is copied packet for packet. Nothing runs past the film's
end.

Inputs: "video"; the voices and beds the params name (`voices` and `beds`: lists of
{input, start, volume}); and, as before `beds` existed, an optional "music" input
laid under the whole film at `music_volume`.
"""

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
FRAME = 0.02  # seconds of voice judged talking or not at a time
PAUSE = 0.6  # seconds of quiet in a voice before the bed comes back up
SILENT = 1e-4  # a voice frame this quiet (RMS, -80 dBFS) is silence whatever else it holds


@dataclass(frozen=True)
class Placed:
    """A sound laid on the film: its input, where it starts and how loud it plays."""

    input: str
    start: float
    volume: float


def placed_sounds(params: Params, key: str) -> list[Placed]:
    """The sounds `params[key]` lays on the film ("voices" or "beds")."""
    sounds = []
    for index, item in enumerate(records(params, key)):
        where = f"{key}[{index}]."
        name = item.get("input")
        if not isinstance(name, str) or not name:
            raise bad_param(f"{where}input", "must name the sound's audio input")
        start = number(item, "start", 0.0, at_least=0.0, within=where)
        volume = number(item, "volume", 1.0, at_least=0.0, within=where)
        sounds.append(Placed(name, start, volume))
    return sounds


def mix_inputs(params: Params, available: Iterable[str]) -> list[str]:
    """The inputs a mix reads: the film, each voice and bed the params name, and music
    if given."""
    present = set(available)
    names = ["video"]
    for key in ("voices", "beds"):
        for sound in placed_sounds(params, key):
            if sound.input not in present:
                raise bad_param(key, f"names input {sound.input!r}, which the task does not have")
            names.append(sound.input)
    return [*names, "music"] if "music" in present else names


def mix(params: Params, inputs: Inputs, target: Path, stop: threading.Event) -> str:
    voices, beds = placed_sounds(params, "voices"), placed_sounds(params, "beds")
    ducking = number(params, "ducking", 0.3, at_least=0.0, at_most=1.0)
    music_volume = number(params, "music_volume", 1.0, at_least=0.0)
    bed, length = _film_sound(inputs["video"])
    if "music" in inputs:
        bed = bed + music_volume * fitted(read_sound(inputs["music"], "music"), length)
    for track in beds:
        _lay(bed, read_sound(inputs[track.input], track.input) * track.volume, track.start)
    spoken = silence(length)
    speaking: list[tuple[int, int]] = []
    for voice in voices:
        sound = read_sound(inputs[voice.input], voice.input) * voice.volume
        span = _lay(spoken, sound, voice.start)
        if span is not None:
            speaking.extend(_talking(spoken, span))
    mixed = np.clip(bed * ducking_gain(length, speaking, ducking) + spoken, -1.0, 1.0)
    _write(inputs["video"], mixed, target, stop)
    return VIDEO_MP4


def _lay(track: Samples, sound: Samples, start: float) -> tuple[int, int] | None:
    """Add `sound` into `track` from `start` seconds, cut at the track's end; return
    the samples it covers, or None when it starts after the end."""
    begin = sample_count(start)
    end = min(track.shape[1], begin + sound.shape[1])
    if begin >= end:
        return None
    track[:, begin:end] += sound[:, : end - begin]
    return begin, end


def _talking(track: Samples, span: tuple[int, int]) -> list[tuple[int, int]]:
    """Where in `span` of `track` someone is talking: stretches of 20 ms frames louder
    than a twentieth of the span's loudest, joined across pauses shorter than
    `PAUSE` (a breath between sentences keeps the bed down; the silence a speech file
    trails after its last word lets it back up)."""
    begin, end = span
    frame = sample_count(FRAME)
    count = (end - begin) // frame
    if count == 0:
        return [span]
    frames = track[:, begin : begin + count * frame].reshape(track.shape[0], count, frame)
    loudness = np.sqrt(np.mean(frames.astype(np.float64) ** 2, axis=(0, 2)))
    active = np.flatnonzero(loudness > max(float(loudness.max()) / 20, SILENT))
    if active.size == 0:
        return []
    stretches, first, last = [], int(active[0]), int(active[0])
    for index in active[1:].tolist():
        if (index - last - 1) * FRAME >= PAUSE:
            stretches.append((first, last))
            first = index
        last = index
    stretches.append((first, last))
    return [(begin + a * frame, min(begin + (b + 1) * frame, end)) for a, b in stretches]


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
