"""Progress of an execution in words a person reads: "3 of 7 tasks done, now: ..."."""

from __future__ import annotations

from collections import Counter

import msgspec

from engine.executions import FINISHED, ExecutionRecord, TaskState
from engine.scene import SceneState
from engine.tasks import ExecutionStatus, TaskStatus

UNSUCCESSFUL = (TaskStatus.FAILED, TaskStatus.BLOCKED, TaskStatus.CANCELED)


class Progress(msgspec.Struct, frozen=True):
    execution: str
    status: ExecutionStatus
    total: int
    done: int
    reused: int
    by_status: dict[str, int]
    now: list[str]
    tasks: list[TaskState]

    def headline(self) -> str:
        """ "5 of 7 tasks done (3 reused), now: ..."; tasks that ended otherwise than
        succeeding are named: "4 of 7 tasks succeeded, 1 failed, 2 blocked"."""
        doing = f", now: {'; '.join(self.now)}" if self.now else ""
        reused = f" ({self.reused} reused)" if self.reused else ""
        ended = [(str(s), self.by_status.get(str(s), 0)) for s in UNSUCCESSFUL]
        bad = ", ".join(f"{count} {status}" for status, count in ended if count)
        if not bad:
            return f"{self.done} of {self.total} tasks done{reused}{doing}"
        succeeded = self.by_status.get(str(TaskStatus.SUCCEEDED), 0)
        return f"{succeeded} of {self.total} tasks succeeded, {bad}{reused}{doing}"


def progress_of(state: SceneState, execution_id: str) -> Progress | None:
    """The progress of a running execution of `state` (None: not running there)."""
    execution = state.executions.get(execution_id)
    if execution is None:
        return None
    return progress_in(ExecutionRecord(execution, tuple(state.tasks[t] for t in execution.tasks)))


def progress_in(record: ExecutionRecord) -> Progress:
    """The progress of an execution, running or finished."""
    execution, tasks = record.execution, list(record.tasks)
    counts = Counter(str(t.status) for t in tasks)
    running = [t.description or t.operation for t in tasks if t.status == TaskStatus.RUNNING]
    return Progress(
        execution=execution.id,
        status=execution.status,
        total=len(tasks),
        done=sum(1 for t in tasks if t.status in FINISHED),
        reused=execution.reused,
        by_status=dict(counts),
        now=running,
        tasks=tasks,
    )
