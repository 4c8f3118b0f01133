"""Sound as numpy arrays: any audio track decoded to 48 kHz stereo float samples placed
on the film's clock, cut or padded to an exact length, and encoded as AAC packets."""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from typing import Any

import av
import numpy as np
from av.audio.stream import AudioStream
from av.container import InputContainer
from av.packet import Packet

from adapters.media.failures import reading

RATE = 48_000
CHANNELS = 2
AAC_FRAME = 1024  # samples per AAC frame

Samples = np.ndarray[Any, np.dtype[np.float32]]  # shape (CHANNELS, n)


def sample_count(seconds: float) -> int:
    return round(seconds * RATE)


def silence(length: int) -> Samples:
    return np.zeros((CHANNELS, length), np.float32)


def decode_sound(container: InputContainer, name: str, origin: float = 0.0) -> Samples | None:
    """The first audio track of input `name` at 48 kHz stereo, its first sample at `origin`
    seconds of the container's clock (sound before it is dropped, a late start becomes
    leading silence); None when there is no audio track."""
    if not container.streams.audio:
        return None
    stream = container.streams.audio[0]
    # mono is resampled as mono and doubled: swresample's upmix would lower it by 3 dB
    mono = stream.codec_context.channels == 1
    resampler = av.AudioResampler(format="fltp", layout="mono" if mono else "stereo", rate=RATE)
    chunks: list[Samples] = []
    start: float | None = None
    with reading(name):
        for frame in container.decode(stream):
            if start is None and frame.pts is not None:
                start = frame.time
            chunks.extend(_samples(out) for out in resampler.resample(frame))
        chunks.extend(_samples(out) for out in resampler.resample(None))
    sound = np.concatenate(chunks, axis=1) if chunks else silence(0)
    if mono:
        sound = np.repeat(sound, CHANNELS, axis=0)
    lead = sample_count((start or 0.0) - origin)
    if lead > 0:
        return np.concatenate((silence(lead), sound), axis=1)
    return sound[:, -lead:]


def fitted(sound: Samples, length: int) -> Samples:
    """Exactly `length` samples: cut at the end, or padded with silence."""
    if sound.shape[1] >= length:
        return sound[:, :length]
    return np.concatenate((sound, silence(length - sound.shape[1])), axis=1)


def encode_sound(
    stream: AudioStream, sound: Samples, check: Callable[[], None] = lambda: None
) -> list[Packet[Any]]:
    """AAC packets of the whole of `sound`, for `stream` of an output container; `check`
    is called every second of sound and may raise to stop."""
    packets: list[Packet[Any]] = []
    time_base = Fraction(1, RATE)
    for begin in range(0, sound.shape[1], AAC_FRAME):
        if begin % (AAC_FRAME * 48) == 0:
            check()
        chunk = np.ascontiguousarray(sound[:, begin : begin + AAC_FRAME], np.float32)
        frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="stereo")
        frame.sample_rate = RATE
        frame.pts = begin
        frame.time_base = time_base
        packets.extend(stream.encode(frame))
    packets.extend(stream.encode(None))
    return packets


def _samples(frame: av.AudioFrame) -> Samples:
    return frame.to_ndarray().astype(np.float32, copy=False)
