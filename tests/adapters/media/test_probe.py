"""probe and probe_media: what a file holds, for artifact metadata."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from adapters.media import MediaInfo, probe_media
from engine.errors import TaskFailure
from tests.adapters.media.harness import run_output


async def test_probe_describes_a_film_as_json(shot_a: bytes) -> None:
    output = await run_output("probe", {}, {"media": shot_a})
    assert output.media_type == "application/json"
    assert output.data is not None
    assert msgspec.json.decode(output.data) == {
        "media_type": "video",
        "duration": 1.0,
        "fps": 24.0,
        "width": 320,
        "height": 180,
        "sample_rate": 48_000,
        "channels": 2,
        "video_codec": "h264",
        "audio_codec": "aac",
    }


def test_probe_media_reads_bytes_and_paths(voice: bytes, logo: bytes, tmp_path: Path) -> None:
    sound = probe_media(voice)
    assert sound == MediaInfo(
        "audio", duration=0.5, sample_rate=24_000, channels=1, audio_codec="pcm_s16le"
    )
    path = tmp_path / "logo.png"
    path.write_bytes(logo)
    image = probe_media(path)
    assert (image.media_type, image.width, image.height, image.fps) == ("image", 64, 32, None)
    assert probe_media(str(path)) == image


def test_probe_media_names_the_input_it_cannot_read() -> None:
    with pytest.raises(TaskFailure) as failure:
        probe_media(b"this is not a film", name="upload")
    assert failure.value.kind == "invalid_input"
    assert failure.value.message.startswith("input 'upload' is not a media file PyAV can read")
