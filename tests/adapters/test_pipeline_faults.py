"""Faults in the generation pipeline on the real servers (PostgreSQL and NATS JetStream):
a worker process killed mid-task, a worker that stalls and reports a result twice, the
engine process killed mid-execution, and the NATS server restarted while tasks wait.

Each test has its own PostgreSQL database and its own JetStream prefix (the restart
test its own nats-server), all removed afterwards. Every operation a worker runs is
noted in a run log (one file per worker), so a test counts how often each task really
ran, in whatever process it ran.

`scenestate worker` and `scenestate run` read no bus options (prefix, ack wait,
heartbeat) from the environment, so the processes these tests kill are this module run
as a script, which builds the same Worker and Runtime with those options:

    python -m tests.adapters.test_pipeline_faults worker|engine '<options as JSON>'
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import msgspec
import nats
import pytest

from adapters.artifacts import FilesystemArtifactStore
from adapters.bus import JetStreamTaskBus
from adapters.workers import Worker
from api.bootstrap import open_services, operations
from api.config import Settings, load_settings
from api.runtime import Runtime
from api.services import Services
from api.services.executions import follow
from engine.events import TaskStarted, TaskSucceeded
from engine.intents import parse_intent
from engine.ports import Operation, StreamId, TaskContext, TaskOutput
from engine.progress import Progress
from engine.tasks import LANES, Lane, TaskMessage, TaskStatus
from tests.adapters.test_bus_jetstream_restart import NATS_SERVER, OwnNatsServer
from tests.conftest import fresh_postgres_database, require_nats, require_program

pytestmark = [pytest.mark.postgres, pytest.mark.nats]

T = TypeVar("T")

MODULE = "tests.adapters.test_pipeline_faults"
REPO = Path(__file__).resolve().parents[2]
PATIENCE = 60.0  # seconds any one thing may take on a slow, busy machine
ACK_WAIT = 2.0  # a task no worker heartbeats comes back after this
HEARTBEAT = 0.3  # a live worker's in-progress acks, well inside the ack wait
BUS_POLL = 0.2  # idle pulls: ack-wait expiries are noticed within this


# -- the pipeline under test ---------------------------------------------------------


@dataclass
class Pipeline:
    """Where one test's engine, workers and run logs live, and the bus options all of
    them share (the last bus to connect sets the consumers' ack wait)."""

    settings: Settings
    bus_options: dict[str, Any]
    runs: Path

    def bus(self) -> JetStreamTaskBus:
        return JetStreamTaskBus(self.settings.nats_url or "", **self.bus_options)

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SCENESTATE_")}
        env.update(
            SCENESTATE_DATABASE_URL=self.settings.database_url,
            SCENESTATE_NATS_URL=self.settings.nats_url or "",
            SCENESTATE_DATA_DIR=str(self.settings.data_dir),
        )
        return env


def new_pipeline(tmp_path: Path, database_url: str, nats_url: str) -> Pipeline:
    runs = tmp_path / "runs"
    runs.mkdir()
    options = {
        "prefix": f"fault_{uuid.uuid4().hex[:10]}",
        "ack_wait": ACK_WAIT,
        "poll_interval": BUS_POLL,
    }
    return Pipeline(Settings(tmp_path / "data", database_url, nats_url), options, runs)


@pytest.fixture
async def database_url() -> AsyncIterator[str]:
    async with fresh_postgres_database("fault") as url:
        yield url


@pytest.fixture
async def pipeline(tmp_path: Path, database_url: str) -> AsyncIterator[Pipeline]:
    """A pipeline on the shared NATS server under a prefix of its own, deleted afterwards."""
    made = new_pipeline(tmp_path, database_url, require_nats())
    yield made
    await made.bus().close(delete=True)


# -- counting runs -------------------------------------------------------------------


class Run(NamedTuple):
    task: str
    attempt: int
    worker: str
    step: str  # "start" or "done"


class Counted:
    """An operation that notes each run, when it starts and when it is done."""

    def __init__(self, operation: Operation, log: Path, worker: str) -> None:
        self._operation, self._log, self._worker = operation, log, worker

    async def run(self, task: TaskMessage, context: TaskContext) -> TaskOutput:
        self._note(task, "start")
        output = await self._operation.run(task, context)
        self._note(task, "done")
        return output

    def _note(self, task: TaskMessage, step: str) -> None:
        with self._log.open("a") as log:
            log.write(f"{task.task_id} {task.attempt} {self._worker} {step}\n")


def counted_worker(bus: JetStreamTaskBus, pipeline: Pipeline, name: str, **options: Any) -> Worker:
    log = pipeline.runs / f"{name}.log"
    counted = {key: Counted(op, log, name) for key, op in operations().items()}
    artifacts = FilesystemArtifactStore(pipeline.settings.data_dir / "artifacts")
    return Worker(bus, artifacts, counted, LANES, name=name, **options)


def runs(pipeline: Pipeline) -> list[Run]:
    found = []
    for log in sorted(pipeline.runs.glob("*.log")):
        for line in log.read_text().splitlines():
            task, attempt, worker, step = line.split()
            found.append(Run(task, int(attempt), worker, step))
    return found


def starts(pipeline: Pipeline) -> list[Run]:
    return [run for run in runs(pipeline) if run.step == "start"]


@contextlib.asynccontextmanager
async def worker_here(
    pipeline: Pipeline, name: str, *, concurrency: int = 2
) -> AsyncIterator[Worker]:
    """A worker in the test's own process, on a bus connection of its own."""
    bus = pipeline.bus()
    worker = counted_worker(bus, pipeline, name, concurrency=concurrency, heartbeat=HEARTBEAT)
    running = asyncio.create_task(worker.run())
    try:
        yield worker
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await running
        await bus.close()


# -- processes the tests start and kill ------------------------------------------------


@dataclass
class Processes:
    """Worker and engine processes of one test; any still running at the end is killed
    and its output printed (pytest shows it when the test failed)."""

    logs: Path
    started: list[asyncio.subprocess.Process] = field(default_factory=list)

    async def worker(self, pipeline: Pipeline, name: str) -> asyncio.subprocess.Process:
        return await self._start(pipeline, "worker", name=name)

    async def engine(self, pipeline: Pipeline) -> asyncio.subprocess.Process:
        return await self._start(pipeline, "engine")

    async def _start(
        self, pipeline: Pipeline, role: str, **options: Any
    ) -> asyncio.subprocess.Process:
        options.update(bus=pipeline.bus_options, runs=str(pipeline.runs))
        output = self.logs / f"{role}-{len(self.started)}.log"
        with output.open("wb") as sink:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                MODULE,
                role,
                json.dumps(options),
                cwd=REPO,
                env=pipeline.env(),
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
        self.started.append(process)
        return process

    async def kill(self, process: asyncio.subprocess.Process) -> None:
        process.send_signal(signal.SIGKILL)
        await asyncio.wait_for(process.wait(), PATIENCE)

    async def stop_all(self) -> None:
        for process in self.started:
            if process.returncode is None:
                process.kill()
                await asyncio.wait_for(process.wait(), PATIENCE)
        for log in sorted(self.logs.iterdir()):
            print(f"== {log.name}\n{log.read_text()}")


@pytest.fixture
async def processes(tmp_path: Path) -> AsyncIterator[Processes]:
    logs = tmp_path / "processes"
    logs.mkdir()
    started = Processes(logs)
    try:
        yield started
    finally:
        await started.stop_all()


# -- a NATS server of the test's own -------------------------------------------------


@pytest.fixture
async def nats_server(tmp_path: Path) -> AsyncIterator[OwnNatsServer]:
    """`nats-server -js` on a free loopback port with a temporary store (the shared
    server is never touched), as the bus's own restart test runs it."""
    require_program(NATS_SERVER, "apt-get install nats-server")
    store = tmp_path / "jetstream"
    store.mkdir()
    server = OwnNatsServer(store)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


# -- driving and reading the services --------------------------------------------------


async def eventually(check: Callable[[], Awaitable[T]], what: str, within: float = PATIENCE) -> T:
    """The first truthy answer of `check`, polled until `within` seconds have passed."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not (answer := await check()):
        if loop.time() > deadline:
            raise AssertionError(f"gave up after {within:g} s waiting for {what}")
        await asyncio.sleep(0.1)
    return answer


async def act(services: Services, action: dict[str, Any]) -> str:
    raw = {
        "kind": "structured_action",
        "studio": "st",
        "actor": "ana",
        "scene": "s",
        "action": action,
    }
    scenes = services.scenes
    receipt = await scenes.submit(parse_intent(raw, now=scenes.clock.now, new_id=scenes.ids.new_id))
    return receipt.execution_id


async def finish(services: Services, execution: str, runtime: Runtime | None = None) -> Progress:
    return await asyncio.wait_for(
        follow(services, "s", "main", execution, check=runtime.check if runtime else None), PATIENCE
    )


async def events(services: Services, kind: type[T]) -> list[T]:
    log = await services.store.read_stream(StreamId("s", "main"))
    return [e.payload for e in log if isinstance(e.payload, kind)]


async def task_ids(services: Services, execution: str) -> list[str]:
    state = await services.scenes.load("s")
    return sorted(t.id for t in state.tasks.values() if t.execution == execution)


def each_once(found: list[str], expected: list[str]) -> bool:
    """Every one of `expected` (all different) found exactly once, and nothing else."""
    return Counter(found) == Counter(expected)


# -- the faults ------------------------------------------------------------------------


async def test_a_task_on_a_killed_worker_process_comes_back_and_succeeds_once(
    pipeline: Pipeline, processes: Processes
) -> None:
    async with (
        open_services(pipeline.settings, bus_options=pipeline.bus_options) as services,
        Runtime(services, workers=0) as runtime,
    ):
        await act(services, {"name": "create_scene"})
        doomed = await processes.worker(pipeline, "doomed")
        execution = await act(
            services, {"name": "diagnose", "operation": "sleep", "params": {"seconds": 3.0}}
        )
        (task,) = await task_ids(services, execution)

        async def running_on_doomed() -> bool:
            state = await services.scenes.load("s")
            started = state.tasks[task].status == TaskStatus.RUNNING
            return started and any(r.worker == "doomed" for r in starts(pipeline))

        await eventually(running_on_doomed, "the task running on the first worker")
        await processes.kill(doomed)
        await processes.worker(pipeline, "survivor")
        progress = await finish(services, execution, runtime)
        succeeded = await events(services, TaskSucceeded)
    assert progress.status == "succeeded"
    assert [(s.task, s.worker, s.deliveries) for s in succeeded] == [(task, "survivor", 2)]
    assert sorted((r.worker, r.step) for r in runs(pipeline)) == [
        ("doomed", "start"),
        ("survivor", "done"),
        ("survivor", "start"),
    ]


async def test_a_stalled_worker_that_finishes_late_is_folded_once(
    pipeline: Pipeline, processes: Processes
) -> None:
    """The first worker is frozen (SIGSTOP) mid-task, so its heartbeats stop; the task
    goes to a second worker and succeeds; then the first one wakes up, finishes too and
    reports its own success. A tiny duplicate window lets that second success through
    the bus, so it is the result folder that must ignore it."""
    pipeline.bus_options["duplicate_window"] = 0.1  # the least NATS takes
    async with (
        open_services(pipeline.settings, bus_options=pipeline.bus_options) as services,
        Runtime(services, workers=0) as runtime,
    ):
        await act(services, {"name": "create_scene"})
        stalled = await processes.worker(pipeline, "stalled")
        execution = await act(
            services, {"name": "diagnose", "operation": "sleep", "params": {"seconds": 3.0}}
        )
        (task,) = await task_ids(services, execution)

        async def running_on_stalled() -> bool:
            return any(r.worker == "stalled" for r in starts(pipeline))

        await eventually(running_on_stalled, "the task running on the first worker")
        stalled.send_signal(signal.SIGSTOP)
        await processes.worker(pipeline, "second")
        progress = await finish(services, execution, runtime)
        head = (await services.scenes.load("s")).version
        await asyncio.sleep(1.0)  # past the duplicate window of the second success
        stalled.send_signal(signal.SIGCONT)

        async def stalled_done() -> bool:
            return ("stalled", "done") in {(r.worker, r.step) for r in runs(pipeline)}

        await eventually(stalled_done, "the stalled worker finishing its run")
        await eventually(
            lambda: results_folded(pipeline, at_least=4), "every result taken and folded"
        )
        succeeded = await events(services, TaskSucceeded)
        assert (await services.scenes.load("s")).version == head
    assert progress.status == "succeeded"
    assert [(s.task, s.worker) for s in succeeded] == [(task, "second")]
    assert sorted((r.worker, r.step) for r in runs(pipeline)) == [
        ("second", "done"),
        ("second", "start"),
        ("stalled", "done"),
        ("stalled", "start"),
    ]


async def results_folded(pipeline: Pipeline, at_least: int) -> bool:
    """At least `at_least` results reached the results stream and none is left in it
    (a result leaves only once the folder has appended its events or found it stale)."""
    connection = await nats.connect(pipeline.settings.nats_url or "")
    try:
        info = await connection.jetstream().stream_info(f"{pipeline.bus_options['prefix']}_results")
    finally:
        await connection.close()
    return info.state.last_seq >= at_least and info.state.messages == 0


async def test_an_engine_killed_mid_execution_resumes_and_reruns_nothing(
    pipeline: Pipeline, processes: Processes
) -> None:
    async with open_services(pipeline.settings, bus_options=pipeline.bus_options) as services:
        await act(services, {"name": "create_scene"})
        first_engine = await processes.engine(pipeline)
        async with worker_here(pipeline, "worker", concurrency=3):
            sleep = {"name": "diagnose", "operation": "sleep", "params": {"seconds": 0.4}}
            chain = await act(services, {**sleep, "count": 8, "chain": True})
            fan = await act(services, {**sleep, "count": 12})
            chain_tasks, fan_tasks = await task_ids(services, chain), await task_ids(services, fan)

            async def chain_half_done() -> bool:
                done = {s.task for s in await events(services, TaskSucceeded)}
                return len(done & set(chain_tasks)) >= 3

            await eventually(chain_half_done, "three tasks of the chain done")
            await processes.kill(first_engine)
            done_when_killed = {s.task for s in await events(services, TaskSucceeded)}
            await processes.engine(pipeline)
            chain_progress = await finish(services, chain)
            fan_progress = await finish(services, fan)
        succeeded = await events(services, TaskSucceeded)
        started = await events(services, TaskStarted)
    everything = sorted(chain_tasks + fan_tasks)
    assert len(done_when_killed & set(chain_tasks)) < len(chain_tasks), "killed too late"
    assert (chain_progress.status, fan_progress.status) == ("succeeded", "succeeded")
    assert each_once([s.task for s in succeeded], everything)
    # A RUNNING report the killed services had taken but not acked may come back after
    # the task's success and is then stale: a task starts at most once, not always.
    assert set(Counter(s.task for s in started).values()) <= {1}
    assert each_once([r.task for r in starts(pipeline)], everything)


async def test_tasks_waiting_on_the_bus_survive_a_nats_restart(
    tmp_path: Path, database_url: str, nats_server: OwnNatsServer
) -> None:
    pipeline = new_pipeline(tmp_path, database_url, nats_server.url)
    async with (
        open_services(pipeline.settings, bus_options=pipeline.bus_options) as services,
        Runtime(services, workers=0) as runtime,
    ):
        bus = services.bus
        assert isinstance(bus, JetStreamTaskBus)
        await act(services, {"name": "create_scene"})
        execution = await act(services, {"name": "diagnose", "operation": "echo", "count": 30})
        tasks = await task_ids(services, execution)

        async def all_queued() -> bool:
            state = await services.scenes.load("s")
            return all(state.tasks[t].status == TaskStatus.QUEUED for t in tasks)

        await eventually(all_queued, "all 30 tasks on the bus")
        assert (await bus.queue_depth())[Lane.INTERACTIVE] == 30
        await nats_server.stop()  # SIGTERM, as a service manager stops it
        await nats_server.start()  # same port, same store
        depth = await eventually(lambda: depth_once_answering(bus), "the restarted server")
        assert depth is not None and depth[Lane.INTERACTIVE] == 30
        # the dispatcher goes on publishing on its reconnected connection
        later = await act(services, {"name": "diagnose", "operation": "echo", "count": 5})
        tasks += await task_ids(services, later)
        async with worker_here(pipeline, "after-restart", concurrency=4):
            progress = await finish(services, execution, runtime)
            later_progress = await finish(services, later, runtime)
        succeeded = await events(services, TaskSucceeded)
    assert (progress.status, later_progress.status) == ("succeeded", "succeeded")
    assert each_once([s.task for s in succeeded], tasks)
    assert each_once([r.task for r in starts(pipeline)], tasks)


async def depth_once_answering(bus: JetStreamTaskBus) -> dict[Lane, int] | None:
    try:
        return await bus.queue_depth()
    except Exception:  # the client is still reconnecting
        return None


# -- the processes the tests start -----------------------------------------------------


async def serve_worker(options: dict[str, Any]) -> None:
    settings = load_settings()
    pipeline = Pipeline(settings, options["bus"], Path(options["runs"]))
    bus = pipeline.bus()
    try:
        await counted_worker(bus, pipeline, options["name"], heartbeat=HEARTBEAT).run()
    finally:
        await bus.close()


async def serve_engine(options: dict[str, Any]) -> None:
    """The engine's background work alone: the dispatcher and the result folder."""
    async with (
        open_services(load_settings(), bus_options=options["bus"]) as services,
        Runtime(services, workers=0) as runtime,
    ):
        while True:
            runtime.check()
            await asyncio.sleep(0.5)


def main(role: str, options: str) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    serve = {"worker": serve_worker, "engine": serve_engine}[role]
    asyncio.run(serve(msgspec.json.decode(options)))


if __name__ == "__main__":
    main(*sys.argv[1:])
