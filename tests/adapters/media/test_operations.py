"""The worker's view of the media operations: registered under provider "local", each
reading exactly the inputs it needs."""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

import pytest

from adapters.operations.media import media_operations
from tests.adapters.media.harness import FakeContext, task_for


def test_every_media_operation_is_registered_for_provider_local() -> None:
    assert set(media_operations()) == {
        ("local", name)
        for name in (
            "probe", "normalize", "trim_pad", "concat", "overlay", "mix",
            "burn_captions", "thumbnail", "contact_sheet", "encode",
        )
    }  # fmt: skip


async def test_mix_reads_the_film_its_voices_and_music(shot_a: bytes, voice: bytes) -> None:
    inputs = {"video": shot_a, "voice-001": voice, "voice-002": voice, "music": voice}
    params = {"voices": [{"input": "voice-002", "start": 0.1}]}
    context = FakeContext(inputs)
    operation = media_operations()[("local", "mix")]
    await operation.run(task_for("mix", params, inputs), context)
    assert context.asked == ["video", "voice-002", "music"]


async def test_concat_reads_its_clips_in_order(shot_a: bytes) -> None:
    inputs = {"clip-002": shot_a, "clip-001": shot_a, "notes": b"ignored"}
    context = FakeContext(inputs)
    operation = media_operations()[("local", "concat")]
    await operation.run(task_for("concat", {}, inputs), context)
    assert context.asked == ["clip-001", "clip-002"]


async def test_cancelling_a_task_stops_its_render(
    toned_clip: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    # ten minutes of held frames: minutes of encoding unless the cancellation reaches it
    params = {"fps": 24, "width": 320, "height": 180, "duration": 600.0}
    inputs = {"video": toned_clip}
    operation = media_operations()[("local", "normalize")]
    task = task_for("normalize", params, inputs)
    running = asyncio.create_task(operation.run(task, FakeContext(inputs)))
    async with asyncio.timeout(30):  # the render has started in its workspace
        while not workspaces(tmp_path):  # noqa: ASYNC110 (a folder has no event to await)
            await asyncio.sleep(0.02)
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    left = await asyncio.to_thread(workspaces_after, tmp_path, 3.0)
    assert not left, "the render went on after the task was cancelled"


def workspaces(folder: Path) -> list[Path]:
    return list(folder.iterdir())


def workspaces_after(folder: Path, seconds: float) -> list[Path]:
    """The workspaces still in `folder` once they are all gone, or `seconds` have passed."""
    deadline = time.monotonic() + seconds
    while workspaces(folder) and time.monotonic() < deadline:
        time.sleep(0.05)
    return workspaces(folder)
