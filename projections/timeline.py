"""The draft view: a scene branch's timeline as data, at once, from its state.

Ordered shots with their start and duration, the tracks laid over them (captions,
voice-over, audio) in scene time, the scene's own outputs (preview and render),
and for every slot the best artifact available or a placeholder saying what will
fill it, with the task pending or running for it (or the one that failed, and why).
"""

from __future__ import annotations

import itertools

import msgspec

from engine.executions import TaskState
from engine.recipes import DEFAULT_FPS, DEFAULT_HEIGHT, DEFAULT_SHOT_SECONDS, DEFAULT_WIDTH
from engine.scene import Node, SceneState
from engine.tasks import TaskStatus
from engine.ui_copy import spoken_text
from projections.surfaces import SurfaceView, draft_surfaces

# Which task speaks for a slot when several aim at it: work under way first.
_PRIORITY = {
    TaskStatus.RUNNING: 5,
    TaskStatus.QUEUED: 4,
    TaskStatus.PLANNED: 3,
    TaskStatus.FAILED: 2,
    TaskStatus.BLOCKED: 1,
}
# A shot shows its best picture: the clip, else the preview proxy, else the still.
_DISPLAY_ORDER = ("video", "preview", "image")
_SLOTS = {
    "scene": ("preview", "render"),
    "shot": ("image", "video", "preview"),
    "voiceover": ("audio",),
    "audio": ("audio",),
}


class SlotTask(msgspec.Struct, frozen=True):
    task: str
    status: str
    operation: str
    description: str
    attempt: int
    error: str | None = None


class SlotView(msgspec.Struct, frozen=True):
    slot: str
    artifact: str | None
    placeholder: str | None
    task: SlotTask | None


class Item(msgspec.Struct, frozen=True, kw_only=True):
    """An element on a track, in scene time (seconds from the film's start)."""

    node: str
    kind: str
    text: str
    start: float
    duration: float | None
    slots: list[SlotView] = []


class Shot(msgspec.Struct, frozen=True, kw_only=True):
    node: str
    number: int
    title: str
    prompt: str
    start: float
    duration: float
    display: str | None
    slots: list[SlotView]
    captions: list[Item]


class Track(msgspec.Struct, frozen=True):
    name: str
    items: list[Item]


class Timeline(msgspec.Struct, frozen=True, kw_only=True):
    """`position`: the global position this view is known to reflect (None: not known)."""

    scene: str
    branch: str
    version: int
    position: int | None
    title: str
    fps: float
    width: int
    height: int
    duration: float
    outputs: list[SlotView]
    shots: list[Shot]
    tracks: list[Track]
    pending: int
    conflicts: int
    surfaces: list[SurfaceView] = []


def timeline_of(state: SceneState, position: int | None = None) -> Timeline:
    root = state.nodes.get(state.root)
    working = _slot_tasks(state)
    shots: list[Shot] = []
    start = 0.0
    for number, node_id in enumerate(_shot_ids(state), start=1):
        shot = _shot(state, state.nodes[node_id], number, start, working)
        shots.append(shot)
        start += shot.duration
    return Timeline(
        scene=state.scene,
        branch=state.branch,
        version=state.version,
        position=position,
        title=state.title,
        fps=float(_value(root, "fps", DEFAULT_FPS)),
        width=int(_value(root, "width", DEFAULT_WIDTH)),
        height=int(_value(root, "height", DEFAULT_HEIGHT)),
        duration=start,
        outputs=_slots(root, working) if root is not None else [],
        shots=shots,
        tracks=_tracks(state, shots, working),
        pending=sum(1 for t in state.tasks.values() if _PRIORITY.get(t.status, 0) >= 3),
        conflicts=len(state.conflicts),
        surfaces=draft_surfaces(state),
    )


def _shot_ids(state: SceneState) -> list[str]:
    return [n for n in state.child_ids(state.root) if state.nodes[n].kind == "shot"]


def _shot(
    state: SceneState,
    node: Node,
    number: int,
    start: float,
    working: dict[tuple[str, str], TaskState],
) -> Shot:
    duration = float(_value(node, "duration", DEFAULT_SHOT_SECONDS))
    slots = _slots(node, working)
    bound = {s.slot: s.artifact for s in slots if s.artifact is not None}
    captions = [
        _caption(state, state.nodes[child], start, duration)
        for child in state.child_ids(node.id)
        if state.nodes[child].kind == "caption"
    ]
    return Shot(
        node=node.id,
        number=number,
        title=str(_value(node, "title", "")),
        prompt=str(_value(node, "prompt", "")),
        start=start,
        duration=duration,
        display=next((bound[s] for s in _DISPLAY_ORDER if s in bound), None),
        slots=slots,
        captions=captions,
    )


def _caption(state: SceneState, node: Node, shot_start: float, shot_duration: float) -> Item:
    """A caption as the film shows it: the text of the copy it speaks, when it names one
    (as the recipe burns it in), else its own."""
    begin = float(_value(node, "start", 0.0))
    end = min(float(_value(node, "end", shot_duration)), shot_duration)
    return Item(
        node=node.id,
        kind=node.kind,
        text=spoken_text(state, node),
        start=shot_start + begin,
        duration=max(end - begin, 0.0),
    )


def _tracks(
    state: SceneState, shots: list[Shot], working: dict[tuple[str, str], TaskState]
) -> list[Track]:
    captions = [c for shot in shots for c in shot.captions]
    voices: list[Item] = []
    sounds: list[Item] = []
    for node_id in sorted(state.nodes):
        node = state.nodes[node_id]
        if node.kind not in ("voiceover", "audio"):
            continue
        duration = node.value("duration")
        item = Item(
            node=node.id,
            kind=node.kind,
            text=spoken_text(state, node) or str(_value(node, "prompt", "")),
            start=float(_value(node, "start", 0.0)),
            duration=float(duration) if isinstance(duration, int | float) else None,
            slots=_slots(node, working),
        )
        (voices if node.kind == "voiceover" else sounds).append(item)
    by_start = sorted(captions, key=lambda i: i.start)
    return [
        Track("captions", by_start),
        Track("voiceover", sorted(voices, key=lambda i: (i.start, i.node))),
        Track("audio", sorted(sounds, key=lambda i: (i.start, i.node))),
    ]


def _slots(node: Node, working: dict[tuple[str, str], TaskState]) -> list[SlotView]:
    names = list(_SLOTS.get(node.kind, ()))
    names += sorted(set(node.slots) - set(names))
    return [_slot(node, name, working.get((node.id, name))) for name in names]


def _slot(node: Node, slot: str, task: TaskState | None) -> SlotView:
    artifact = node.artifact(slot)
    if task is not None and artifact is not None and _settled(node, slot, task):
        task = None
    ref = None
    if task is not None:
        ref = SlotTask(
            task.id,
            str(task.status),
            task.operation,
            task.description,
            task.attempt,
            task.error,
        )
    placeholder = None if artifact is not None else _placeholder(slot, ref)
    return SlotView(slot, artifact, placeholder, ref)


def _settled(node: Node, slot: str, task: TaskState) -> bool:
    """A failed task older than the slot's artifact is history, not news."""
    if task.status not in (TaskStatus.FAILED, TaskStatus.BLOCKED):
        return False
    bound = node.slots[slot][-1].provenance
    planned = task.planned
    return bound.branch == planned.branch and bound.version > planned.version


def _placeholder(slot: str, task: SlotTask | None) -> str:
    if task is None:
        return f"no {slot} yet"
    what = task.description or task.operation
    if task.status in (TaskStatus.FAILED, TaskStatus.BLOCKED):
        return f"{what}: {task.status} ({task.error or 'no reason given'})"
    return f"{what} ({task.status})"


def _slot_tasks(state: SceneState) -> dict[tuple[str, str], TaskState]:
    """For each (node, slot), the task that speaks for it: under way, else failed (by
    a running execution, or the one a finished execution left, `slot_failures`)."""
    chosen: dict[tuple[str, str], TaskState] = {}
    left = (task for slots in state.slot_failures.values() for task in slots.values())
    for task in itertools.chain(state.tasks.values(), left):
        rank = _PRIORITY.get(task.status)
        if rank is None or not task.targets:
            continue
        for target in task.targets:
            key = (target.node, target.slot)
            held = chosen.get(key)
            if held is None or (rank, task.planned.version) > (
                _PRIORITY[held.status],
                held.planned.version,
            ):
                chosen[key] = task
    return chosen


def _value(node: Node | None, prop: str, default: str | float) -> str | float:
    if node is None:
        return default
    value = node.value(prop)
    if value is None or isinstance(value, bool):
        return default
    return value
