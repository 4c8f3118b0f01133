"""Bad input fails fast and says what was wrong: a damaged or non-media file names its
input, a missing or out-of-range parameter names the parameter."""

from __future__ import annotations

from typing import Any

import pytest

from engine.errors import TaskFailure
from tests.adapters.media.harness import run
from tests.adapters.media.sources import wav_bytes

NORMALISE = {"fps": 24, "width": 160, "height": 90, "duration": 1.0}
NOT_MEDIA = "is not a media file PyAV can read"


async def failure_of(operation: str, params: dict[str, Any], inputs: dict[str, bytes]) -> str:
    with pytest.raises(TaskFailure) as failure:
        await run(operation, params, inputs)
    assert failure.value.kind == "invalid_input"
    return failure.value.message


@pytest.mark.parametrize(
    "damage",
    [
        lambda film: b"",
        lambda film: b"plain text, not a film\n" * 40,
        lambda film: film[200:],
        lambda film: film[:2000] + bytes(len(film) - 2000),
    ],
    ids=["empty", "text", "no-header", "zeroed-body"],
)
async def test_a_non_media_or_damaged_file_names_its_input(shot_a: bytes, damage: Any) -> None:
    message = await failure_of("normalize", NORMALISE, {"video": damage(shot_a)})
    assert message.startswith(f"input 'video' {NOT_MEDIA}") or message.startswith(
        "input 'video' is cut short"
    )


async def test_a_truncated_download_is_not_padded_as_if_whole(shot_a: bytes) -> None:
    cut = shot_a[: len(shot_a) * 2 // 3]
    message = await failure_of("normalize", NORMALISE, {"video": cut})
    assert message.startswith("input 'video' is cut short")
    message = await failure_of("concat", {}, {"clip-001": shot_a, "clip-002": cut})
    assert message.startswith("input 'clip-002' ")


async def test_each_input_is_named_by_its_own_name(shot_a: bytes, voice: bytes) -> None:
    params = {"voices": [{"input": "voice-001", "start": 0.0}]}
    message = await failure_of("mix", params, {"video": shot_a, "voice-001": b"\x00" * 64})
    assert message.startswith(f"input 'voice-001' {NOT_MEDIA}")
    message = await failure_of("overlay", {}, {"video": shot_a, "overlay": b"not a picture"})
    assert message.startswith(f"input 'overlay' {NOT_MEDIA}")


async def test_sound_where_a_video_is_needed_says_so() -> None:
    message = await failure_of("encode", {"preset": "production"}, {"video": wav_bytes()})
    assert message == "input 'video' has no video stream"


async def test_a_missing_input_is_named(shot_a: bytes) -> None:
    message = await failure_of("overlay", {}, {"video": shot_a})
    assert "'overlay'" in message


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"fps": None}, "fps"),
        ({"fps": 0}, "fps"),
        ({"fps": -24}, "fps"),
        ({"fps": "fast"}, "fps"),
        ({"width": 161}, "width"),
        ({"width": 8}, "width"),
        ({"height": None}, "height"),
        ({"duration": 0}, "duration"),
        ({"duration": -1.0}, "duration"),
        ({"fit": "stretch"}, "fit"),
    ],
)
async def test_a_bad_param_is_named(shot_a: bytes, change: dict[str, Any], named: str) -> None:
    params = {key: value for key, value in {**NORMALISE, **change}.items() if value is not None}
    message = await failure_of("normalize", params, {"video": shot_a})
    assert message.startswith(f"param {named!r}")


async def test_an_unknown_preset_is_named(shot_a: bytes) -> None:
    message = await failure_of("encode", {"preset": "cinema"}, {"video": shot_a})
    assert message.startswith("param 'preset' must be one of preview, production")
