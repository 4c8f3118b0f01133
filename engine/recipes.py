"""What work a scene needs to become a film: its plan, before keys and ids.

Per shot: an image from the shot's prompt, a clip animated from the image, and
the clip normalised to the scene's frame rate, size and the shot's exact
duration. Per voice-over: speech. Then the clips are concatenated, the voices
mixed in where their nodes say, captions burnt in at their times, and the result
encoded for production. Node ids never enter the work's parameters, so two shots
asking for the same thing share one task.
"""

from __future__ import annotations

from engine.events import TaskTarget
from engine.planning import Work
from engine.scene import Node, SceneState
from engine.tasks import Lane

DEFAULT_FPS = 24.0
DEFAULT_WIDTH, DEFAULT_HEIGHT = 1920, 1080
DEFAULT_SHOT_SECONDS = 5.0
IMAGE_MODEL, MOTION_MODEL, VOICE_MODEL = "local-image-1", "local-motion-1", "local-voice-1"
LOCAL = "local"
MEDIA = "media"  # operations done by our own media code, not a model


def film_works(state: SceneState) -> list[Work]:
    """The works to render `state` at production quality, in dependency order."""
    root = state.nodes.get(state.root)
    shots = [state.nodes[n] for n in state.child_ids(state.root)]
    shots = [s for s in shots if s.kind == "shot"]
    if root is None or not shots:
        return []
    fps = float(root.value("fps", DEFAULT_FPS) or DEFAULT_FPS)
    width = int(root.value("width", DEFAULT_WIDTH) or DEFAULT_WIDTH)
    height = int(root.value("height", DEFAULT_HEIGHT) or DEFAULT_HEIGHT)
    style = str(root.value("style", "") or "")
    works: list[Work] = []
    clips: dict[str, str] = {}
    captions: list[dict[str, object]] = []
    start = 0.0
    for number, shot in enumerate(shots, start=1):
        duration = float(shot.value("duration", DEFAULT_SHOT_SECONDS) or DEFAULT_SHOT_SECONDS)
        works.extend(_shot_works(shot, number, style, fps, width, height, duration))
        clips[f"clip-{number:03d}"] = f"{shot.id}/clip"
        captions.extend(_captions_of(state, shot, start, duration))
        start += duration
    voices = _voice_works(state)
    works.extend(voices)
    works.extend(_assembly(state, clips, voices, captions, fps, width, height, start))
    return works


def _shot_works(
    shot: Node, number: int, style: str, fps: float, width: int, height: int, duration: float
) -> list[Work]:
    prompt = ", ".join(p for p in (str(shot.value("prompt", "") or ""), style) if p)
    seed, take = int(shot.value("seed", 0) or 0), int(shot.value("take", 0) or 0)
    what = f"shot {number}"
    return [
        Work(
            f"{shot.id}/image",
            "text_to_image",
            IMAGE_MODEL,
            LOCAL,
            Lane.INTERACTIVE,
            {"prompt": prompt, "seed": seed, "take": take, "width": 1280, "height": 720},
            targets=(TaskTarget(shot.id, "image"),),
            description=f"generating image for {what}",
        ),
        Work(
            f"{shot.id}/video",
            "image_to_video",
            MOTION_MODEL,
            LOCAL,
            Lane.PREVIEW,
            {"duration": duration, "seed": seed, "take": take, "motion": "pan-zoom"},
            {"image": f"{shot.id}/image"},
            (TaskTarget(shot.id, "video"),),
            f"generating video for {what}",
        ),
        Work(
            f"{shot.id}/clip",
            "normalize",
            MEDIA,
            LOCAL,
            Lane.PREVIEW,
            {"fps": fps, "width": width, "height": height, "duration": duration},
            {"video": f"{shot.id}/video"},
            description=f"normalising {what}",
        ),
    ]


def _voice_works(state: SceneState) -> list[Work]:
    works = []
    for node_id in sorted(state.nodes):
        node = state.nodes[node_id]
        text = str(node.value("text", "") or "")
        if node.kind != "voiceover" or not text:
            continue
        works.append(
            Work(
                f"{node.id}/speech",
                "text_to_speech",
                VOICE_MODEL,
                LOCAL,
                Lane.INTERACTIVE,
                {"text": text, "voice": str(node.value("voice", "") or "default")},
                targets=(TaskTarget(node.id, "audio"),),
                description=f"speaking {node.id}",
            )
        )
    return works


def _captions_of(
    state: SceneState, shot: Node, start: float, duration: float
) -> list[dict[str, object]]:
    captions = []
    for child in state.child_ids(shot.id):
        node = state.nodes[child]
        text = str(node.value("text", "") or "")
        if node.kind != "caption" or not text:
            continue
        begin = float(node.value("start", 0.0) or 0.0)
        end = float(node.value("end", duration) or duration)
        captions.append({"text": text, "start": start + begin, "end": start + min(end, duration)})
    return captions


def _assembly(
    state: SceneState,
    clips: dict[str, str],
    voices: list[Work],
    captions: list[dict[str, object]],
    fps: float,
    width: int,
    height: int,
    total: float,
) -> list[Work]:
    works = [
        Work(
            "scene/concat",
            "concat",
            MEDIA,
            LOCAL,
            Lane.PRODUCTION,
            {"duration": total},
            dict(clips),
            description="joining the shots",
        ),
    ]
    last = "scene/concat"
    if voices:
        starts = [
            {
                "input": f"voice-{n:03d}",
                "start": float(state.nodes[w.key.split("/")[0]].value("start", 0.0) or 0.0),
                "volume": float(state.nodes[w.key.split("/")[0]].value("volume", 1.0) or 1.0),
            }
            for n, w in enumerate(voices, start=1)
        ]
        inputs = {"video": last, **{f"voice-{n:03d}": w.key for n, w in enumerate(voices, 1)}}
        works.append(
            Work(
                "scene/mix",
                "mix",
                MEDIA,
                LOCAL,
                Lane.PRODUCTION,
                {"voices": starts, "ducking": 0.3},
                inputs,
                description="mixing the voice-over",
            )
        )
        last = "scene/mix"
    if captions:
        works.append(
            Work(
                "scene/captions",
                "burn_captions",
                MEDIA,
                LOCAL,
                Lane.PRODUCTION,
                {"captions": captions},
                {"video": last},
                description="burning in captions",
            )
        )
        last = "scene/captions"
    works.append(
        Work(
            "scene/render",
            "encode",
            MEDIA,
            LOCAL,
            Lane.PRODUCTION,
            {"preset": "production", "fps": fps, "width": width, "height": height},
            {"video": last},
            (TaskTarget(state.root, "render"),),
            "rendering the film at production quality",
        )
    )
    return works


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
