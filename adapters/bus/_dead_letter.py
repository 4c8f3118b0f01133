"""The failed result a bus publishes for a task no worker finished within
`max_deliver` deliveries: a dead letter no one can lose, because it travels on the
results channel like any other result and is folded into the scene as an event."""

from __future__ import annotations

from engine.tasks import ErrorKind, TaskError, TaskMessage, TaskResult, TaskStatus

DEAD_LETTER_WORKER = "task-bus"


def lost_result(task: TaskMessage, deliveries: int) -> TaskResult:
    """FAILED with ErrorKind.LOST for this attempt of `task`; its message_id is that
    of any other failure of the attempt, so a duplicate is dropped like one."""
    return TaskResult(
        task_id=task.task_id,
        attempt=task.attempt,
        execution_id=task.execution_id,
        scene=task.scene,
        branch=task.branch,
        status=TaskStatus.FAILED,
        error=TaskError(
            kind=ErrorKind.LOST,
            message=(
                f"no worker finished {task.description or task.operation!r} "
                f"after {deliveries} deliveries"
            ),
        ),
        worker=DEAD_LETTER_WORKER,
    )
