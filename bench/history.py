"""History growth: one scene edited for months must cost what its graph costs, not what
its history holds.

For each N of finished executions (10, 100, 1,000, 3,000; --quick: 10, 100, 300) a
fresh database gets one scene of 10 shots and N executions of 1-3 diagnostic tasks
each, written through the service layer as production writes them (the intent, the
dispatcher's marks, the workers' results folded, and the artifact bound into a
shot's slot afterwards). Then, on that database:

1. a small intent: `scenestate serve` in its own process, one keep-alive client POSTs
   `set_property` actions (a shot's title, which plans no work) back to back; p50,
   p99 and max of their latency (enough of them that several cross a snapshot
   interval);
2. scene load: a fresh `SceneService` (no state cache) loads the scene, median;
3. `scenestate show SCENE --json`: the real CLI in its own process, wall time, median;
4. snapshots: the newest one's size, how many the stream keeps and all their bytes.

Ratios are against the same figure at 10 executions measured in the same run
(targets: p99, load and show within 1.5 x; show <= 1 s; all snapshot bytes of the
stream <= 3 x its newest snapshot). Last, scenes of 1,000 and 100,000 events of
edits and artifact bindings (`bench.store`'s generator) load from a snapshot at their
head: the 100,000-event load within 2 x the 1,000-event one (and the 10,000-event
one). Twice: on `bench.store`'s own scene, whose graph fills in over its first
~10,000 events (its 100,000-event state holds three times the props of its
1,000-event one, each with the provenance of the event that set it), and on the
same scene with every prop set from the start (`FullGraph`).

Run: python -m bench.history [--json FILE] [--quick] [--postgres URL | --no-postgres]
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from adapters.store import open_store
from adapters.system import RandomIds, SystemClock
from api.bootstrap import open_services, prepare_database
from api.config import load_settings
from api.services import Caller, Services, intake, scenes, studios
from bench._report import Figure, parser, report
from bench.api import ADMIN_KEY, Connection, _json_headers, _server
from bench.pipeline import DEFAULT_POSTGRES, fresh_database
from bench.store import PROPS, SNAPSHOT_EVERY, History, Scene, folded, prop_value, timed_load
from engine.dispatch import ready_tasks
from engine.events import NodeAdded
from engine.ports import EventStore, StoredSnapshot, StreamId
from engine.service import SceneService
from engine.snapshots import SNAPSHOT_SCHEMA, encode_snapshot
from engine.tasks import TaskMetrics, TaskResult, TaskStatus

SCENE = "months"
SHOTS = 10
STUDIO = "bench"
GROWTH_TARGET = 1.5
SHOW_TARGET_S = 1.0
SNAPSHOT_BYTES_TARGET = 3.0
LOAD_FLATNESS_TARGET = 2.0


@dataclass(frozen=True)
class Plan:
    sizes: tuple[int, ...]  # finished executions in the scene
    edits: int  # timed POSTs per size
    warmup: int  # untimed POSTs before them
    shows: int  # `show --json` runs per size (median)
    loads: int  # timed scene loads per size (median)
    lengths: tuple[int, int, int]  # event counts of the load-flatness scenes


FULL = Plan((10, 100, 1_000, 3_000), 400, 20, 3, 7, (1_000, 10_000, 100_000))
QUICK = Plan((10, 100, 300), 150, 10, 1, 5, (1_000, 5_000, 20_000))


@dataclass
class Sample:
    """What one size measured on one backend."""

    executions: int
    events: int
    build_s: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    load_ms: float
    show_s: float
    newest_kb: float
    snapshots: int
    snapshot_kb: float


# --- building the scene ------------------------------------------------------------------


async def build(services: Services, executions: int, seed: int) -> str:
    """One scene with `executions` finished executions; returns a key's token."""
    rng = random.Random(seed)
    await studios.create_studio(services, STUDIO, "bench")
    token = (await studios.create_key(services, STUDIO, "bench", rate_per_second=0)).token
    caller = Caller(STUDIO, "editor")
    await scenes.create_scene(services, caller, SCENE, "Months")
    for n in range(SHOTS):
        action = {"name": "add_node", "kind": "shot", "node": f"shot-{n}"}
        await _act(services, caller, action)
    for n in range(executions):
        artifact = await _one_execution(services, caller, rng.randint(1, 3), n)
        shot = f"shot-{rng.randrange(SHOTS)}"
        bind = {"name": "bind_artifact", "node": shot, "slot": "image", "artifact": artifact}
        intent = intake.make_intent(services, caller, _fields(bind))
        await services.scenes.submit(intent)  # the artifact is made up: no tenancy check
    return token


async def _one_execution(services: Services, caller: Caller, tasks: int, n: int) -> str:
    """An execution as the pipeline runs one: planned, dispatched, each task's result."""
    action = {"name": "diagnose", "count": tasks, "operation": "echo"}
    await _act(services, caller, action)
    state = await services.scenes.load(SCENE)
    ready = ready_tasks(state, STUDIO)
    marks = [(m.task_id, m.attempt) for m in ready]
    await services.scenes.mark_dispatched(SCENE, "main", marks, STUDIO)
    artifact = ""
    results = []
    for k, message in enumerate(ready):
        artifact = f"{(n * 8 + k):064x}"
        results.append(
            TaskResult(
                message.task_id,
                message.attempt,
                message.execution_id,
                SCENE,
                "main",
                TaskStatus.SUCCEEDED,
                artifact=artifact,
                outputs={"echo": message.params},
                metrics=TaskMetrics(queue_wait=0.01, run_time=0.05),
                worker="bench:0",
                studio=STUDIO,
            )
        )
    await services.scenes.record_results(results)
    return artifact


def _fields(action: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "structured_action", "scene": SCENE, "action": action}


async def _act(services: Services, caller: Caller, action: dict[str, Any]) -> None:
    await intake.submit(services, caller, _fields(action), claim=False)


# --- measuring ---------------------------------------------------------------------------


async def edits(port: int, token: str, plan: Plan) -> list[float]:
    """Latencies (s) of `plan.edits` set_property intents, back to back on one connection."""
    connection = await Connection.open(port)
    headers = _json_headers(token)
    took = []
    try:
        for n in range(plan.warmup + plan.edits):
            edit = {"name": "set_property", "node": f"shot-{n % SHOTS}", "prop": "title"}
            action = {**edit, "value": f"take {n}"}
            body = json.dumps({"kind": "structured_action", "action": action}).encode()
            start = time.perf_counter()
            status, answer = await connection.request(
                "POST", f"/scenes/{SCENE}/intents", headers, body
            )
            if status != 202:
                raise RuntimeError(f"edit {n}: {status} {answer[:300]!r}")
            if n >= plan.warmup:
                took.append(time.perf_counter() - start)
    finally:
        connection.close()
    return took


async def cli(env: dict[str, str], *args: str) -> float:
    """Wall seconds of one `scenestate` command in its own process."""
    scenestate = str(Path(sys.executable).parent / "scenestate")
    start = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        scenestate,
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    seconds = time.perf_counter() - start
    if process.returncode != 0:
        raise RuntimeError(f"scenestate {' '.join(args)}: {err.decode()[-500:]}")
    del out
    return seconds


# The server's followers of the log that keep a checkpoint. On a database written
# without a server they start from position 0: their first pass over the log is a
# one-off of a new deployment, not what an intent costs, so timing waits for it.
# (Only the dispatcher saves after every batch; the others save now and then, so
# theirs is done when it reaches the head or stops moving.)
FOLLOWERS = ("dispatcher", "api.artifact_grants", "api.webhooks")
STILL = 4  # looks, half a second apart, that a checkpoint must stay put


async def followers_caught_up(url: str, within: float = 600.0) -> None:
    store = open_store(url)
    try:
        head = await store.head_position()
        last: list[int] = []
        still = 0
        async with asyncio.timeout(within):
            while True:
                reached = [await store.load_checkpoint(name) for name in FOLLOWERS]
                still = still + 1 if reached == last else 0
                last = reached
                if reached[0] >= head and (min(reached) >= head or still >= STILL):
                    return
                await asyncio.sleep(0.5)
    finally:
        await store.close()


async def timed_scene_load(store: EventStore, runs: int) -> float:
    """Median ms of a cold load (no state cache) of the scene's head."""
    times = []
    for _ in range(runs + 1):
        service = SceneService(store, SystemClock(), RandomIds(), cache_size=0)
        start = time.perf_counter()
        await service.load(SCENE)
        times.append(time.perf_counter() - start)
    return statistics.median(times[1:]) * 1000


async def snapshot_sizes(url: str) -> tuple[int, int, int]:
    """(snapshots kept, all their bytes, the newest one's bytes) of the scene's main."""
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            rows = (
                await conn.execute(
                    text(
                        "SELECT version, length(data) FROM snapshots "
                        "WHERE scene = :scene AND branch = 'main' ORDER BY version"
                    ),
                    {"scene": SCENE},
                )
            ).all()
    finally:
        await engine.dispose()
    sizes = [int(size) for _, size in rows]
    return len(sizes), sum(sizes), sizes[-1] if sizes else 0


async def measure(env: dict[str, str], plan: Plan, executions: int, tmp: Path) -> Sample:
    settings = load_settings(env)
    url = settings.database_url
    start = time.perf_counter()
    async with open_services(settings) as services:
        token = await build(services, executions, seed=executions)
    build_s = time.perf_counter() - start
    await cli(env, "projections", "run", "--once")  # the server starts caught up
    async with _server(env, tmp / f"serve-{executions}.log") as port:
        await followers_caught_up(url)
        took = await edits(port, token, plan)
    shows = [await cli(env, "show", SCENE, "--json") for _ in range(plan.shows)]
    store = open_store(url)
    try:
        load_ms = await timed_scene_load(store, plan.loads)
        events = await store.head_version(StreamId(SCENE))
    finally:
        await store.close()
    kept, total, newest = await snapshot_sizes(url)
    took.sort()
    sample = Sample(
        executions=executions,
        events=events,
        build_s=build_s,
        p50_ms=statistics.median(took) * 1000,
        p99_ms=took[min(len(took) - 1, int(len(took) * 0.99))] * 1000,
        max_ms=took[-1] * 1000,
        load_ms=load_ms,
        show_s=statistics.median(shows),
        newest_kb=newest / 1024,
        snapshots=kept,
        snapshot_kb=total / 1024,
    )
    print(f"  {sample}")
    return sample


# --- load flatness -----------------------------------------------------------------------


class FullGraph(History):
    """`bench.store`'s scene with every node given all its props when it is added, so
    that a short and a long scene hold the same graph and differ in history only (in
    `History`'s own scene the graph itself fills in over the first ~10,000 events)."""

    def __init__(self, seed: int) -> None:
        super().__init__(seed)
        self.added = [
            NodeAdded(
                a.node,
                a.kind,
                a.parent,
                a.order,
                {**{p: prop_value(self.rng, p) for p in PROPS[a.kind]}, **a.props},
            )
            for a in self.added
        ]


async def load_flatness(url: str, plan: Plan, graph: type[History]) -> list[float]:
    """Median ms of loading each scene of `plan.lengths` from a snapshot at its head."""
    history = graph(seed=2026)
    store = open_store(url)
    loaded = []
    try:
        for length in plan.lengths:
            name, events = f"{graph.__name__}-{length}", history.scene(length)
            scene = Scene(name, events, folded(name, events, {length}))
            for offset in range(0, length, 1000):
                await store.append(StreamId(name), events[offset : offset + 1000], offset)
            data = encode_snapshot(scene.states[length])
            await store.save_snapshot(StoredSnapshot(name, "main", length, SNAPSHOT_SCHEMA, data))
            print(f"  {name}: snapshot {len(data) / 1024:,.0f} KiB")
            loaded.append(await timed_load(store, scene, plan.loads))
    finally:
        await store.close()
    return loaded


# --- per backend -------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def database(kind: str, server: str, tmp: Path, tag: str) -> AsyncIterator[dict[str, str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCENESTATE_")}
    env["SCENESTATE_ADMIN_KEY"] = ADMIN_KEY
    env["SCENESTATE_DATA_DIR"] = str(tmp / f"data-{tag}")
    if kind == "sqlite":
        yield env
        return
    async with fresh_database(server) as url:
        env["SCENESTATE_DATABASE_URL"] = url
        yield env


async def run_backend(kind: str, server: str, plan: Plan, tmp: Path) -> list[Figure]:
    print(f"{kind}:")
    samples = []
    for executions in plan.sizes:
        async with database(kind, server, tmp, f"{kind}-{executions}") as env:
            samples.append(await measure(env, plan, executions, tmp))
    async with database(kind, server, tmp, f"{kind}-loads") as env:
        settings = load_settings(env)
        await prepare_database(settings)
        loads = {
            graph: await load_flatness(settings.database_url, plan, graph)
            for graph in (History, FullGraph)
        }
    return figures(kind, samples, plan, loads)


def figures(
    kind: str, samples: list[Sample], plan: Plan, loads: dict[type[History], list[float]]
) -> list[Figure]:
    first = samples[0]
    out: list[Figure] = []
    for s in samples:
        at = f"{s.executions:,} finished executions ({kind})"
        grown = s is not first
        out += [
            Figure(f"small intent p50, {at}", s.p50_ms, "ms", higher_is_better=False),
            _growth(f"small intent p99, {at}", s.p99_ms, "ms", first.p99_ms if grown else None),
            Figure(f"small intent max, {at}", s.max_ms, "ms", higher_is_better=False),
            _growth(f"scene load, {at}", s.load_ms, "ms", first.load_ms if grown else None),
            _show(f"show --json, {at}", s.show_s, first.show_s if grown else None),
            Figure(f"newest snapshot, {at}", s.newest_kb, "KiB", higher_is_better=False),
            Figure(
                f"snapshot bytes of the stream vs its newest, {at} ({s.snapshots} kept)",
                s.snapshot_kb,
                "KiB",
                baseline=s.newest_kb or None,
                higher_is_better=False,
                target=f"<= {SNAPSHOT_BYTES_TARGET:g}x newest",
                met=s.snapshot_kb <= SNAPSHOT_BYTES_TARGET * s.newest_kb,
            ),
        ]
    low, middle, high = plan.lengths
    for graph, what in ((History, "bench.store's scene"), (FullGraph, "all props from the start")):
        short, medium, long = loads[graph]
        for base, length in ((short, low), (medium, middle)):
            out.append(
                Figure(
                    f"load {high:,} vs {length:,} events, {what}, snapshot at head ({kind})",
                    long,
                    "ms",
                    baseline=base,
                    higher_is_better=False,
                    target=f"<= {LOAD_FLATNESS_TARGET:g}x",
                    met=long <= LOAD_FLATNESS_TARGET * base,
                )
            )
    return out


def _growth(name: str, value: float, unit: str, baseline: float | None) -> Figure:
    if baseline is None:
        return Figure(name, value, unit, higher_is_better=False)
    return Figure(
        name,
        value,
        unit,
        baseline=baseline,
        higher_is_better=False,
        target=f"<= {GROWTH_TARGET:g}x the 10-execution figure",
        met=value <= GROWTH_TARGET * baseline,
    )


def _show(name: str, seconds: float, baseline: float | None) -> Figure:
    if baseline is None:
        return Figure(
            name,
            seconds,
            "s",
            higher_is_better=False,
            target=f"<= {SHOW_TARGET_S:g} s",
            met=seconds <= SHOW_TARGET_S,
        )
    return Figure(
        name,
        seconds,
        "s",
        baseline=baseline,
        higher_is_better=False,
        target=f"<= {GROWTH_TARGET:g}x and <= {SHOW_TARGET_S:g} s",
        met=seconds <= GROWTH_TARGET * baseline and seconds <= SHOW_TARGET_S,
    )


async def main() -> None:
    args = parser(__doc__ or "")
    args.add_argument("--quick", action="store_true", help="up to 300 executions, fewer runs")
    args.add_argument("--postgres", default=DEFAULT_POSTGRES, help="PostgreSQL server URL")
    args.add_argument("--no-postgres", action="store_true", help="SQLite only")
    args.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    args.add_argument("--sizes", help="finished executions to measure, e.g. 10,100")
    options = args.parse_args()
    plan = QUICK if options.quick else FULL
    if options.sizes:
        sizes = tuple(int(n) for n in options.sizes.split(","))
        plan = Plan(sizes, plan.edits, plan.warmup, plan.shows, plan.loads, plan.lengths)
    found: list[Figure] = []
    with tempfile.TemporaryDirectory() as tmp:
        if not options.no_postgres:
            found += await run_backend("postgresql", options.postgres, plan, Path(tmp))
        if not options.no_sqlite:
            found += await run_backend("sqlite", options.postgres, plan, Path(tmp))
    assert SNAPSHOT_EVERY == 200
    report("history", found, options.json)


if __name__ == "__main__":
    asyncio.run(main())
