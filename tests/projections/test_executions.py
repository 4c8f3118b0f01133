"""The executions read model answers every question about finished executions exactly
as folding the log does (`engine.archive.LogArchive`), on branches and at older
versions too, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from engine.archive import LogArchive
from engine.ports import ExecutionArchive, StreamId
from engine.tasks import ErrorKind, TaskError, TaskResult, TaskStatus
from projections.executions import ExecutionsReadModel
from tests.projections.conftest import Backend
from tests.projections.scenes import sha

SCENE = "w"


async def report(backend: Backend, task_id: str, ok: bool, branch: str = "main") -> None:
    task = (await backend.scenes.load(SCENE, branch)).tasks[task_id]
    await backend.scenes.record_result(
        TaskResult(
            task.id,
            task.attempt,
            task.execution,
            SCENE,
            branch,
            TaskStatus.SUCCEEDED if ok else TaskStatus.FAILED,
            artifact=sha(f"{task.id}/{task.attempt}") if ok else None,
            error=None if ok else TaskError(ErrorKind.INVALID_INPUT, "refused"),
            studio="st",
        )
    )


async def diagnose(backend: Backend, branch: str = "main", **action: Any) -> list[str]:
    receipt = await backend.act(SCENE, {"name": "diagnose", **action}, branch=branch)
    found = await backend.scenes.execution(SCENE, branch, receipt.execution_id)
    assert found is not None
    return [t.id for t in found.tasks]


async def history(backend: Backend) -> int:
    """A scene with finished, failed and retried, canceled and running executions, and
    a branch; returns a version of main from before the retry."""
    await backend.act(SCENE, {"name": "create_scene"})
    for task in await diagnose(backend, count=2, chain=True):
        await report(backend, task, ok=True)
    first, _ = await diagnose(backend, count=2, chain=True)
    await report(backend, first, ok=False)
    before_retry = (await backend.scenes.load(SCENE)).version
    await backend.act(SCENE, {"name": "retry_task", "task": first})
    await backend.act(SCENE, {"name": "fork_branch"}, branch="alt")
    for task in (await backend.scenes.load(SCENE)).tasks:
        await report(backend, task, ok=True)
    for task in await diagnose(backend, "alt"):
        await report(backend, task, ok=True, branch="alt")
    canceled = await backend.act(SCENE, {"name": "diagnose", "operation": "sleep"})
    await backend.act(SCENE, {"name": "cancel_execution", "execution": canceled.execution_id})
    await diagnose(backend)  # still running
    return before_retry


async def answers(archive: ExecutionArchive, stream: StreamId, up_to: int) -> dict[str, Any]:
    records = await archive.executions(stream, up_to)
    tasks = [t for r in records for t in r.tasks]
    return {
        "executions": records,
        "one by one": [await archive.execution(stream, r.execution.id, up_to) for r in records],
        "holding": [await archive.holding(stream, t.id, up_to) for t in tasks],
        "blocked by": [await archive.blocked_by(stream, t.id, up_to) for t in tasks],
        "by key": await archive.tasks_for(stream, {t.content_key for t in tasks}, up_to),
        "newest": await archive.newest(stream, "diagnose", up_to),
        "missing": await archive.execution(stream, "nope", up_to),
    }


async def test_the_read_model_answers_as_the_log_does(backend: Backend) -> None:
    before_retry = await history(backend)
    log, model = LogArchive(backend.store), ExecutionsReadModel(backend.store, backend.read_models)
    main_head = (await backend.scenes.load(SCENE)).version
    alt_head = (await backend.scenes.load(SCENE, "alt")).version
    for branch, versions in (("main", (main_head, before_retry)), ("alt", (alt_head, 2))):
        stream = StreamId(SCENE, branch)
        for up_to in versions:
            expected = await answers(log, stream, up_to)
            assert await answers(model, stream, up_to) == expected, (branch, up_to)
    main = await answers(model, StreamId(SCENE), (await backend.scenes.load(SCENE)).version)
    statuses = [r.execution.status for r in main["executions"]]
    assert statuses == ["succeeded", "succeeded", "canceled"]  # the running one is the state's
    retried = main["executions"][1]
    assert [t.attempt for t in retried.tasks] == [2, 1]
    alt = await answers(
        model, StreamId(SCENE, "alt"), (await backend.scenes.load(SCENE, "alt")).version
    )
    # alt inherited the first execution; the second was running when it forked
    assert [r.execution.status for r in alt["executions"]] == ["succeeded", "succeeded"]
