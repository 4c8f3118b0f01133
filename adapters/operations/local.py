"""The local models as operations a worker runs: text to image, image to video, text
to speech and music, all offline (see `adapters.providers.local`).

Each reads and checks its parameters first, then does its CPU work in a thread so
the worker keeps heartbeating and serving other tasks meanwhile.
"""

from __future__ import annotations

import asyncio

from adapters import task_params as params
from adapters.providers.local.motion import animate
from adapters.providers.local.music import compose
from adapters.providers.local.picture import paint
from adapters.providers.local.speech import installed_espeak, speak
from engine.ports import Operation, TaskContext, TaskOutput
from engine.tasks import TaskMessage

MAX_PIXELS = 4096
MAX_CLIP_SECONDS = 60.0
MAX_MUSIC_SECONDS = 600.0


class TextToImage:
    async def run(self, task: TaskMessage, context: TaskContext) -> TaskOutput:
        p = task.params
        prompt = params.text(p, "prompt")
        seed, take = params.seed(p, "seed"), params.seed(p, "take")
        width = params.side(p, "width", 1280, at_most=MAX_PIXELS)
        height = params.side(p, "height", 720, at_most=MAX_PIXELS)
        painting = await asyncio.to_thread(paint, prompt, seed, take, width, height)
        facts: dict[str, object] = {"width": width, "height": height}
        if painting.keeper is not None:
            facts["keeper"] = list(painting.keeper)  # left, top, right, bottom
        return TaskOutput(painting.png, "image/png", outputs=facts)


class ImageToVideo:
    async def run(self, task: TaskMessage, context: TaskContext) -> TaskOutput:
        p = task.params
        duration = params.seconds(p, "duration", at_most=MAX_CLIP_SECONDS)
        seed, take = params.seed(p, "seed"), params.seed(p, "take")
        motion = params.text(p, "motion", "pan-zoom")
        image = await context.input("image")
        clip = await asyncio.to_thread(animate, image, duration, seed, take, motion)
        facts = {
            "duration": clip.duration,
            "fps": clip.fps,
            "width": clip.width,
            "height": clip.height,
            "frames": clip.frames,
        }
        return TaskOutput(clip.data, "video/mp4", outputs=facts)


class TextToSpeech:
    async def run(self, task: TaskMessage, context: TaskContext) -> TaskOutput:
        text = params.text(task.params, "text")
        voice = params.text(task.params, "voice", "default")
        speech = await asyncio.to_thread(speak, text, voice, installed_espeak())
        facts = {"duration": speech.duration, "engine": speech.engine}
        return TaskOutput(speech.data, "audio/wav", outputs=facts)


class Music:
    async def run(self, task: TaskMessage, context: TaskContext) -> TaskOutput:
        p = task.params
        mood = params.text(p, "mood", "calm")
        duration = params.seconds(p, "duration", at_most=MAX_MUSIC_SECONDS)
        seed, take = params.seed(p, "seed"), params.seed(p, "take")
        wav = await asyncio.to_thread(compose, mood, duration, seed, take)
        return TaskOutput(wav, "audio/wav", outputs={"duration": duration})


def local_operations() -> dict[tuple[str, str], Operation]:
    return {
        ("local", "text_to_image"): TextToImage(),
        ("local", "image_to_video"): ImageToVideo(),
        ("local", "text_to_speech"): TextToSpeech(),
        ("local", "music"): Music(),
    }
