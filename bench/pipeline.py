"""The generation pipeline under load: throughput of trivial tasks end to end, and how
soon the first task of an intent starts.

1. Throughput: one `diagnose` intent of 10,000 echo tasks (not chained) through NATS
   JetStream, with the engine's dispatcher and result folder in this process on
   PostgreSQL and 2 worker processes; tasks/s from the intent accepted (submit
   returned) to its ExecutionFinished event. Baseline in the same run
   (`bench._pipeline_baseline`): the same number of messages of the same size
   published to JetStream, pull-fetched and acked by 2 consumer processes that send a
   result for each, the results inserted into PostgreSQL in one batch per fetch.
2. Latency: from an intent accepted to its task started on a worker (the operation
   began; worker-side wall clock) and to its TaskStarted event recorded, p50 and p99
   over single-task intents run one after another; embedded (SQLite, in-process bus
   and worker) and on PostgreSQL + JetStream with the worker processes of (1).

PostgreSQL work happens in a fresh database and JetStream work under a fresh prefix,
both removed at the end.

Run: python -m bench.pipeline [--json FILE] [--quick] [--postgres URL] [--nats URL]
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import msgspec
import nats
from sqlalchemy.engine import make_url

from adapters.bus import JetStreamTaskBus
from api.bootstrap import open_services
from api.config import Settings
from api.runtime import Runtime
from api.services import Services
from bench import _pipeline_baseline as raw
from bench._pipeline_worker import STARTED_AT, stamped_worker
from bench._report import Figure, parser, report
from engine.events import (
    ExecutionFinished,
    TaskDispatched,
    TaskPlanned,
    TaskStarted,
    TaskSucceeded,
)
from engine.intents import parse_intent
from engine.ports import StreamId

DEFAULT_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
DEFAULT_NATS = "nats://127.0.0.1:4222"
REPO = Path(__file__).resolve().parents[1]
WORKER_PROCESSES = 2
RATIO_TARGET = 0.25
P99_TARGET_MS = {"embedded": 50.0, "postgresql+jetstream": 150.0}
FINISH_TIMEOUT = 600.0
STOP_SECONDS = 10.0

Check = Callable[[], None]  # raises when a part of the pipeline stopped


@dataclass(frozen=True)
class Plan:
    tasks: int  # echo tasks in the throughput intent
    samples: int  # single-task intents timed per latency figure
    warmup: int  # single-task intents run first and not timed


FULL = Plan(tasks=10_000, samples=50, warmup=5)
QUICK = Plan(tasks=2_000, samples=20, warmup=3)


# -- driving the services --------------------------------------------------------------


@dataclass
class Finished:
    """What the scene's log says about one execution; times are wall-clock seconds."""

    accepted_at: float  # submit returned
    submit_seconds: float  # how long the submit (planning and the append) took
    finished_at: float = 0.0  # ExecutionFinished recorded
    status: str = ""
    dispatched_at: list[float] = field(default_factory=list)  # TaskDispatched recorded
    started_at: list[float] = field(default_factory=list)  # TaskStarted recorded
    succeeded: list[tuple[float, TaskSucceeded]] = field(default_factory=list)  # recorded


async def act(services: Services, scene: str, action: dict[str, Any]) -> str:
    raw_intent = {
        "kind": "structured_action",
        "studio": "bench",
        "actor": "bench",
        "scene": scene,
        "action": action,
    }
    scenes = services.scenes
    intent = parse_intent(raw_intent, now=scenes.clock.now, new_id=scenes.ids.new_id)
    return (await scenes.submit(intent)).execution_id


async def run_execution(
    services: Services, scene: str, action: dict[str, Any], poll: float, check: Check
) -> Finished:
    """Submit `action` and follow the scene's log until its execution finishes;
    `check` raises if a part of the pipeline stopped."""
    stream = StreamId(scene, "main")
    seen = (await services.scenes.load(scene)).version
    before = time.perf_counter()
    execution = await act(services, scene, action)
    found = Finished(time.time(), time.perf_counter() - before)
    mine: set[str] = set()
    deadline = time.monotonic() + FINISH_TIMEOUT
    while not found.status:
        if time.monotonic() > deadline:
            raise TimeoutError(f"execution {execution} did not finish")
        await asyncio.sleep(poll)
        check()
        for event in await services.store.read_stream(stream, seen):
            seen = event.version
            note(found, mine, execution, event.payload, event.recorded_at.timestamp())
    return found


def note(found: Finished, mine: set[str], execution: str, payload: Any, at: float) -> None:
    if isinstance(payload, TaskPlanned) and payload.execution == execution:
        mine.add(payload.task)
    elif isinstance(payload, ExecutionFinished) and payload.execution == execution:
        found.status, found.finished_at = payload.status, at
    elif getattr(payload, "task", None) not in mine:
        return
    elif isinstance(payload, TaskDispatched):
        found.dispatched_at.append(at)
    elif isinstance(payload, TaskStarted):
        found.started_at.append(at)
    elif isinstance(payload, TaskSucceeded):
        found.succeeded.append((at, payload))


async def create_scene(services: Services, scene: str) -> None:
    state = await services.scenes.load(scene)
    if not state.created:
        await act(services, scene, {"name": "create_scene"})


# -- figures ---------------------------------------------------------------------------


@dataclass
class Throughput:
    tasks: int
    done: Finished
    cpu: dict[str, float]  # CPU seconds used during the run, per process or server
    busy: float | None  # share of the machine's CPU time in use during the run

    @property
    def rate(self) -> float:
        return self.tasks / (self.done.finished_at - self.done.accepted_at)

    def stages(self) -> str:
        """Where the run's time went, from the log: when the stages got through."""
        done, zero = self.done, self.done.accepted_at
        starts = sorted(s.outputs[STARTED_AT] - zero for _, s in done.succeeded)
        lags = [at - s.outputs[STARTED_AT] for at, s in done.succeeded]
        cpu = ", ".join(f"{name} {seconds:.1f}" for name, seconds in self.cpu.items())
        busy = "" if self.busy is None else f"; the machine was {self.busy:.0%} busy"
        return "\n".join(
            [
                f"{self.tasks:,} tasks in {done.finished_at - zero:.1f} s "
                f"({self.rate:,.1f} tasks/s); the submit itself took {done.submit_seconds:.2f} s",
                f"  dispatched: the last TaskDispatched at +{max(done.dispatched_at) - zero:.1f} s",
                f"  workers: first task started at +{starts[0]:.2f} s, the median at "
                f"+{statistics.median(starts):.1f} s, the last at +{starts[-1]:.1f} s",
                f"  folded: a task's TaskSucceeded {statistics.median(lags):.2f} s (median) "
                f"after it started, the last at +{done.finished_at - zero:.1f} s",
                f"  CPU seconds: {cpu}{busy}",
            ]
        )


async def throughput(
    services: Services, tasks: int, workers: dict[str, int], check: Check
) -> Throughput:
    """Tasks a second from the intent accepted to its execution finished; `workers`
    are the worker processes' ids by name, for their CPU time."""
    await create_scene(services, "throughput")
    warm = {"name": "diagnose", "count": 50}
    await run_execution(services, "throughput", warm, 0.1, check)
    measured = {"engine": [os.getpid()], **{n: [pid] for n, pid in workers.items()}}
    measured.update(server_processes())
    cpu_before, machine_before = cpu_by_name(measured), machine_ticks()
    run = {"name": "diagnose", "count": tasks}
    done = await run_execution(services, "throughput", run, 0.2, check)
    if done.status != "succeeded" or len(done.succeeded) != tasks:
        raise RuntimeError(f"the throughput run ended {done.status} with {len(done.succeeded)}")
    cpu_after, machine_after = cpu_by_name(measured), machine_ticks()
    cpu = {name: cpu_after[name] - cpu_before[name] for name in cpu_before if name in cpu_after}
    busy = None
    if machine_before is not None and machine_after is not None:
        busy = (machine_after[0] - machine_before[0]) / (machine_after[1] - machine_before[1])
    return Throughput(tasks, done, cpu, busy)


def server_processes() -> dict[str, list[int]]:
    """Local nats-server and postgres processes by name (all of them, whoever uses
    them; Linux only, else none)."""
    found: dict[str, list[int]] = {}
    for comm in Path("/proc").glob("[0-9]*/comm"):
        with contextlib.suppress(OSError):
            name = comm.read_text().strip()
            if name in ("nats-server", "postgres"):
                found.setdefault(f"all {name}", []).append(int(comm.parent.name))
    return found


def cpu_by_name(processes: dict[str, list[int]]) -> dict[str, float]:
    """User and system CPU seconds so far, summed per name (Linux; empty elsewhere)."""
    ticks = os.sysconf("SC_CLK_TCK")
    seconds: dict[str, float] = {}
    for name, pids in processes.items():
        for pid in pids:
            with contextlib.suppress(OSError):
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                used = (int(fields[11]) + int(fields[12])) / ticks
                seconds[name] = seconds.get(name, 0.0) + used
    return seconds


def machine_ticks() -> tuple[int, int] | None:
    """(busy, all) CPU ticks of the whole machine so far (Linux; None elsewhere)."""
    try:
        ticks = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except OSError:
        return None
    idle = ticks[3] + ticks[4]  # idle and iowait
    return sum(ticks) - idle, sum(ticks)


async def latencies(
    services: Services, plan: Plan, check: Check
) -> tuple[list[float], list[float]]:
    """Milliseconds from intent accepted to (task started on a worker, TaskStarted
    recorded), one single-task intent at a time."""
    await create_scene(services, "latency")
    on_worker: list[float] = []
    recorded: list[float] = []
    for n in range(plan.warmup + plan.samples):
        done = await run_execution(services, "latency", {"name": "diagnose"}, 0.002, check)
        if done.status != "succeeded":
            raise RuntimeError(f"a latency intent ended {done.status}")
        if n >= plan.warmup:
            started = done.succeeded[0][1].outputs[STARTED_AT]
            on_worker.append((started - done.accepted_at) * 1000)
            recorded.append((done.started_at[0] - done.accepted_at) * 1000)
    return on_worker, recorded


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest rank: of 50 samples, p99 is the slowest."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def latency_figures(where: str, on_worker: list[float], recorded: list[float]) -> list[Figure]:
    target = P99_TARGET_MS[where]
    p99 = percentile(on_worker, 99)
    return [
        Figure(
            f"intent accepted -> task started on worker, p50 ({where})",
            statistics.median(on_worker),
            "ms",
        ),
        Figure(
            f"intent accepted -> task started on worker, p99 ({where})",
            p99,
            "ms",
            target=f"<= {target:g} ms",
            met=p99 <= target,
        ),
        Figure(
            f"intent accepted -> TaskStarted recorded, p50 ({where})",
            statistics.median(recorded),
            "ms",
        ),
        Figure(
            f"intent accepted -> TaskStarted recorded, p99 ({where})",
            percentile(recorded, 99),
            "ms",
        ),
    ]


# -- the setups ------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def fresh_database(server_url: str) -> AsyncIterator[str]:
    server = make_url(server_url)
    name = f"bench_pipeline_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(**server.translate_connect_args(username="user"))
    try:
        await admin.execute(f"CREATE DATABASE {name}")
        try:
            yield server.set(database=name).render_as_string(hide_password=False)
        finally:
            await admin.execute(f"DROP DATABASE {name} WITH (FORCE)")
    finally:
        await admin.close()


@contextlib.asynccontextmanager
async def processes(
    module: str, options: Sequence[dict[str, Any]]
) -> AsyncIterator[list[asyncio.subprocess.Process]]:
    """One process of `python -m module` per options, each ready (it printed "ready")
    before this yields them; all of them killed afterwards."""
    started = []
    try:
        for option in options:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                module,
                msgspec.json.encode(option).decode(),
                cwd=REPO,
                stdout=asyncio.subprocess.PIPE,
            )
            started.append(process)
        for process in started:
            assert process.stdout is not None
            line = await asyncio.wait_for(process.stdout.readline(), 60)
            if line.strip() != b"ready":
                raise RuntimeError(f"{module} did not start: {line!r}")
        yield started
    finally:
        for process in started:
            if process.returncode is None:
                process.kill()
                await process.wait()


@contextlib.asynccontextmanager
async def dispatching_and_folding(services: Services) -> AsyncIterator[Runtime]:
    """The engine's dispatcher and result folder in this process. Stopping them gets
    STOP_SECONDS: a job that swallows its cancellation (seen now and then in the result
    folder) would otherwise hang the benchmark after its figures were taken."""
    runtime = Runtime(services, workers=0)
    await runtime.__aenter__()
    try:
        yield runtime
    finally:
        stopping = asyncio.ensure_future(runtime.__aexit__(None, None, None))
        done, _ = await asyncio.wait({stopping}, timeout=STOP_SECONDS)
        if not done:
            print(
                f"warning: the engine's dispatcher and result folder did not stop within "
                f"{STOP_SECONDS:g} s of being cancelled; cancelling them again",
                file=sys.stderr,
            )
            stopping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await stopping


async def embedded_latency(data_dir: Path, plan: Plan) -> tuple[list[float], list[float]]:
    settings = Settings(data_dir, f"sqlite+aiosqlite:///{data_dir / 'bench.db'}", None)
    async with open_services(settings) as services, dispatching_and_folding(services) as runtime:
        worker = stamped_worker(services.bus, data_dir / "artifacts", "in-process", concurrency=2)
        running = asyncio.create_task(worker.run())

        def check() -> None:
            runtime.check()
            if running.done():
                raise RuntimeError(f"the in-process worker stopped: {running!r}")

        try:
            return await latencies(services, plan, check)
        finally:
            running.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await running


async def engine_on_nats(
    data_dir: Path, database: str, nats_url: str, plan: Plan, concurrency: int
) -> tuple[Throughput, tuple[list[float], list[float]]]:
    """(throughput, latencies) with the engine here and WORKER_PROCESSES worker processes."""
    prefix = f"bench_{uuid.uuid4().hex[:10]}"
    settings = Settings(data_dir, database, nats_url)
    workers = [
        {
            "url": nats_url,
            "prefix": prefix,
            "artifacts": str(data_dir / "artifacts"),
            "name": f"worker-{n}",
            "concurrency": concurrency,
        }
        for n in range(WORKER_PROCESSES)
    ]
    try:
        async with (
            open_services(settings, bus_options={"prefix": prefix}) as services,
            dispatching_and_folding(services) as runtime,
            processes("bench._pipeline_worker", workers) as started,
        ):
            names = {str(w["name"]): p for w, p in zip(workers, started, strict=True)}

            def check() -> None:
                runtime.check()
                for name, process in names.items():
                    if process.returncode is not None:
                        raise RuntimeError(f"{name} exited with {process.returncode}")

            measured = await latencies(services, plan, check)
            pids = {name: process.pid for name, process in names.items()}
            run = await throughput(services, plan.tasks, pids, check)
        return run, measured
    finally:
        await JetStreamTaskBus(nats_url, prefix=prefix).close(delete=True)


async def baseline(database: str, nats_url: str, tasks: int) -> float:
    prefix = f"bench_{uuid.uuid4().hex[:10]}"
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    db = await asyncpg.connect(**make_url(database).translate_connect_args(username="user"))
    consumers = [{"url": nats_url, "prefix": prefix, "name": f"raw-{n}"} for n in range(2)]
    try:
        await raw.create_streams(js, prefix)
        await raw.create_table(db)
        async with processes("bench._pipeline_baseline", consumers):
            await raw.raw_throughput(js, prefix, db, min(tasks, 500))  # warm
            await db.execute("TRUNCATE raw_results")
            return await raw.raw_throughput(js, prefix, db, tasks)
    finally:
        await raw.delete_streams(js, prefix)
        await nc.close()
        await db.close()


async def main() -> None:
    args = parser(__doc__ or "")
    args.add_argument("--quick", action="store_true", help="2,000 tasks, 20 latency samples")
    args.add_argument("--postgres", default=DEFAULT_POSTGRES, help="PostgreSQL server URL")
    args.add_argument("--nats", default=DEFAULT_NATS, help="NATS JetStream server URL")
    args.add_argument(
        "--worker-concurrency",
        type=int,
        default=16,
        help="tasks each worker process runs at once (echo tasks are trivial: 16)",
    )
    options = args.parse_args()
    plan = QUICK if options.quick else FULL
    with tempfile.TemporaryDirectory() as tmp:
        embedded = await embedded_latency(Path(tmp) / "embedded", plan)
        print(f"embedded latency: {len(embedded[0])} samples")
        async with fresh_database(options.postgres) as database:
            run, on_nats = await engine_on_nats(
                Path(tmp) / "nats", database, options.nats, plan, options.worker_concurrency
            )
            print(run.stages())
            raw_rate = await baseline(database, options.nats, plan.tasks)
            print(f"raw JetStream + PostgreSQL: {raw_rate:,.0f} tasks/s")
    figures = [
        Figure(
            f"{plan.tasks:,} echo tasks end to end, {WORKER_PROCESSES} worker processes "
            f"x {options.worker_concurrency} (postgresql+jetstream)",
            run.rate,
            "tasks/s",
            baseline=raw_rate,
            target=f">= {RATIO_TARGET}",
        ),
        *latency_figures("embedded", *embedded),
        *latency_figures("postgresql+jetstream", *on_nats),
    ]
    figures[0].met = figures[0].ratio is not None and figures[0].ratio >= RATIO_TARGET
    report("pipeline", figures, options.json)


if __name__ == "__main__":
    asyncio.run(main())
