"""The media operations of provider "local" as tasks: each reads its inputs by name,
does its PyAV and Pillow work in a thread inside a temporary directory (the worker
heartbeats meanwhile), and returns the file it made.

Inputs: "video" for most; "media" for probe; "video" and "overlay" for overlay;
clip-001, clip-002, ... for concat; "video", the voices the params name and an optional
"music" for mix.
"""

from __future__ import annotations

import asyncio
import tempfile
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import msgspec

from adapters.media.captions import burn_captions
from adapters.media.conform import normalize, trim_pad
from adapters.media.encoding import encode
from adapters.media.mixing import mix, mix_inputs
from adapters.media.overlay import overlay
from adapters.media.params import Inputs, Params
from adapters.media.probe import probe_media
from adapters.media.stills import contact_sheet, thumbnail
from adapters.media.timeline import clip_names, concat
from engine.ports import Operation, TaskContext, TaskOutput
from engine.tasks import TaskMessage

PROVIDER = "local"
JSON = "application/json"

MediaWork = Callable[[Params, Inputs, Path, threading.Event], str]  # returns the media type
InputNames = Callable[[TaskMessage], list[str]]


@dataclass(frozen=True)
class MediaOperation:
    """One media operation: which inputs it reads, and the work it does on their files."""

    work: MediaWork
    input_names: InputNames
    suffix: str  # of the file it writes, which tells the muxer or encoder the format

    async def run(self, task: TaskMessage, context: TaskContext) -> TaskOutput:
        inputs = {name: await context.input(name) for name in self.input_names(task)}
        stop = threading.Event()
        try:
            return await asyncio.to_thread(self._in_workspace, task.params, inputs, stop)
        except asyncio.CancelledError:
            stop.set()  # the thread cannot be cancelled; this makes it give up soon
            raise

    def _in_workspace(
        self, params: Params, inputs: Mapping[str, bytes], stop: threading.Event
    ) -> TaskOutput:
        with tempfile.TemporaryDirectory(prefix="scenestate-media-") as folder:
            paths = {}
            for number, (name, data) in enumerate(inputs.items(), start=1):
                # numbered, not named: an input name never becomes part of a path
                paths[name] = Path(folder, f"input-{number}")
                paths[name].write_bytes(data)
            target = Path(folder, f"output{self.suffix}")
            media_type = self.work(params, paths, target, stop)
            return TaskOutput(target.read_bytes(), media_type)


def probe(params: Params, inputs: Inputs, target: Path, stop: threading.Event) -> str:
    """What input "media" holds, as JSON (see adapters.media.probe.MediaInfo)."""
    target.write_bytes(msgspec.json.encode(probe_media(inputs["media"], "media")))
    return JSON


def _named(*names: str) -> InputNames:
    return lambda task: list(names)


def media_operations() -> dict[tuple[str, str], Operation]:
    video = _named("video")
    return {
        (PROVIDER, "probe"): MediaOperation(probe, _named("media"), ".json"),
        (PROVIDER, "normalize"): MediaOperation(normalize, video, ".mp4"),
        (PROVIDER, "trim_pad"): MediaOperation(trim_pad, video, ".mp4"),
        (PROVIDER, "concat"): MediaOperation(concat, lambda task: clip_names(task.inputs), ".mp4"),
        (PROVIDER, "overlay"): MediaOperation(overlay, _named("video", "overlay"), ".mp4"),
        (PROVIDER, "mix"): MediaOperation(
            mix, lambda task: mix_inputs(task.params, task.inputs), ".mp4"
        ),
        (PROVIDER, "burn_captions"): MediaOperation(burn_captions, video, ".mp4"),
        (PROVIDER, "thumbnail"): MediaOperation(thumbnail, video, ".png"),
        (PROVIDER, "contact_sheet"): MediaOperation(contact_sheet, video, ".png"),
        (PROVIDER, "encode"): MediaOperation(encode, video, ".mp4"),
    }
