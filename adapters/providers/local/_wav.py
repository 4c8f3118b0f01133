"""Samples to WAV bytes (16-bit PCM), the form every local audio model returns."""

from __future__ import annotations

import io
import wave

import numpy as np


def wav_bytes(samples: np.ndarray, rate: int) -> bytes:
    """`samples` in -1..1, shaped (frames,) for mono or (frames, channels)."""
    frames = samples if samples.ndim == 2 else samples[:, None]
    pcm = (np.clip(frames, -1.0, 1.0) * 32767.0).round().astype("<i2")
    out = io.BytesIO()
    with wave.open(out, "wb") as writer:
        writer.setnchannels(frames.shape[1])
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(pcm.tobytes())
    return out.getvalue()


def normalised(samples: np.ndarray, peak: float) -> np.ndarray:
    """`samples` scaled so the loudest one reaches `peak` (silence stays silent)."""
    loudest = float(np.max(np.abs(samples))) if samples.size else 0.0
    return samples * (peak / loudest) if loudest > 0 else samples
