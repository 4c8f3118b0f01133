"""The demo's film as a viewer sees and hears it: made offline from the demo's prompt
through the structure planner and the film recipe, every task run by the operation a
worker would run, then the final MP4 decoded.

Sound lies under the whole film and the narration rises above it; each shot's
picture shows what its caption says (dusk, a storm at night, dawn) and the keeper the
captions name.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import av
import numpy as np
import pytest

from adapters.operations.local import local_operations
from adapters.operations.media import media_operations
from engine.planning import Work
from engine.recipes import film_works
from engine.scene import SceneState
from engine.tasks import Lane, TaskMessage
from tests.engine.scenes import Studio

PROMPT = "A 3-shot film about a lighthouse keeper, with narration and captions"
WIDTH, HEIGHT, FPS = 640, 360, 12.0
SHOT_SECONDS = 5.0
OPERATIONS = {**local_operations(), **media_operations()}


@dataclass(frozen=True)
class Film:
    state: SceneState
    works: dict[str, Work]  # by key
    outputs: dict[str, dict[str, Any]]  # each work's reported facts, by key
    sound: np.ndarray  # mono samples of the final film, -1..1
    rate: int
    frames: list[tuple[float, np.ndarray]]  # (time, RGB) of every frame


class Artifacts:
    """The worker's task context: a work's inputs are the artifacts of other works."""

    def __init__(self, made: Mapping[str, bytes], inputs: Mapping[str, str]) -> None:
        self.made, self.inputs = made, inputs

    async def input(self, name: str) -> bytes:
        return self.made[self.inputs[name]]

    tries = 0  # the first try of each attempt

    async def heartbeat(self) -> None:
        return None


async def make_film() -> Film:
    studio = Studio()
    await studio.act("main", "create_scene")
    for prop, value in (("width", WIDTH), ("height", HEIGHT), ("fps", FPS)):
        await studio.set("main", "root", prop, value)
    await studio.submit({"kind": "text_prompt", "text": PROMPT})
    state = await studio.state()
    works = film_works(state)
    made: dict[str, bytes] = {}
    outputs: dict[str, dict[str, Any]] = {}
    for work in works:  # in dependency order
        output = await OPERATIONS[(work.provider, work.operation)].run(
            _task(work), Artifacts(made, dict(work.inputs))
        )
        assert output.data is not None, work.key
        made[work.key], outputs[work.key] = output.data, dict(output.outputs)
    sound, rate, frames = _decoded(made[works[-1].key])
    return Film(state, {w.key: w for w in works}, outputs, sound, rate, frames)


def _task(work: Work) -> TaskMessage:
    return TaskMessage(
        task_id=work.key,
        attempt=1,
        execution_id="x1",
        scene="film",
        branch="main",
        studio="st",
        lane=Lane(work.lane),
        operation=work.operation,
        model=work.model,
        provider=work.provider,
        content_key=work.key,
        params=dict(work.params),
        inputs={name: "0" * 64 for name in work.inputs},
    )


def _decoded(mp4: bytes) -> tuple[np.ndarray, int, list[tuple[float, np.ndarray]]]:
    with av.open(io.BytesIO(mp4)) as container:
        rate = container.streams.audio[0].rate
        sound = np.concatenate([f.to_ndarray() for f in container.decode(audio=0)], axis=1)
    with av.open(io.BytesIO(mp4)) as container:
        frames = [(float(f.time), f.to_ndarray(format="rgb24")) for f in container.decode(video=0)]
    return sound.mean(axis=0), rate, frames


@pytest.fixture(scope="module")
def film() -> Film:
    return asyncio.run(make_film())


def decibels(samples: np.ndarray) -> float:
    """Loudness (RMS) in dB below full scale; digital silence is -inf."""
    level = float(np.sqrt(np.mean(samples.astype(np.float64) ** 2)))
    return 20 * np.log10(level) if level > 0 else float("-inf")


def luma(picture: np.ndarray) -> np.ndarray:
    rgb = picture.astype(np.float32)
    weighted: np.ndarray = 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]
    return weighted


def shot_frames(film: Film, number: int) -> list[np.ndarray]:
    """Frames of shot `number` (1-based), leaving out half a second at each cut."""
    begin, end = (number - 1) * SHOT_SECONDS + 0.5, number * SHOT_SECONDS - 0.5
    return [picture for time, picture in film.frames if begin <= time < end]


# --- sound ----------------------------------------------------------------------------


def test_sound_runs_under_the_whole_film(film: Film) -> None:
    """No second of the film is silent: the music bed plays from the first frame to the
    last (fading only at the very end), not only while the narrator speaks."""
    seconds = len(film.sound) // film.rate
    assert seconds >= 3 * SHOT_SECONDS - 1
    levels = [decibels(film.sound[s * film.rate : (s + 1) * film.rate]) for s in range(seconds)]
    assert min(levels) > -40.0, [round(level) for level in levels]
    assert min(levels[:-1]) > -34.0, [round(level) for level in levels]


def test_the_narrator_is_heard_above_the_music(film: Film) -> None:
    """Where the lines are spoken the film is clearly louder than where only the music
    plays (between the lines and after the last, before the music's fade)."""
    lines = [
        (float(film.state.nodes[key.split("/")[0]].value("start", 0.0) or 0.0), key)
        for key, work in film.works.items()
        if work.operation == "text_to_speech"
    ]
    assert len(lines) == 3  # a line for each shot
    time = np.arange(len(film.sound)) / film.rate
    spoken = np.zeros(len(film.sound), bool)
    near_a_voice = np.zeros(len(film.sound), bool)
    for start, key in lines:
        end = start + float(film.outputs[key]["duration"])
        spoken |= (time >= start) & (time < end)
        # a speech file holds a little silence after its words; the bed comes back up
        near_a_voice |= (time >= start - 0.1) & (time < end - 0.2)
    music_only = ~near_a_voice & ~spoken & (time < time[-1] - 1.0)
    assert music_only.sum() > film.rate  # a second or more of music alone
    voice, music = decibels(film.sound[spoken]), decibels(film.sound[music_only])
    assert music > -32.0  # the music is there between the lines ...
    assert voice > music + 6.0, (voice, music)  # ... and the voice stands above it


# --- pictures -------------------------------------------------------------------------


def test_the_captions_tell_a_story_from_dusk_through_a_stormy_night_to_dawn(film: Film) -> None:
    captions = [str(film.state.nodes[f"caption-{n}"].value("text")).lower() for n in (1, 2, 3)]
    assert "dusk" in captions[0]
    assert "storm" in captions[1] and "night" in captions[1] and "window" in captions[1]
    assert "dawn" in captions[2] and "gallery" in captions[2]
    assert all("keeper" in caption for caption in captions)


def test_each_shot_is_lit_as_its_caption_says(film: Film) -> None:
    """The stormy night is dark; dusk is dimmer than dawn; each clearly so."""
    dusk, night, dawn = (
        float(np.mean([luma(f).mean() for f in shot_frames(film, n)])) for n in (1, 2, 3)
    )
    assert night < dawn / 2.5, (dusk, night, dawn)
    assert night < dusk / 2, (dusk, night, dawn)
    assert dusk < dawn, (dusk, night, dawn)


def rain_streaks(picture: np.ndarray) -> float:
    """How much of the sky is crossed by thin bright streaks: the share of its pixels
    brighter than both their left and right neighbours by a clear step."""
    sky = luma(picture)[: picture.shape[0] // 2]
    step = sky[:, 1:-1] - np.maximum(sky[:, :-2], sky[:, 2:])
    return float((step > 6.0).mean())


def test_rain_falls_in_the_storm_shot_only(film: Film) -> None:
    streaks = [float(np.mean([rain_streaks(f) for f in shot_frames(film, n)])) for n in (1, 2, 3)]
    assert streaks[1] > 5 * max(streaks[0], streaks[2]) + 0.002, streaks


def test_the_keeper_is_in_every_shot_his_caption_names(film: Film) -> None:
    """The picture model reports where it painted the keeper; he is in each shot, at the
    lighthouse's window in the storm, high on the gallery at dawn."""
    boxes = {}
    for n in (1, 2, 3):
        image = film.outputs[f"shot-{n}/image"]
        assert "keeper" in image, n
        left, top, right, bottom = image["keeper"]
        assert 0 <= left < right <= image["width"] and 0 <= top < bottom <= image["height"]
        boxes[n] = (left, top, right, bottom)
    assert boxes[2][3] < 720 * 0.4  # up in the lantern room
    assert boxes[3][3] < 720 * 0.5  # up on the gallery


def test_each_picture_is_asked_for_with_its_captions_words(film: Film) -> None:
    for n in (1, 2, 3):
        prompt = str(film.works[f"shot-{n}/image"].params["prompt"])
        caption = str(film.state.nodes[f"caption-{n}"].value("text")).rstrip(".")
        assert prompt.startswith(str(film.state.nodes[f"shot-{n}"].value("prompt")))
        assert caption in prompt
