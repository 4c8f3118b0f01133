"""Tiny synthetic media for the media tests, made with PyAV: clips with a moving bar and
a tone, speech-like WAVs, PNG logos; and readers that decode what the operations made."""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from typing import Any

import av
import numpy as np
from PIL import Image


def clip_bytes(
    width: int = 320,
    height: int = 180,
    fps: int = 25,
    seconds: float = 1.2,
    *,
    tone: float | None = 440.0,
    sample_rate: int = 44_100,
    colour: tuple[int, int, int] = (40, 90, 160),
) -> bytes:
    """An MP4 of a white bar sweeping across a flat colour, with a sine tone (or none)."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as out:
        video = out.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.options = {"preset": "ultrafast"}
        audio = None
        if tone is not None:
            audio = out.add_stream("aac", rate=sample_rate, layout="mono")
        for index in range(round(seconds * fps)):
            frame = av.VideoFrame.from_ndarray(_bar_picture(width, height, index, colour))
            frame.pts = index
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
        if audio is not None and tone is not None:
            _write_tone(out, audio, tone, seconds, sample_rate)
    return buffer.getvalue()


def _bar_picture(width: int, height: int, index: int, colour: tuple[int, int, int]) -> Any:
    picture = np.empty((height, width, 3), np.uint8)
    picture[...] = colour
    left = (index * 7) % max(1, width - 12)
    picture[:, left : left + 12] = 255
    return picture


def _write_tone(out: Any, audio: Any, tone: float, seconds: float, rate: int) -> None:
    samples = _sine(tone, seconds, rate, 0.5)
    for begin in range(0, samples.size, 1024):
        chunk = samples[None, begin : begin + 1024]
        frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="mono")
        frame.sample_rate, frame.pts = rate, begin
        out.mux(audio.encode(frame))
    out.mux(audio.encode(None))


def _sine(tone: float, seconds: float, rate: int, amplitude: float) -> Any:
    times = np.arange(round(seconds * rate)) / rate
    return (amplitude * np.sin(2 * math.pi * tone * times)).astype(np.float32)


def wav_bytes(
    seconds: float = 0.5, tone: float = 660.0, rate: int = 24_000, amplitude: float = 0.6
) -> bytes:
    """A mono pcm_s16le WAV of a tone: a stand-in for speech."""
    buffer = io.BytesIO()
    samples = (_sine(tone, seconds, rate, amplitude) * 32767).astype(np.int16)
    with av.open(buffer, "w", format="wav") as out:
        stream = out.add_stream("pcm_s16le", rate=rate, layout="mono")
        frame = av.AudioFrame.from_ndarray(samples[None, :], format="s16", layout="mono")
        frame.sample_rate, frame.pts = rate, 0
        out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return buffer.getvalue()


def png_bytes(
    width: int = 64, height: int = 32, colour: tuple[int, int, int] = (255, 0, 0)
) -> bytes:
    """An opaque PNG of one colour, with a transparent hole in the middle."""
    image = Image.new("RGBA", (width, height), (*colour, 255))
    image.paste((0, 0, 0, 0), (width // 4, height // 4, width * 3 // 4, height * 3 // 4))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@dataclass
class Decoded:
    """What a viewer would get from a file: its frames and its sound."""

    frames: list[Any]  # RGB arrays (height, width, 3)
    times: list[Any]  # presentation time of each frame (Fractions)
    fps: Any  # a Fraction
    width: int
    height: int
    video_codec: str
    pix_fmt: str
    sound: Any  # float32 (channels, samples)
    sample_rate: int
    audio_codec: str | None
    video_seconds: float
    audio_seconds: float


def decode(data: bytes, *, keep_frames: bool = True) -> Decoded:
    with av.open(io.BytesIO(data), "r") as container:
        stream = container.streams.video[0]
        frames, times = [], []
        for frame in container.decode(stream):
            assert frame.pts is not None and frame.time_base is not None
            times.append(frame.pts * frame.time_base)
            if keep_frames:
                frames.append(frame.to_ndarray(format="rgb24"))
        context = stream.codec_context
        fps, width, height = stream.average_rate, context.width, context.height
        codec, pix_fmt = context.name, context.pix_fmt or ""
        assert stream.duration is not None and stream.time_base is not None
        video_seconds = float(stream.duration * stream.time_base)
    sound, rate, audio_codec, audio_seconds = _sound(data)
    return Decoded(
        frames, times, fps, width, height, codec, pix_fmt,
        sound, rate, audio_codec, video_seconds, audio_seconds,
    )  # fmt: skip


def _sound(data: bytes) -> tuple[Any, int, str | None, float]:
    with av.open(io.BytesIO(data), "r") as container:
        if not container.streams.audio:
            return np.zeros((2, 0), np.float32), 0, None, 0.0
        stream = container.streams.audio[0]
        chunks = [frame.to_ndarray() for frame in container.decode(stream)]
        rate, codec = stream.codec_context.sample_rate, stream.codec_context.name
        sound = np.concatenate(chunks, axis=1)
        return sound, rate, codec, sound.shape[1] / rate


def rms(sound: Any, rate: int, start: float, end: float) -> float:
    """Loudness of `sound` between two times (seconds)."""
    part = sound[:, round(start * rate) : round(end * rate)]
    return float(np.sqrt(np.mean(np.square(part)))) if part.size else 0.0


def tone_level(sound: Any, rate: int, start: float, end: float, hz: float) -> float:
    """Amplitude of the `hz` sine in `sound` (first channel) between two times."""
    part = sound[0, round(start * rate) : round(end * rate)].astype(np.float64)
    times = np.arange(part.size) / rate
    sine = np.dot(part, np.sin(2 * math.pi * hz * times))
    cosine = np.dot(part, np.cos(2 * math.pi * hz * times))
    return float(2 * math.hypot(sine, cosine) / max(part.size, 1))


def video_packets(data: bytes) -> list[bytes]:
    """The bytes of each video packet, in file order."""
    with av.open(io.BytesIO(data), "r") as container:
        stream = container.streams.video[0]
        return [bytes(packet) for packet in container.demux(stream) if packet.size]


def top_level_boxes(data: bytes) -> list[str]:
    """The MP4's top-level box types in file order (ftyp, moov, mdat ...)."""
    boxes, offset = [], 0
    while offset + 8 <= len(data):
        size = int.from_bytes(data[offset : offset + 4], "big")
        boxes.append(data[offset + 4 : offset + 8].decode("latin-1"))
        if size == 1:
            size = int.from_bytes(data[offset + 8 : offset + 16], "big")
        if size < 8:
            break
        offset += size
    return boxes
