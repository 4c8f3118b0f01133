"""The dispatcher's per-scene ready index: told the log's events, it finds the tasks
a look at every waiting task finds, while looking only at those the events point
at."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast

import msgspec

from engine.dispatch import ready_tasks
from engine.ready_index import ReadyIndex
from engine.scene import SceneState
from engine.tasks import TaskResult, TaskStatus
from tests.engine.scenes import Studio
from tests.memory_store import MemoryStore

SHA = "ab" * 32


class LookedAt:
    """A scene state whose waiting index notes which tasks were looked up in it."""

    def __init__(self, state: SceneState) -> None:
        self.looked: set[str] = set()
        self.inner = state.waiting
        self.state = msgspec.structs.replace(state, waiting=cast(Any, self))

    def __contains__(self, task_id: object) -> bool:
        self.looked.add(str(task_id))
        return task_id in self.inner

    def __iter__(self) -> Iterator[str]:
        self.looked.update(self.inner)
        return iter(self.inner)


class Log:
    """Feeds the index the events appended since it last read."""

    def __init__(self, store: MemoryStore, index: ReadyIndex) -> None:
        self.store, self.index, self.read = store, index, 0

    def follow(self) -> bool:
        events = self.store.log[self.read :]
        self.read += len(events)
        noted = [self.index.noted((e.scene, e.branch), e.payload) for e in events]
        return any(noted)


async def succeed(studio: Studio, task_id: str) -> None:
    state = await studio.state()
    task = state.tasks[task_id]
    result = TaskResult(
        task_id, task.attempt, task.execution, studio.scene, "main", TaskStatus.SUCCEEDED, SHA
    )
    await studio.service.record_results([result])


async def test_a_chain_is_found_ready_one_task_at_a_time_as_a_full_look_finds_it() -> None:
    studio = Studio(scene="film")
    index = ReadyIndex()
    log = Log(studio.store, index)
    await studio.act("main", "create_scene")
    await studio.act("main", "diagnose", count=5, chain=True)
    order = []
    while True:
        if log.follow():
            state = await studio.state()
            found = index.ready(state, "st")
            assert found == ready_tasks(state, "st")
            if found:
                (message,) = found
                order.append(message.params["n"])
                marks = [(message.task_id, message.attempt)]
                await studio.service.mark_dispatched("film", "main", marks, "st")
                await succeed(studio, message.task_id)
                continue
        break
    state = await studio.state()
    assert len(order) == 5 and not state.waiting
    assert order == [1, 2, 3, 4, 5]


async def test_after_the_first_look_only_the_tasks_the_events_point_at_are_looked_at() -> None:
    studio = Studio(scene="film")
    index = ReadyIndex()
    log = Log(studio.store, index)
    await studio.act("main", "create_scene")
    await studio.act("main", "diagnose", count=3, chain=True)
    log.follow()
    (first,) = index.ready(await studio.state(), "st")
    await studio.service.mark_dispatched("film", "main", [(first.task_id, 1)], "st")
    log.follow()
    # nothing succeeded: the tasks still waiting for the first are not looked at again
    waiting = LookedAt(await studio.state())
    assert index.ready(waiting.state, "st") == []
    assert waiting.looked == set()
    await succeed(studio, first.task_id)
    log.follow()
    waiting = LookedAt(await studio.state())
    (second,) = index.ready(waiting.state, "st")
    assert waiting.looked == {second.task_id}


async def test_forgetting_a_scene_looks_at_every_waiting_task_again() -> None:
    studio = Studio(scene="film")
    index = ReadyIndex()
    log = Log(studio.store, index)
    await studio.act("main", "create_scene")
    await studio.act("main", "diagnose", count=2)
    log.follow()
    state = await studio.state()
    assert len(index.ready(state, "st")) == 2
    assert index.ready(state, "st") == []  # told nothing new since
    index.forget(("film", "main"))
    assert len(index.ready(state, "st")) == 2  # as after a failed publish
