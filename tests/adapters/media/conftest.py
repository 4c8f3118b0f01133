"""Synthetic inputs shared by the media tests, made once per session."""

from __future__ import annotations

import pytest

from tests.adapters.media.harness import run_now
from tests.adapters.media.sources import clip_bytes, png_bytes, wav_bytes

FPS, WIDTH, HEIGHT = 24, 320, 180


@pytest.fixture(scope="session")
def toned_clip() -> bytes:
    """320x180, 25 fps, 1.2 s, a bar sweeping over blue, a 440 Hz tone at 44.1 kHz mono."""
    return clip_bytes(320, 180, 25, 1.2)


@pytest.fixture(scope="session")
def silent_clip() -> bytes:
    """256x192 (4:3), 30 fps, 0.9 s, a bar sweeping over red, no audio track."""
    return clip_bytes(256, 192, 30, 0.9, tone=None, colour=(200, 40, 40))


@pytest.fixture(scope="session")
def shot_a(toned_clip: bytes) -> bytes:
    """`toned_clip` normalised to 24 fps, 320x180, 1 s."""
    params = {"fps": FPS, "width": WIDTH, "height": HEIGHT, "duration": 1.0}
    return run_now("normalize", params, {"video": toned_clip})


@pytest.fixture(scope="session")
def shot_b(silent_clip: bytes) -> bytes:
    """`silent_clip` normalised to 24 fps, 320x180, 1 s (padded, silent)."""
    params = {"fps": FPS, "width": WIDTH, "height": HEIGHT, "duration": 1.0}
    return run_now("normalize", params, {"video": silent_clip})


@pytest.fixture(scope="session")
def film(shot_a: bytes, shot_b: bytes) -> bytes:
    """The two shots joined: 2 s, tone in the first second, silence in the second."""
    return run_now("concat", {"duration": 2.0}, {"clip-001": shot_a, "clip-002": shot_b})


@pytest.fixture(scope="session")
def moving_film() -> bytes:
    """2 s at 24 fps, 320x180, the bar moving all the way through, silent."""
    source = clip_bytes(320, 180, 24, 2.0, tone=None)
    params = {"fps": FPS, "width": WIDTH, "height": HEIGHT, "duration": 2.0}
    return run_now("normalize", params, {"video": source})


@pytest.fixture(scope="session")
def voice() -> bytes:
    """0.5 s of a 660 Hz tone, mono 24 kHz WAV."""
    return wav_bytes(0.5, 660.0, 24_000, 0.6)


@pytest.fixture(scope="session")
def logo() -> bytes:
    return png_bytes(64, 32, (255, 0, 0))
