"""Running media operations as a worker would, through a fake task context that serves
input bytes by name (the worker's port, so a fake is all a test needs)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from adapters.operations.media import media_operations
from engine.errors import TaskFailure
from engine.ports import TaskOutput
from engine.tasks import ErrorKind, Lane, TaskMessage

OPERATIONS = media_operations()


class FakeContext:
    def __init__(self, inputs: Mapping[str, bytes]) -> None:
        self.inputs = inputs
        self.asked: list[str] = []

    async def input(self, name: str) -> bytes:
        self.asked.append(name)
        if name not in self.inputs:
            raise TaskFailure(ErrorKind.INVALID_INPUT, f"the task has no input {name!r}")
        return self.inputs[name]

    tries = 0  # the first try of each attempt

    async def heartbeat(self) -> None:
        return None


def task_for(operation: str, params: Mapping[str, Any], inputs: Mapping[str, bytes]) -> TaskMessage:
    return TaskMessage(
        task_id=f"task-{operation}",
        attempt=1,
        execution_id="execution-1",
        scene="scene-1",
        branch="main",
        studio="studio-1",
        lane=Lane.PREVIEW,
        operation=operation,
        model="media",
        provider="local",
        content_key=f"key-{operation}",
        params=dict(params),
        inputs={name: f"{index:064x}" for index, name in enumerate(inputs)},
    )


async def run_output(
    operation: str, params: Mapping[str, Any], inputs: Mapping[str, bytes]
) -> TaskOutput:
    task = task_for(operation, params, inputs)
    return await OPERATIONS[("local", operation)].run(task, FakeContext(inputs))


async def run(operation: str, params: Mapping[str, Any], inputs: Mapping[str, bytes]) -> bytes:
    """The bytes operation `operation` makes of `inputs`."""
    output = await run_output(operation, params, inputs)
    assert output.data is not None
    return output.data


def run_now(operation: str, params: Mapping[str, Any], inputs: Mapping[str, bytes]) -> bytes:
    """`run` from synchronous code (fixtures that build inputs once per session)."""
    return asyncio.run(run(operation, params, inputs))
