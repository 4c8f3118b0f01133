"""What work a scene needs to become a film at a fidelity: its plan, before keys and ids.

Per shot: an image from the shot's prompt and its captions' words (so the picture
shows what the caption over it says), a clip animated from the image, and the clip
normalised to the fidelity's frame rate, size and the shot's exact duration. Per
voice-over: speech. Per audio node: music, from its start to the film's end. Then
the clips are joined (a remux), the music laid under the whole film as a bed and
the voices mixed in over it where their nodes say (the bed ducks under them), and
the result encoded with the captions burnt in during the same pass. *Preview* makes
small, low-frame-rate proxies on the preview lane; *production* renders full
quality. Node ids never enter the work's parameters, so two shots asking for the
same thing share one task, and after an edit only the changed shots' chains and the
assembly run again (an edited caption changes its shot's picture too).

A caption or voice-over that speaks a copy node (its `copy` prop) says that copy's
text: the line a page shares with the film. Such a caption is a line *about* the film
(a tagline), not a description of the picture, so it stays out of the picture's
prompt, and an edit to the copy re-runs the render that burns it in, not the shot.
`scene_works` adds the scene's surfaces (`engine.surfaces`) after the film.
"""

from __future__ import annotations

import msgspec

from engine.events import TaskTarget
from engine.models import LOCAL_CHOICES, LOCAL_MODELS, ModelChoice, ModelChoices
from engine.planning import Work
from engine.scene import Node, SceneState
from engine.surfaces import surface_works
from engine.tasks import Lane
from engine.ui_copy import shared_copy, spoken_text

DEFAULT_FPS = 24.0
DEFAULT_WIDTH, DEFAULT_HEIGHT = 1920, 1080
DEFAULT_SHOT_SECONDS = 5.0
IMAGE_MODEL, MOTION_MODEL = LOCAL_MODELS["image"], LOCAL_MODELS["video"]
VOICE_MODEL, MUSIC_MODEL = LOCAL_MODELS["voice"], LOCAL_MODELS["music"]
DUCKING = 0.3  # the bed's gain while a voice speaks
LOCAL = "local"
MEDIA = "media"  # operations done by our own media code, not a model
FIDELITIES = ("preview", "production")
PREVIEW_WIDTH, PREVIEW_FPS = 640, 12.0


class Format(msgspec.Struct, frozen=True):
    """The picture a fidelity renders: frame rate and size."""

    fps: float
    width: int
    height: int


def format_for(state: SceneState, fidelity: str) -> Format:
    """The scene's own format for production; a small, low-frame-rate one for preview."""
    root = state.nodes[state.root]
    fps = float(root.value("fps", DEFAULT_FPS) or DEFAULT_FPS)
    width = int(root.value("width", DEFAULT_WIDTH) or DEFAULT_WIDTH)
    height = int(root.value("height", DEFAULT_HEIGHT) or DEFAULT_HEIGHT)
    if fidelity != "preview":
        return Format(fps, width, height)
    small = min(width, PREVIEW_WIDTH)
    return Format(min(fps, PREVIEW_FPS), small, _even(height * small / width))


def _even(value: float) -> int:
    return max(2, round(value / 2) * 2)


def scene_works(
    state: SceneState, fidelity: str = "production", models: ModelChoices = LOCAL_CHOICES
) -> list[Work]:
    """Everything the scene makes at `fidelity`: the film, then its surfaces."""
    film = film_works(state, fidelity, models)
    return film + surface_works(state, fidelity, film, models)


def film_works(
    state: SceneState, fidelity: str = "production", models: ModelChoices = LOCAL_CHOICES
) -> list[Work]:
    """The works to render `state` at `fidelity` ("preview" or "production"), in
    dependency order."""
    root = state.nodes.get(state.root)
    shots = [state.nodes[n] for n in state.child_ids(state.root)]
    shots = [s for s in shots if s.kind == "shot"]
    if root is None or not shots:
        return []
    picture = format_for(state, fidelity)
    style = str(root.value("style", "") or "")
    works: list[Work] = []
    clips: dict[str, str] = {}
    captions: list[dict[str, object]] = []
    start = 0.0
    for shot in shots:
        duration = float(shot.value("duration", DEFAULT_SHOT_SECONDS) or DEFAULT_SHOT_SECONDS)
        shown = _captions_of(state, shot, start, duration)
        words = [str(caption["text"]) for caption in shown if not caption.get("shared")]
        prompt = _picture_prompt(shot, words, style)
        if not prompt:  # nothing to picture yet: left out of the film until it has
            continue
        number = len(clips) + 1
        works.extend(_generation(shot, number, prompt, duration, models))
        works.append(_conform(shot, number, picture, duration, fidelity))
        clips[f"clip-{number:03d}"] = f"{shot.id}/{fidelity}"
        captions.extend({k: v for k, v in c.items() if k != "shared"} for c in shown)
        start += duration
    if not clips:
        return []
    voices, beds = _voice_works(state, models.of("voice")), _music_works(state, start, models)
    works.extend([*voices, *beds])
    sound = Sound(voices, beds)
    works.extend(_assembly(state, clips, sound, captions, picture, start, fidelity))
    return works


class Sound(msgspec.Struct, frozen=True):
    """The works that make the film's sound: voice-overs, and music beds under them."""

    voices: list[Work]
    beds: list[Work]


def _picture_prompt(shot: Node, captions: list[str], style: str) -> str:
    """The shot's prompt, then the words of the captions shown over it, then the
    scene's style: a picture model reads the prompt first, and the captions tell it
    what the viewer will be told they are looking at (who is there, the weather).
    A shot with none of them is pictured from its title; one without a title either
    has nothing to picture ("")."""
    lines = [text.strip().rstrip(".") for text in captions]
    prompt = ", ".join(p for p in (str(shot.value("prompt", "") or ""), *lines, style) if p)
    return prompt or str(shot.value("title", "") or "").strip()


def _generation(
    shot: Node, number: int, prompt: str, duration: float, models: ModelChoices
) -> list[Work]:
    seed, take = int(shot.value("seed", 0) or 0), int(shot.value("take", 0) or 0)
    what = f"shot {number}"
    image, motion = models.of("image"), models.of("video")
    return [
        Work(
            f"{shot.id}/image",
            "text_to_image",
            image.model,
            image.provider,
            Lane.INTERACTIVE,
            {"prompt": prompt, "seed": seed, "take": take, "width": 1280, "height": 720},
            targets=(TaskTarget(shot.id, "image"),),
            description=f"generating image for {what}",
        ),
        Work(
            f"{shot.id}/video",
            "image_to_video",
            motion.model,
            motion.provider,
            Lane.PREVIEW,
            {"duration": duration, "seed": seed, "take": take, "motion": "pan-zoom"},
            {"image": f"{shot.id}/image"},
            (TaskTarget(shot.id, "video"),),
            f"generating video for {what}",
        ),
    ]


def _conform(shot: Node, number: int, picture: Format, duration: float, fidelity: str) -> Work:
    """The shot's clip at the fidelity's exact frame rate, size and duration."""
    preview = fidelity == "preview"
    return Work(
        f"{shot.id}/{fidelity}",
        "normalize",
        MEDIA,
        LOCAL,
        Lane.PREVIEW if preview else Lane.PRODUCTION,
        {
            "fps": picture.fps,
            "width": picture.width,
            "height": picture.height,
            "duration": duration,
        },
        {"video": f"{shot.id}/video"},
        (TaskTarget(shot.id, "preview"),) if preview else (),
        f"making the preview proxy of shot {number}" if preview else f"normalising shot {number}",
    )


def _voice_works(state: SceneState, voice: ModelChoice) -> list[Work]:
    works = []
    for node_id in sorted(state.nodes):
        node = state.nodes[node_id]
        if node.kind != "voiceover":
            continue
        text = spoken_text(state, node)
        if not text:
            continue
        works.append(
            Work(
                f"{node.id}/speech",
                "text_to_speech",
                voice.model,
                voice.provider,
                Lane.INTERACTIVE,
                {"text": text, "voice": str(node.value("voice", "") or "default")},
                targets=(TaskTarget(node.id, "audio"),),
                description=f"speaking {node.id}",
            )
        )
    return works


def _music_works(state: SceneState, total: float, models: ModelChoices) -> list[Work]:
    """Music for each audio node with a prompt, from where it starts to the film's end."""
    music = models.of("music")
    works = []
    for node_id in sorted(state.nodes):
        node = state.nodes[node_id]
        prompt = str(node.value("prompt", "") or "")
        start = float(node.value("start", 0.0) or 0.0)
        if node.kind != "audio" or not prompt or start >= total:
            continue
        duration = float(node.value("duration", total - start) or total - start)
        works.append(
            Work(
                f"{node.id}/music",
                "music",
                music.model,
                music.provider,
                Lane.PREVIEW,
                {
                    "mood": prompt,
                    "duration": duration,
                    "seed": 0,
                    "take": int(node.value("take", 0) or 0),
                },
                targets=(TaskTarget(node.id, "audio"),),
                description=f"making the music of {node.id}",
            )
        )
    return works


def _captions_of(
    state: SceneState, shot: Node, start: float, duration: float
) -> list[dict[str, object]]:
    captions = []
    for child in state.child_ids(shot.id):
        node = state.nodes[child]
        if node.kind != "caption":
            continue
        text = spoken_text(state, node)
        if not text:
            continue
        begin = float(node.value("start", 0.0) or 0.0)
        end = float(node.value("end", duration) or duration)
        shown: dict[str, object] = {
            "text": text,
            "start": start + begin,
            "end": start + min(end, duration),
        }
        if shared_copy(state, node) is not None:
            shown["shared"] = True
        captions.append(shown)
    return captions


def _assembly(
    state: SceneState,
    clips: dict[str, str],
    sound: Sound,
    captions: list[dict[str, object]],
    picture: Format,
    total: float,
    fidelity: str,
) -> list[Work]:
    preview = fidelity == "preview"
    lane = Lane.PREVIEW if preview else Lane.PRODUCTION
    joined = f"{fidelity}/concat"
    works = [
        Work(
            joined,
            "concat",
            MEDIA,
            LOCAL,
            lane,
            {"duration": total},
            dict(clips),
            description="joining the shots",
        ),
    ]
    if sound.voices or sound.beds:
        works.append(_mix(state, sound, joined, f"{fidelity}/mix", lane))
        joined = f"{fidelity}/mix"
    what = "the preview" if preview else "the film at production quality"
    works.append(
        Work(
            f"{fidelity}/render",
            "encode",
            MEDIA,
            LOCAL,
            lane,
            {
                "preset": fidelity,
                "fps": picture.fps,
                "width": picture.width,
                "height": picture.height,
                "captions": captions,
            },
            {"video": joined},
            (TaskTarget(state.root, "preview" if preview else "render"),),
            f"rendering {what}" + (" with captions" if captions else ""),
        )
    )
    return works


def _mix(state: SceneState, sound: Sound, video: str, key: str, lane: Lane) -> Work:
    inputs = {"video": video}
    params: dict[str, object] = {}
    for name, works in (("voice", sound.voices), ("bed", sound.beds)):
        placements = []
        for number, work in enumerate(works, start=1):
            node = state.nodes[work.key.split("/")[0]]
            placements.append(
                {
                    "input": f"{name}-{number:03d}",
                    "start": float(node.value("start", 0.0) or 0.0),
                    "volume": float(node.value("volume", 1.0) or 1.0),
                }
            )
            inputs[f"{name}-{number:03d}"] = work.key
        if works:
            params[f"{name}s"] = placements
    what = " and ".join(
        part
        for part, works in (("the voice-over", sound.voices), ("the music", sound.beds))
        if works
    )
    return Work(
        key,
        "mix",
        MEDIA,
        LOCAL,
        lane,
        {**params, "ducking": DUCKING},
        inputs,
        description=f"mixing {what}",
    )


def diagnostic_works(
    count: int, operation: str, lane: str, params: dict[str, object], chain: bool, nonce: str
) -> list[Work]:
    """`count` diagnostic tasks; `nonce` (the intent id) keeps each run's keys its own."""
    works: list[Work] = []
    for n in range(1, count + 1):
        inputs = {"previous": works[-1].key} if chain and works else {}
        works.append(
            Work(
                f"diagnose/{n:05d}",
                operation,
                "diagnostic",
                "diagnostic",
                Lane(lane),
                {**params, "n": n, "nonce": nonce},
                inputs,
                description=f"diagnostic {operation} {n} of {count}",
            )
        )
    return works
