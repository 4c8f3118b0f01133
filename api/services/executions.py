"""Executions (everything one intent set in motion) and their tasks: progress, the
task records, cancelling either, retrying a task in place, and following an
execution until it finishes.

A running execution is read from the branch's state, a finished one from the
engine's archive (the executions read model), with the same answer either way."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import msgspec

from api.services import Caller, Services
from api.services.idempotency import Retry
from api.services.ids import SHORTEST, SHOWN, by_prefix
from api.services.intake import Submission, submit_action
from api.services.scenes import scene_state
from engine.errors import NotFound, ScenestateError
from engine.executions import ExecutionRecord, ExecutionState, TaskState
from engine.ports import IdKind, StreamId
from engine.progress import Progress, progress_in
from engine.tasks import LANES, ExecutionStatus, TaskStatus
from projections.executions import ExecutionsReadModel

FOLLOW_POLL = 0.05  # seconds between looks at a followed execution
# Seconds before a follower first asks whether any worker serves the tasks' lanes (so
# that workers just started can announce themselves), then between asks.
UNSERVED_GRACE, UNSERVED_EVERY = 2.0, 5.0
WAITING = (TaskStatus.PLANNED, TaskStatus.QUEUED)


async def list_executions(
    services: Services, scene: str, branch: str = "main"
) -> list[ExecutionRecord]:
    """A branch's executions with their tasks, oldest first: the finished ones from the
    archive, the running ones from the state."""
    state = await scene_state(services, scene, branch)
    stream = StreamId(scene, branch)
    found = {
        r.execution.id: r for r in await services.scenes.archive.executions(stream, state.version)
    }
    for run in state.executions.values():
        found[run.id] = ExecutionRecord(run, tuple(state.tasks[t] for t in run.tasks))
    return sorted(found.values(), key=lambda r: r.execution.started.version)


class ExecutionsPage(msgspec.Struct, frozen=True):
    """A page of a branch's executions and how many the branch has in all."""

    records: list[ExecutionRecord]
    total: int


async def executions_page(
    services: Services,
    scene: str,
    branch: str = "main",
    *,
    offset: int = 0,
    limit: int | None = None,
    newest_first: bool = False,
) -> ExecutionsPage:
    """`limit` executions from `offset` on, in start order (or newest first), folding
    only those: a scene with thousands of finished executions answers a page as fast
    as a young one (where the archive is the executions read model)."""
    archive = services.scenes.archive
    if limit is None or not isinstance(archive, ExecutionsReadModel):
        every = await list_executions(services, scene, branch)
        ordered = every[::-1] if newest_first else every
        end = None if limit is None else offset + limit
        return ExecutionsPage(ordered[offset:end], len(every))
    state = await scene_state(services, scene, branch)
    stream = StreamId(scene, branch)
    started = await archive.started(stream, state.version)
    ids = list(dict.fromkeys([*started, *state.executions]))  # a fold may trail the state
    chosen = (ids[::-1] if newest_first else ids)[offset : offset + limit]
    running = {i for i in chosen if i in state.executions}
    finished = await archive.finished(stream, set(chosen) - running, state.version)
    records = []
    for execution_id in chosen:
        if execution_id in running:
            run = state.executions[execution_id]
            records.append(ExecutionRecord(run, tuple(state.tasks[t] for t in run.tasks)))
        elif execution_id in finished:
            records.append(finished[execution_id])
    return ExecutionsPage(records, len(ids))


async def record(
    services: Services, scene: str, execution_id: str, branch: str = "main"
) -> ExecutionRecord:
    """One execution with its tasks, running or finished; its id or a unique start of it."""
    found = await services.scenes.execution(scene, branch, execution_id)
    if found is None:
        whole = await _whole_id(services, scene, branch, execution_id, "execution")
        found = await services.scenes.execution(scene, branch, whole)
    if found is None:
        raise NotFound(f"no execution {execution_id} on {scene}@{branch}")
    return found


async def _whole_id(services: Services, scene: str, branch: str, given: str, kind: IdKind) -> str:
    """The one execution or task id of the branch, running or finished, that starts with
    `given` (see `by_prefix`)."""
    state = await scene_state(services, scene, branch)
    running = state.executions if kind == "execution" else state.tasks
    known = [i for i in running if i.startswith(given)]
    if len(given) >= SHORTEST:
        archive = services.scenes.archive
        stream = StreamId(scene, branch)
        known += await archive.ids_starting(stream, kind, given, state.version, SHOWN + 1)
    return by_prefix(given, known, kind, kind)


async def execution(
    services: Services, scene: str, execution_id: str, branch: str = "main"
) -> tuple[ExecutionState, Progress]:
    """One execution and its progress, every task with attempts, waits and costs."""
    found = await record(services, scene, execution_id, branch)
    return found.execution, progress_in(found)


async def task(services: Services, scene: str, task_id: str, branch: str = "main") -> TaskState:
    """One task, running or finished; its id or a unique start of it."""
    found = await services.scenes.task(scene, branch, task_id)
    if found is None:
        whole = await _whole_id(services, scene, branch, task_id, "task")
        found = await services.scenes.task(scene, branch, whole)
    if found is None:
        raise NotFound(f"no task {task_id} on {scene}@{branch}")
    return found


async def cancel_execution(
    services: Services,
    caller: Caller,
    scene: str,
    execution_id: str,
    branch: str = "main",
    retry: Retry | None = None,
) -> Submission:
    found = await record(services, scene, execution_id, branch)
    action = {"name": "cancel_execution", "execution": found.execution.id}
    return await submit_action(services, caller, scene, branch, action, retry)


async def retry_task(
    services: Services,
    caller: Caller,
    scene: str,
    task_id: str,
    branch: str = "main",
    retry: Retry | None = None,
) -> Submission:
    """Run a failed, blocked or canceled task again in place; nothing else reruns."""
    found = await task(services, scene, task_id, branch)
    action = {"name": "retry_task", "task": found.id}
    return await submit_action(services, caller, scene, branch, action, retry)


async def cancel_task(
    services: Services,
    caller: Caller,
    scene: str,
    task_id: str,
    branch: str = "main",
    retry: Retry | None = None,
) -> Submission:
    """Cancel one task; a worker running it is told."""
    found = await task(services, scene, task_id, branch)
    action = {"name": "cancel_task", "task": found.id}
    return await submit_action(services, caller, scene, branch, action, retry)


async def workers_per_lane(services: Services) -> dict[str, int]:
    """How many workers serve each lane now, as they announced themselves on the bus."""
    count = {str(lane): 0 for lane in LANES}
    for worker in await services.bus.workers():
        for lane in worker.lanes:
            count[str(lane)] += 1
    return count


async def unserved_lanes(services: Services, progress: Progress) -> list[str]:
    """Lanes where tasks of the execution wait and no worker serves (empty when the
    bus cannot say)."""
    waiting = {t.lane for t in progress.tasks if t.status in WAITING}
    if not waiting:
        return []
    try:
        served = await workers_per_lane(services)
    except ScenestateError:
        return []
    return sorted(lane for lane in waiting if not served.get(lane))


def unserved_hint(lanes: list[str]) -> str:
    named = ", ".join(lanes)
    return (
        f"no worker is serving lane {named}: start `scenestate run` or "
        f"`scenestate worker --lanes {','.join(lanes)}`"
    )


async def follow(
    services: Services,
    scene: str,
    branch: str,
    execution_id: str,
    on_progress: Callable[[Progress], None] | None = None,
    check: Callable[[], None] | None = None,
    poll: float = FOLLOW_POLL,
    on_unserved: Callable[[list[str]], None] | None = None,
) -> Progress:
    """Wait until an execution finishes, reporting its progress as it changes;
    `check()` runs before each look (it raises what stopped the work behind it);
    `on_unserved(lanes)` hears of lanes its tasks wait in that no worker serves."""
    last = None
    next_look = time.monotonic() + UNSERVED_GRACE
    execution_id = (await record(services, scene, execution_id, branch)).execution.id
    while True:
        if check is not None:
            check()
        _, progress = await execution(services, scene, execution_id, branch)
        if on_progress is not None and progress != last:
            on_progress(progress)
        last = progress
        if on_unserved is not None and time.monotonic() >= next_look:
            next_look = time.monotonic() + UNSERVED_EVERY
            lanes = await unserved_lanes(services, progress)
            if lanes:
                on_unserved(lanes)
        if progress.status != ExecutionStatus.RUNNING:
            return progress
        await asyncio.sleep(poll)
