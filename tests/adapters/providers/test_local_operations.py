"""The local models as a worker runs them: the operations the film recipe plans, their
parameters checked with errors that name what was wrong, their outputs typed."""

from __future__ import annotations

import io
import wave
from typing import Any

import pytest
from PIL import Image

from adapters.operations.local import local_operations
from engine.errors import TaskFailure
from engine.ports import TaskOutput
from engine.recipes import LOCAL
from engine.tasks import ErrorKind, Lane, TaskMessage

OPERATIONS = local_operations()


class Inputs:
    """A task context holding the input artifacts' bytes."""

    def __init__(self, **inputs: bytes) -> None:
        self.inputs = inputs

    async def input(self, name: str) -> bytes:
        if name not in self.inputs:
            raise TaskFailure(ErrorKind.INVALID_INPUT, f"the task has no input {name!r}")
        return self.inputs[name]

    tries = 0  # the first try of each attempt

    async def heartbeat(self) -> None:
        return None


async def run(operation: str, params: dict[str, Any], **inputs: bytes) -> TaskOutput:
    task = TaskMessage(
        task_id="t1",
        attempt=1,
        execution_id="x1",
        scene="s1",
        branch="main",
        studio="studio-a",
        lane=Lane.INTERACTIVE,
        operation=operation,
        model="local",
        provider=LOCAL,
        content_key="k1",
        params=params,
        inputs={name: "0" * 64 for name in inputs},
    )
    return await OPERATIONS[(LOCAL, operation)].run(task, Inputs(**inputs))


def test_every_local_model_the_recipe_plans_is_an_operation() -> None:
    assert set(OPERATIONS) == {
        (LOCAL, "text_to_image"),
        (LOCAL, "image_to_video"),
        (LOCAL, "text_to_speech"),
        (LOCAL, "music"),
    }


async def test_a_shot_goes_from_prompt_to_picture_to_clip() -> None:
    image = await run(
        "text_to_image",
        {"prompt": "gulls over the rocks", "seed": 2, "take": 0, "width": 320, "height": 180},
    )
    assert image.media_type == "image/png"
    assert Image.open(io.BytesIO(image.data or b"")).size == (320, 180)
    clip = await run(
        "image_to_video",
        {"duration": 1.0, "seed": 2, "take": 0, "motion": "pan-zoom"},
        image=image.data or b"",
    )
    assert clip.media_type == "video/mp4"
    assert clip.outputs["fps"] in (24, 25, 30)
    assert clip.outputs["duration"] == pytest.approx(1.0, abs=0.04 + 1 / 24)


async def test_speech_and_music_are_wav() -> None:
    speech = await run("text_to_speech", {"text": "Hello there.", "voice": "narrator"})
    music = await run("music", {"mood": "calm", "duration": 1.0, "seed": 1})
    for output in (speech, music):
        assert output.media_type == "audio/wav"
        with wave.open(io.BytesIO(output.data or b"")) as reader:
            seconds = reader.getnframes() / reader.getframerate()
        assert seconds == pytest.approx(output.outputs["duration"])


PICTURE = {"prompt": "the sea", "seed": 0, "take": 0, "width": 320, "height": 180}


async def test_a_picture_says_where_it_painted_the_keeper() -> None:
    keeper = await run("text_to_image", {**PICTURE, "prompt": "the keeper on the shore at dawn"})
    left, top, right, bottom = keeper.outputs["keeper"]
    assert 0 <= left < right <= 320 and 0 <= top < bottom <= 180
    nobody = await run("text_to_image", PICTURE)
    assert "keeper" not in nobody.outputs


@pytest.mark.parametrize(
    ("operation", "params", "named"),
    [
        ("text_to_image", {**PICTURE, "prompt": None}, "prompt"),
        ("text_to_image", {k: v for k, v in PICTURE.items() if k != "prompt"}, "prompt"),
        ("text_to_image", {**PICTURE, "prompt": "  "}, "prompt"),
        ("text_to_image", {**PICTURE, "prompt": 42}, "prompt"),
        ("text_to_image", {**PICTURE, "width": 321}, "width"),
        ("text_to_image", {**PICTURE, "width": 0}, "width"),
        ("text_to_image", {**PICTURE, "height": -180}, "height"),
        ("text_to_image", {**PICTURE, "height": 4098}, "height"),
        ("text_to_image", {**PICTURE, "height": "tall"}, "height"),
        ("text_to_image", {**PICTURE, "width": True}, "width"),
        ("text_to_image", {**PICTURE, "seed": "lucky"}, "seed"),
        ("text_to_image", {**PICTURE, "take": 1.5}, "take"),
        ("image_to_video", {"seed": 0}, "duration"),
        ("image_to_video", {"duration": 0}, "duration"),
        ("image_to_video", {"duration": -5}, "duration"),
        ("image_to_video", {"duration": float("nan")}, "duration"),
        ("image_to_video", {"duration": 3600}, "duration"),
        ("text_to_speech", {"voice": "default"}, "text"),
        ("text_to_speech", {"text": "   "}, "text"),
        ("text_to_speech", {"text": "hi", "voice": ""}, "voice"),
        ("music", {"mood": "calm"}, "duration"),
        ("music", {"mood": "calm", "duration": 0.0}, "duration"),
    ],
)
async def test_bad_params_fail_the_task_naming_the_param(
    operation: str, params: dict[str, Any], named: str
) -> None:
    with pytest.raises(TaskFailure, match=f"param '{named}'") as failure:
        await run(operation, params, image=b"")
    assert failure.value.kind == ErrorKind.INVALID_INPUT


async def test_a_clip_needs_an_image_input() -> None:
    with pytest.raises(TaskFailure, match="input 'image'") as failure:
        await run("image_to_video", {"duration": 1.0})
    assert failure.value.kind == ErrorKind.INVALID_INPUT
    with pytest.raises(TaskFailure, match="input 'image'") as failure:
        await run("image_to_video", {"duration": 1.0}, image=b'{"not": "an image"}')
    assert failure.value.kind == ErrorKind.INVALID_INPUT


async def test_whole_numbers_sent_as_floats_are_accepted() -> None:
    output = await run("text_to_image", {**PICTURE, "seed": 3.0, "width": 320.0})
    assert Image.open(io.BytesIO(output.data or b"")).size == (320, 180)
