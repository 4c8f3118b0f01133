"""Folding a worker's result: a quick task reported once, by its outcome, still shows
in the log as started, then succeeded; a duplicate changes nothing."""

from __future__ import annotations

from engine.events import TaskStarted, TaskSucceeded
from engine.ports import StreamId
from engine.tasks import TaskMetrics, TaskResult, TaskStatus
from tests.engine.scenes import Studio

ARTIFACT = "a" * 64


async def test_a_quick_success_records_that_the_task_started_on_its_worker() -> None:
    studio = Studio()
    await studio.act("main", "create_scene")
    receipt = await studio.act("main", "diagnose", count=1, operation="echo")
    (task,) = (await studio.execution(receipt.execution_id)).execution.tasks
    result = TaskResult(
        task,
        1,
        receipt.execution_id,
        studio.scene,
        "main",
        TaskStatus.SUCCEEDED,
        artifact=ARTIFACT,
        metrics=TaskMetrics(queue_wait=0.01, run_time=0.002),
        worker="w1",
        studio="st",
    )
    assert await studio.service.record_result(result) is not None
    assert await studio.service.record_result(result) is None  # the duplicate
    events = await studio.store.read_stream(StreamId(studio.scene, "main"))
    mine = [e.payload for e in events if getattr(e.payload, "task", None) == task]
    kinds = [type(p) for p in mine]
    assert kinds[-2:] == [TaskStarted, TaskSucceeded]
    started = mine[-2]
    assert isinstance(started, TaskStarted) and started.worker == "w1"
    (done,) = (await studio.execution(receipt.execution_id)).tasks
    assert done.status == TaskStatus.SUCCEEDED
