"""Tiny media files made on the spot, for tests that store and probe artifacts."""

from __future__ import annotations

import io
import math
import struct
import wave
from functools import cache

import av
import numpy as np
from PIL import Image


@cache
def wav_bytes(seconds: float = 0.5, rate: int = 16000, channels: int = 2) -> bytes:
    frames = int(seconds * rate)
    samples = (int(8000 * math.sin(2 * math.pi * 440 * n / rate)) for n in range(frames))
    pcm = b"".join(struct.pack("<h", s) * channels for s in samples)
    out = io.BytesIO()
    with wave.open(out, "wb") as writer:
        writer.setnchannels(channels)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(pcm)
    return out.getvalue()


@cache
def png_bytes(width: int = 160, height: int = 90) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (30, 60, 90)).save(out, "PNG")
    return out.getvalue()


@cache
def mp4_bytes(width: int = 160, height: int = 90, fps: int = 12, frames: int = 12) -> bytes:
    out = io.BytesIO()
    with av.open(out, mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for n in range(frames):
            picture = Image.new("RGB", (width, height), (n * 20 % 256, 80, 160))
            frame = av.VideoFrame.from_ndarray(np.asarray(picture), format="rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return out.getvalue()
