"""Which waiting tasks of a scene a dispatcher must look at, learned from the log.

A readiness check that looks at every waiting task costs as much as the scene has
waiting work: a chain of 10,000 tasks would be looked over 10,000 times. The index
says, per scene branch, which tasks the events since the last check may have made
ready: a task planned or retried, and the tasks that were waiting for one that
succeeded. It remembers what each task found not ready still needs.

Anything else that can put tasks in waiting (an execution started, or the index
knows nothing of the scene yet, as after a restart) asks for a look at every
waiting task, which also rebuilds what the index remembers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from engine.dispatch import Readiness, ready_among
from engine.events import AnyEvent, ExecutionStarted, TaskPlanned, TaskRetryRequested, TaskSucceeded
from engine.scene import SceneState
from engine.tasks import TaskMessage

Branch = tuple[str, str]  # (scene, branch)


@dataclass
class _Scene:
    everything: bool = True  # look at every waiting task next time
    candidates: set[str] = field(default_factory=set)
    waiting_for: dict[str, set[str]] = field(default_factory=dict)  # upstream -> tasks


class ReadyIndex:
    def __init__(self) -> None:
        self._scenes: dict[Branch, _Scene] = {}

    def noted(self, branch: Branch, payload: AnyEvent) -> bool:
        """Take in one event of the branch; True if it may have made a task ready."""
        scene = self._scenes.setdefault(branch, _Scene())
        if isinstance(payload, (TaskPlanned, TaskRetryRequested)):
            scene.candidates.add(payload.task)
        elif isinstance(payload, TaskSucceeded):
            scene.candidates |= scene.waiting_for.pop(payload.task, set())
        elif isinstance(payload, ExecutionStarted):
            scene.everything = True
        else:
            return False
        return True

    def ready(self, state: SceneState, studio: str, tier: int = 0) -> list[TaskMessage]:
        """The ready tasks among those the events noted so far point at, by id."""
        branch = (state.scene, state.branch)
        scene = self._scenes.setdefault(branch, _Scene())
        if scene.everything:
            found = ready_among(state, state.waiting, studio, tier)
            scene.waiting_for.clear()
        else:
            found = ready_among(state, sorted(scene.candidates), studio, tier)
        scene.everything = False
        scene.candidates.clear()
        self._remember(scene, found)
        return found.ready

    def forget(self, branch: Branch) -> None:
        """Look at every waiting task of the branch next time."""
        self._scenes.pop(branch, None)

    @staticmethod
    def _remember(scene: _Scene, found: Readiness) -> None:
        for task_id, needs in found.needs.items():
            for upstream in needs:
                scene.waiting_for.setdefault(upstream, set()).add(task_id)
