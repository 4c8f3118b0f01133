"""Tiny real media the fake providers hand out: a 160x90 PNG, a one-second 12 fps MP4 and
a one-second MP3, each made once per test session."""

from __future__ import annotations

import functools
import io
import math

import av
import numpy as np
from PIL import Image

WIDTH, HEIGHT, FPS = 160, 90, 12


@functools.cache
def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (WIDTH, HEIGHT), (200, 120, 40)).save(out, format="PNG")
    return out.getvalue()


@functools.cache
def mp4() -> bytes:
    out = io.BytesIO()
    with av.open(out, "w", format="mp4") as container:
        stream = container.add_stream("mpeg4", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        for n in range(FPS):
            plane = np.full((HEIGHT, WIDTH, 3), (n * 20) % 255, dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(plane, format="rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return out.getvalue()


@functools.cache
def mp3() -> bytes:
    rate = 22_050
    out = io.BytesIO()
    with av.open(out, "w", format="mp3") as container:
        stream = container.add_stream("libmp3lame", rate=rate)
        stream.layout = "mono"
        tone = np.array(
            [[math.sin(2 * math.pi * 440 * t / rate) * 0.3 for t in range(rate)]], np.float32
        )
        frame = av.AudioFrame.from_ndarray(tone, format="fltp", layout="mono")
        frame.sample_rate = rate
        container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return out.getvalue()


def pcm(sample_rate: int, seconds: float = 0.5) -> bytes:
    """Raw signed 16-bit little-endian mono PCM, as ElevenLabs' pcm_<rate> formats send."""
    samples = np.zeros(int(sample_rate * seconds), dtype="<i2")
    return samples.tobytes()
