"""Workers for `bench.pipeline`: the engine's own Worker, with every operation noting
when it began (`outputs["started_at"]`, wall-clock seconds), so the benchmark reads
"task started on a worker" from the folded TaskSucceeded events.

As a process (the bus prefix is the benchmark's own, which `scenestate worker` cannot
be told):

    python -m bench._pipeline_worker '{"url": ..., "prefix": ..., "artifacts": DIR,
                                       "name": ..., "concurrency": N}'
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import msgspec

from adapters.artifacts import FilesystemArtifactStore
from adapters.bus import JetStreamTaskBus
from adapters.workers import Worker
from api.bootstrap import operations
from engine.ports import Operation, TaskBus, TaskContext, TaskOutput
from engine.tasks import LANES, TaskMessage

STARTED_AT = "started_at"


class Stamped:
    """An operation whose outputs say when it began."""

    def __init__(self, operation: Operation) -> None:
        self._operation = operation

    async def run(self, task: TaskMessage, context: TaskContext) -> TaskOutput:
        started = time.time()
        output = await self._operation.run(task, context)
        return msgspec.structs.replace(output, outputs={**output.outputs, STARTED_AT: started})


def stamped_worker(
    bus: TaskBus, artifacts: Path, name: str, concurrency: int, heartbeat: float = 5.0
) -> Worker:
    stamped = {key: Stamped(op) for key, op in operations().items()}
    return Worker(
        bus,
        FilesystemArtifactStore(artifacts),
        stamped,
        LANES,
        name=name,
        concurrency=concurrency,
        heartbeat=heartbeat,
    )


class Options(msgspec.Struct, frozen=True):
    url: str
    prefix: str
    artifacts: str
    name: str
    concurrency: int


async def serve(options: Options) -> None:
    bus = JetStreamTaskBus(options.url, prefix=options.prefix)
    worker = stamped_worker(bus, Path(options.artifacts), options.name, options.concurrency)
    try:
        await bus.queue_depth()  # connected, streams and consumers in place
        print("ready", flush=True)
        await worker.run()
    finally:
        await bus.close()


if __name__ == "__main__":
    asyncio.run(serve(msgspec.json.decode(sys.argv[1], type=Options)))
