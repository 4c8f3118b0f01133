"""Diagnostic operations, for health checks, benchmarks and fault drills.

`echo` returns its parameters as a JSON artifact; `sleep` holds a worker for a
while, heartbeating, so cancellation and lost-worker recovery can be shown; `fail`
fails with the error kind it is given.
"""

from __future__ import annotations

import asyncio

import msgspec

from engine.errors import TaskFailure
from engine.ports import Operation, TaskContext, TaskOutput
from engine.results import SUBPLAN
from engine.tasks import ErrorKind, TaskMessage


class Echo:
    async def run(self, task: TaskMessage, context: TaskContext) -> TaskOutput:
        body = {"params": task.params, "inputs": task.inputs}
        return TaskOutput(msgspec.json.encode(body), "application/json")


class Sleep:
    async def run(self, task: TaskMessage, context: TaskContext) -> TaskOutput:
        seconds = float(task.params.get("seconds", 1.0))
        deadline = asyncio.get_running_loop().time() + seconds
        while (left := deadline - asyncio.get_running_loop().time()) > 0:
            await asyncio.sleep(min(left, 0.2))
            await context.heartbeat()
        return TaskOutput(msgspec.json.encode({"slept": seconds}), "application/json")


class Fail:
    """Fails with `kind`; from attempt `succeed_from_attempt` on (if given) it succeeds,
    which shows a task retried in place."""

    async def run(self, task: TaskMessage, context: TaskContext) -> TaskOutput:
        recover_at = task.params.get("succeed_from_attempt")
        if isinstance(recover_at, int) and task.attempt >= recover_at:
            return TaskOutput(msgspec.json.encode({"recovered": task.attempt}), "application/json")
        kind = ErrorKind(task.params.get("kind", ErrorKind.INTERNAL))
        raise TaskFailure(kind, str(task.params.get("message", "failed on purpose")))


class FanOut:
    """Grows its execution: its output is a plan of `count` echo tasks that take
    this task's output as input (as a storyboard adds per-shot work)."""

    async def run(self, task: TaskMessage, context: TaskContext) -> TaskOutput:
        count = int(task.params.get("count", 2))
        plan = [
            {
                "key": f"part-{n}",
                "operation": "echo",
                "model": "diagnostic",
                "provider": "diagnostic",
                "lane": str(task.lane),
                "params": {"part": n, "of": count},
                "inputs": {"whole": "@parent"},
                "description": f"diagnostic part {n} of {count}",
            }
            for n in range(1, count + 1)
        ]
        body = msgspec.json.encode({"parts": count})
        return TaskOutput(body, "application/json", outputs={SUBPLAN: plan})


def diagnostic_operations() -> dict[tuple[str, str], Operation]:
    return {
        ("diagnostic", "echo"): Echo(),
        ("diagnostic", "sleep"): Sleep(),
        ("diagnostic", "fail"): Fail(),
        ("diagnostic", "fan_out"): FanOut(),
    }
