"""Scene state holds the scene, not its history: a finished execution leaves it (its
record stays in the archive, the same as the state held it), a slot holds its current
binding, and snapshots keep the same size however many executions have finished."""

from __future__ import annotations

import hashlib

import pytest

from engine.dispatch import ready_tasks
from engine.errors import InvalidIntent
from engine.events import ExecutionResumed
from engine.ports import StreamId
from engine.scene import SceneState
from engine.snapshots import encode_snapshot
from engine.tasks import ErrorKind, TaskError, TaskResult, TaskStatus
from projections.timeline import timeline_of
from tests.engine.scenes import Studio
from tests.engine.test_planning import PROMPT


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


async def report(studio: Studio, task_id: str, ok: bool = True, branch: str = "main") -> None:
    """A worker's result for the task's current attempt."""
    task = (await studio.state(branch)).tasks[task_id]
    await studio.service.record_result(
        TaskResult(
            task.id,
            task.attempt,
            task.execution,
            studio.scene,
            branch,
            TaskStatus.SUCCEEDED if ok else TaskStatus.FAILED,
            artifact=sha(f"{task.id}/{task.attempt}") if ok else None,
            error=None if ok else TaskError(ErrorKind.INVALID_INPUT, "refused"),
            studio="st",
        )
    )


async def run(studio: Studio, execution: str | None = None, failing: str = "") -> None:
    """Run every ready task (of one execution, if named); the one described `failing`
    fails."""
    while True:
        state = await studio.state()
        ready = [
            m for m in ready_tasks(state, "st") if execution is None or m.execution_id == execution
        ]
        if not ready:
            return
        for message in ready:
            await report(studio, message.task_id, ok=message.description != failing)


async def diagnose(studio: Studio, count: int = 1) -> str:
    return (await studio.act("main", "diagnose", count=count)).execution_id


async def test_a_finished_execution_leaves_the_state_and_reads_as_it_finished() -> None:
    studio = Studio()
    await studio.act("main", "create_scene")
    execution = await diagnose(studio, 2)
    running = await studio.execution(execution)
    await run(studio)
    state = await studio.state()
    assert (dict(state.executions), dict(state.tasks), dict(state.waiting)) == ({}, {}, {})
    assert state.finished_executions == 1
    done = await studio.execution(execution)
    assert done.execution.status == "succeeded"
    assert [t.id for t in done.tasks] == [t.id for t in running.tasks]
    assert all(t.status == TaskStatus.SUCCEEDED and t.artifact for t in done.tasks)
    assert done.execution.open == 0 and done.execution.failed == 0


async def test_state_and_snapshot_stay_the_same_size_over_a_scene_s_history() -> None:
    sizes = []
    for executions in (3, 30):
        studio = Studio()
        await studio.act("main", "create_scene")
        await studio.act("main", "add_node", kind="shot", node="shot-1")
        for n in range(executions):
            await diagnose(studio, 1 + n % 3)
            await run(studio)
            artifact = sha(f"take {n}")
            await studio.act(
                "main", "bind_artifact", node="shot-1", slot="image", artifact=artifact
            )
        state = await studio.state()
        assert state.nodes["shot-1"].artifact("image") == artifact
        assert len(state.nodes["shot-1"].slots["image"]) == 1  # history is in the log
        sizes.append(len(encode_snapshot(state)))
    assert sizes[1] <= sizes[0] * 1.05, sizes


async def test_a_task_of_a_finished_execution_is_retried_in_place() -> None:
    studio = Studio()
    await studio.act("main", "create_scene")
    execution = await diagnose(studio, 2)
    first, second = (await studio.execution(execution)).tasks
    await run(studio, failing=first.description)
    failed = await studio.execution(execution)
    assert (
        failed.execution.status == "failed" and execution not in (await studio.state()).executions
    )
    await studio.act("main", "retry_task", task=first.id)
    state = await studio.state()
    back = state.executions[execution]
    assert back.status == "running" and state.tasks[first.id].attempt == 2
    assert state.tasks[second.id].status == TaskStatus.SUCCEEDED  # nothing else reruns
    log = await studio.store.read_stream(StreamId(studio.scene))
    assert sum(isinstance(e.payload, ExecutionResumed) for e in log) == 1
    await run(studio)
    done = await studio.execution(execution)
    assert done.execution.status == "succeeded"
    assert [(t.status, t.attempt) for t in done.tasks] == [("succeeded", 2), ("succeeded", 1)]
    with pytest.raises(InvalidIntent, match="only failed, blocked or canceled"):
        await studio.act("main", "retry_task", task=first.id)


async def test_cancelling_finished_work_says_how_it_ended() -> None:
    studio = Studio()
    await studio.act("main", "create_scene")
    execution = await diagnose(studio)
    (task,) = (await studio.execution(execution)).tasks
    await run(studio)
    with pytest.raises(InvalidIntent, match="execution already succeeded"):
        await studio.act("main", "cancel_execution", execution=execution)
    with pytest.raises(InvalidIntent, match=f"task {task.id} already succeeded"):
        await studio.act("main", "cancel_task", task=task.id)
    with pytest.raises(InvalidIntent, match="no execution 'nope' here"):
        await studio.act("main", "cancel_execution", execution="nope")
    with pytest.raises(InvalidIntent, match="no task 'nope' in this scene"):
        await studio.act("main", "retry_task", task="nope")


async def test_a_finished_task_that_running_work_takes_as_input_stays_until_used() -> None:
    studio = Studio()
    first = (await studio.submit({"kind": "text_prompt", "text": PROMPT})).execution_id
    edit = {"kind": "direct_edit", "node": "shot-2", "prop": "prompt", "value": "a storm"}
    second = (await studio.submit(edit)).execution_id
    theirs = {t.id for t in (await studio.execution(first)).tasks}
    mine = (await studio.execution(second)).tasks
    waits_on = {i.task for t in mine for i in t.inputs if i.task is not None} - {t.id for t in mine}
    assert waits_on and waits_on <= theirs  # the second reuses work the first has under way
    await run(studio, execution=first)
    state = await studio.state()
    assert first not in state.executions and second in state.executions
    assert waits_on <= set(state.tasks) and not (theirs - waits_on) & set(state.tasks)
    await run(studio)
    assert (await studio.execution(second)).execution.status == "succeeded"
    assert dict((await studio.state()).tasks) == {}


async def test_a_slot_whose_work_failed_says_so_after_its_execution_finished() -> None:
    studio = Studio()
    execution = (await studio.submit({"kind": "text_prompt", "text": PROMPT})).execution_id
    await run(studio, failing="generating image for shot 1")
    state = await studio.state()
    assert (await studio.execution(execution)).execution.status == "failed"
    assert execution not in state.executions
    shot = timeline_of(state).shots[0]
    image, video = shot.slots[0], shot.slots[1]
    assert image.placeholder == "generating image for shot 1: failed (refused)"
    assert video.task is not None and video.task.status == "blocked"
    await studio.act("main", "retry_task", task=image.task.task if image.task else "")
    await run(studio)
    healed = timeline_of(await studio.state()).shots[0]
    assert healed.slots[0].artifact is not None and healed.slots[0].task is None


async def test_snapshots_keep_only_the_newest_of_each_stream() -> None:
    studio = Studio(snapshot_every=5)
    await studio.act("main", "create_scene")
    for n in range(20):
        await studio.set("main", "root", "title", f"take {n}")
    kept = studio.store.snapshots[StreamId(studio.scene)]  # type: ignore[attr-defined]
    assert len(kept) == 2 and max(kept) >= (await studio.state()).version - 5
    fresh = Studio(studio.store)
    assert await fresh.state() == await studio.state()
    assert isinstance(await fresh.state(version=3), SceneState)  # older: folded from events
