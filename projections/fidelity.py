"""Preview and production views: what a branch has at each fidelity, and what it lacks.

Both are exact: the engine's film recipe says which works the scene needs now at that
fidelity (with their content keys), and each work is done (a task made its artifact,
here or in the studio's work cache), under way, failed, or not planned. Per shot,
the view shows the shot's clip at that fidelity (the preview proxy, or the
production clip): re-made by the newest execution of that goal, reused from earlier
work, still being made, failed, or stale (the slot holds a proxy of older content).
After an edit only the changed shots' works are missing; the rest stay reused.

Production is ready only when its final render is done and no merge conflict is open
on a node the film is made from; otherwise it lists exactly the works missing and
the conflicts. Conflicts do not hold a preview back; the preview view lists them.

Running work comes from the branch's state; what finished executions did (which
the state no longer holds) comes as `FinishedWork`, from the engine's archive.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum

import msgspec

from engine.executions import ExecutionState, TaskState
from engine.models import LOCAL_CHOICES, ModelChoices
from engine.planning import CachedWork, Work, content_keys
from engine.recipes import film_works, scene_works
from engine.scene import SceneState
from engine.surfaces import surface_works
from engine.tasks import TaskStatus
from projections.surfaces import SurfaceView, surface_views


class Fidelity(StrEnum):
    DRAFT = "draft"
    PREVIEW = "preview"
    PRODUCTION = "production"


class WorkGap(msgspec.Struct, frozen=True, kw_only=True):
    """A work the output needs that has no artifact yet; `status` is `not planned` or
    its task's status, `reason` why it is stuck (the error, or the task it waits on)."""

    work: str
    description: str
    operation: str
    status: str
    task: str | None = None
    reason: str | None = None


class OpenConflict(msgspec.Struct, frozen=True):
    conflict: str
    node: str
    field: str


class ShotClip(msgspec.Struct, frozen=True, kw_only=True):
    """A shot's clip at the view's fidelity. `state`: remade (by the newest execution of
    that goal), reused, pending, failed, stale (only a clip of older content is bound)
    or missing; `artifact` the current clip, else the best one bound."""

    node: str
    number: int
    state: str
    artifact: str | None
    task: str | None = None


class FidelityView(msgspec.Struct, frozen=True, kw_only=True):
    """`status`: ready, in_progress, failed, conflicted (production) or not_rendered."""

    scene: str
    branch: str
    version: int
    fidelity: str
    status: str
    output: str | None
    execution: str | None
    missing: list[WorkGap]
    conflicts: list[OpenConflict]
    shots: list[ShotClip] = []
    reasons: list[str] = []
    surfaces: list[SurfaceView] = []


class FinishedWork(msgspec.Struct, frozen=True):
    """What finished executions add to a view: their tasks for the works it needs, and
    the one of its goal started last."""

    tasks: tuple[TaskState, ...] = ()
    newest: ExecutionState | None = None


def needed_keys(
    state: SceneState, fidelity: Fidelity, models: ModelChoices = LOCAL_CHOICES
) -> dict[str, str]:
    """Content key of every work the outputs at `fidelity` (the film and its surfaces)
    need now, by plan key."""
    return content_keys(scene_works(state, str(fidelity), models))


def fidelity_view(
    state: SceneState,
    fidelity: Fidelity,
    cached: Mapping[str, CachedWork],
    finished: FinishedWork | None = None,
    models: ModelChoices = LOCAL_CHOICES,
) -> FidelityView:
    """`cached`: what the studio's work cache holds for the keys of `needed_keys`;
    `finished`: what finished executions did for them."""
    if fidelity == Fidelity.DRAFT:
        raise ValueError("the draft view is a timeline: projections.timeline.timeline_of")
    finished = finished or FinishedWork()
    works = film_works(state, str(fidelity), models)
    keys = content_keys(works)
    made = _Made(state, cached, finished.tasks)
    missing = [_gap(w, made.tasks.get(keys[w.key], [])) for w in works if not made(keys[w.key])]
    output = made(keys[works[-1].key]) if works else None
    execution = _newest(state, fidelity, finished.newest)
    shots = _shot_clips(state, fidelity, works, keys, made, execution)
    film = _film_nodes(state)
    conflicts = _conflicts(state, film)
    blocking = conflicts if fidelity == Fidelity.PRODUCTION else []
    status = _status(works, output, missing, blocking)
    reasons = [f"conflict {c.conflict} is open on {c.node} ({c.field})" for c in blocking]
    reasons += [f"{g.work}: {g.status}" + (f" ({g.reason})" if g.reason else "") for g in missing]
    if not works:
        reasons = ["the scene has no shots to render"]
    surfaces = _surfaces(state, fidelity, works, made, models)
    return FidelityView(
        scene=state.scene,
        branch=state.branch,
        version=state.version,
        fidelity=fidelity,
        status=status,
        output=output if status == "ready" else None,
        execution=execution.id if execution is not None else None,
        missing=missing,
        conflicts=conflicts,
        shots=shots,
        reasons=reasons,
        surfaces=surfaces,
    )


def _surfaces(
    state: SceneState, fidelity: Fidelity, film: list[Work], made: _Made, models: ModelChoices
) -> list[SurfaceView]:
    works = film + surface_works(state, str(fidelity), film, models)
    keys = content_keys(works)

    def reason(work: Work) -> str:
        gap = _gap(work, made.tasks.get(keys[work.key], []))
        return gap.status + (f" ({gap.reason})" if gap.reason else "")

    return surface_views(state, str(fidelity), works, keys, made, reason)


_STUCK = (TaskStatus.FAILED, TaskStatus.BLOCKED, TaskStatus.CANCELED)
_UNDER_WAY = (TaskStatus.RUNNING, TaskStatus.QUEUED, TaskStatus.PLANNED)


class _Made:
    """The artifact made for a content key: by a task here, by one in the work cache,
    or given to a task here as a reused input."""

    def __init__(
        self, state: SceneState, cached: Mapping[str, CachedWork], finished: Iterable[TaskState]
    ) -> None:
        others = (t for t in finished if t.id not in state.tasks)
        self.tasks = _tasks_by_key([*state.tasks.values(), *others])
        self.cached = cached
        self.given = {
            item.content_key: item.artifact
            for task in state.tasks.values()
            for item in task.inputs
            if item.artifact
        }

    def __call__(self, key: str) -> str | None:
        for task in self.tasks.get(key, ()):
            if task.status == TaskStatus.SUCCEEDED and task.artifact is not None:
                return task.artifact
        cached = self.cached.get(key)
        return cached.artifact if cached is not None else self.given.get(key)


def _status(
    works: list[Work], output: str | None, missing: list[WorkGap], conflicts: list[OpenConflict]
) -> str:
    if not works:
        return "not_rendered"
    if conflicts:
        return "conflicted"
    if output is not None:
        return "ready"
    if any(g.status in _STUCK for g in missing):
        return "failed"
    if any(g.status != "not planned" for g in missing):
        return "in_progress"
    return "not_rendered"


def _tasks_by_key(tasks: Iterable[TaskState]) -> dict[str, list[TaskState]]:
    found: dict[str, list[TaskState]] = {}
    for task in tasks:
        found.setdefault(task.content_key, []).append(task)
    return found


def _gap(work: Work, tasks: list[TaskState]) -> WorkGap:
    """The most advanced attempt at a work: under way first, then the newest failure."""
    if not tasks:
        return WorkGap(
            work=work.key,
            description=work.description,
            operation=work.operation,
            status="not planned",
        )
    task = max(tasks, key=_advance)
    reason = task.error
    if task.status == TaskStatus.BLOCKED and task.cause:
        reason = f"waits on {task.cause}"
    return WorkGap(
        work=work.key,
        description=work.description,
        operation=work.operation,
        status=str(task.status),
        task=task.id,
        reason=reason,
    )


def _advance(task: TaskState) -> tuple[int, int, int]:
    if task.status in _UNDER_WAY:
        return (1, -_UNDER_WAY.index(task.status), task.planned.version)
    return (0, 0, task.planned.version)


def _shot_ids(state: SceneState) -> list[str]:
    return [n for n in state.child_ids(state.root) if state.nodes[n].kind == "shot"]


def _shot_clips(
    state: SceneState,
    fidelity: Fidelity,
    works: list[Work],
    keys: Mapping[str, str],
    made: _Made,
    execution: ExecutionState | None,
) -> list[ShotClip]:
    by_key = {w.key: w for w in works}
    clips = []
    for number, shot in enumerate(_shot_ids(state), start=1):
        work = by_key.get(f"{shot}/{fidelity}")
        if work is None:
            continue
        key = keys[work.key]
        artifact = made(key)
        tasks = made.tasks.get(key, [])
        if artifact is not None:
            newest = execution is not None and any(
                t.execution == execution.id and t.status == TaskStatus.SUCCEEDED for t in tasks
            )
            clips.append(ShotClip(node=shot, number=number, state=_done(newest), artifact=artifact))
            continue
        bound = state.nodes[shot].artifact(str(fidelity))
        gap = _gap(work, tasks)
        clips.append(
            ShotClip(
                node=shot,
                number=number,
                state=_undone(gap, bound),
                artifact=bound,
                task=gap.task,
            )
        )
    return clips


def _done(by_newest: bool) -> str:
    return "remade" if by_newest else "reused"


def _undone(gap: WorkGap, bound: str | None) -> str:
    if gap.status in _STUCK:
        return "failed"
    if gap.status != "not planned":
        return "pending"
    return "stale" if bound is not None else "missing"


def _film_nodes(state: SceneState) -> set[str]:
    """The nodes the film is made from: the root, the shots with everything under
    them, the voice-overs and the music (see engine.recipes.film_works)."""
    nodes = {state.root}
    for shot in _shot_ids(state):
        nodes.add(shot)
        nodes.update(state.descendants(shot))
    nodes.update(n for n, node in state.nodes.items() if node.kind in ("voiceover", "audio"))
    return nodes


def _conflicts(state: SceneState, film: set[str]) -> list[OpenConflict]:
    """Open conflicts on the film's nodes, and on nodes one side removed (either side
    may bring them back into the film)."""
    return sorted(
        (
            OpenConflict(c.conflict, c.node, c.field)
            for c in state.conflicts.values()
            if c.node in film or c.node not in state.nodes
        ),
        key=lambda c: (c.node, c.field, c.conflict),
    )


def _newest(state: SceneState, goal: str, finished: ExecutionState | None) -> ExecutionState | None:
    found = [e for e in state.executions.values() if e.goal == goal]
    if finished is not None and finished.id not in state.executions:
        found.append(finished)
    return max(found, key=lambda e: e.started.version, default=None)
