"""Projections on PostgreSQL: rebuilding every read model from the first event, and the
live lag of draft views, each against its baseline or target.

1. Rebuild: both SQL projections (history, lineage) rebuilt from position 0 beside the
   live generation, blue/green, in one pass over the log, up to taking over and
   dropping the old rows; against a raw baseline measured in the same run: the same
   rows streamed in position order with an asyncpg cursor and decoded with msgspec.
2. Live lag: draft views of ten scenes followed live while another process (as an
   API would) appends one event at a time to them, 500 appends/s in all, steadily;
   the lag of each append runs from the moment it is issued (its recorded time) to
   the moment its scene's draft timeline here reflects it (the same wall clock).

The log: scenes of 30 shots, then intents of one IntentAccepted and 1-8 PropertySet
events, and one in ten an execution (ExecutionStarted, 3 TaskPlanned with inputs,
their TaskSucceeded and ArtifactBound). Everything runs in a fresh schema that is
dropped at the end.

Run: python -m bench.projections [--json FILE] [--quick] [--postgres URL]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import random
import statistics
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import msgspec
from sqlalchemy.engine import make_url

from adapters.store import migrate, open_store
from adapters.store.read_models import open_read_models
from adapters.system import RandomIds, SystemClock
from bench._report import Figure, parser, report
from engine.events import (
    AnyEvent,
    ArtifactBound,
    EventMetadata,
    ExecutionStarted,
    IntentAccepted,
    NewEvent,
    NodeAdded,
    PropertySet,
    SceneCreated,
    TaskInput,
    TaskPlanned,
    TaskSucceeded,
    TaskTarget,
)
from engine.ports import EventStore, StreamId
from engine.service import SceneService
from projections.catalog import default_projections
from projections.drafts import DraftViews
from projections.runner import ProjectionRunner

DEFAULT_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
REBUILD_TARGET = 0.3
LAG_TARGET_MS = 50.0
RATE = 500  # appends per second, in all
WRITERS = 10
SHOTS = 30
APPEND_BATCH = 2000
REPOSITORY = str(Path(__file__).resolve().parents[1])


class Log:
    """Realistic events, deterministic from a seed, grouped per scene."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.tick = 0

    def meta(self, transform: str, actor: str = "ana") -> EventMetadata:
        self.tick += 1
        intent = f"i-{self.tick}"
        return EventMetadata("studio", actor, intent, f"x-{intent}", transform, 1)

    def scene(self, events: int) -> list[NewEvent]:
        meta = self.meta("action.create_scene")
        out = _wrap(meta, [IntentAccepted("structured_action", "create"), SceneCreated("S")])
        for n in range(SHOTS):
            out += _wrap(meta, [NodeAdded(f"shot-{n}", "shot", "root", f"a{n:03d}")])
        while len(out) < events:
            out += self.execution() if self.rng.random() < 0.1 else self.edit()
        return out[:events]

    def edit(self) -> list[NewEvent]:
        meta = self.meta("intake.direct_edit")
        payloads: list[AnyEvent] = [IntentAccepted("direct_edit", "edit a shot")]
        for _ in range(self.rng.randint(1, 8)):
            shot = f"shot-{self.rng.randrange(SHOTS)}"
            prop = self.rng.choice(("title", "prompt", "duration", "seed"))
            payloads.append(PropertySet(shot, prop, self.rng.random()))
        return _wrap(meta, payloads)

    def execution(self) -> list[NewEvent]:
        meta = self.meta("planning.film")
        run = meta.execution_id
        shot = f"shot-{self.rng.randrange(SHOTS)}"
        tasks = [f"t-{run}-{k}" for k in range(3)]
        planned: list[AnyEvent] = [ExecutionStarted(run, "production", planned=3)]
        for k, task in enumerate(tasks):
            inputs = [TaskInput("in", task=tasks[k - 1], content_key=f"k{k - 1}")] if k else []
            target = [TaskTarget(shot, "image")] if k == 2 else []
            planned.append(
                TaskPlanned(
                    task,
                    run,
                    "normalize",
                    "media",
                    "local",
                    "preview",
                    f"k{run}{k}",
                    {"k": k},
                    inputs,
                    target,
                )
            )
        done: list[AnyEvent] = []
        for task in tasks:
            artifact = hashlib.sha256(task.encode()).hexdigest()
            done.append(TaskSucceeded(task, 1, artifact, run_time=0.5, worker="w"))
        done.append(ArtifactBound(shot, "image", artifact, tasks[-1]))
        worker = EventMetadata("studio", "worker:w", meta.intent_id, run, "task.normalize", 1)
        return _wrap(meta, planned) + _wrap(worker, done)


def _wrap(meta: EventMetadata, payloads: list[AnyEvent]) -> list[NewEvent]:
    now = datetime.now(UTC)
    return [NewEvent(str(uuid.uuid4()), p, meta, now) for p in payloads]


@asynccontextmanager
async def postgres(url: str) -> AsyncIterator[tuple[EventStore, str]]:
    """The store in a fresh schema, dropped (with the read models) on exit."""
    schema = f"bench_proj_{uuid.uuid4().hex[:8]}"
    store: EventStore | None = None
    try:
        await migrate(url, schema=schema)
        store = open_store(url, schema=schema)
        yield store, schema
    finally:
        if store is not None:
            await store.close()
        admin = await asyncpg.connect(_dsn(url))
        try:
            await admin.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        finally:
            await admin.close()


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def fill(store: EventStore, total: int, scenes: int) -> int:
    """`total` events over `scenes` scenes, appended by a few writers at once."""
    log = Log(seed=2026)
    per_scene = total // scenes
    queue: asyncio.Queue[tuple[str, list[NewEvent]]] = asyncio.Queue()
    for n in range(scenes):
        queue.put_nowait((f"scene-{n:04d}", log.scene(per_scene)))
    expected = per_scene * scenes

    async def writer() -> None:
        while not queue.empty():
            scene, events = queue.get_nowait()
            for start in range(0, len(events), APPEND_BATCH):
                await store.append(StreamId(scene), events[start : start + APPEND_BATCH], start)

    await asyncio.gather(*(writer() for _ in range(4)))
    head = await store.head_position()
    while head < expected:  # each read sequences one more pass of events
        head = await store.head_position()
    return head


async def raw_read_rate(url: str, schema: str, total: int) -> float:
    """Events per second: every row in position order, decoded with msgspec."""
    payloads = msgspec.json.Decoder(AnyEvent)
    metadata = msgspec.json.Decoder(EventMetadata)
    conn = await asyncpg.connect(_dsn(url), server_settings={"search_path": schema})
    try:
        started = time.perf_counter()
        count = 0
        async with conn.transaction():
            query = (
                "SELECT position, scene, branch, version, recorded_at, metadata, data "
                "FROM events ORDER BY position"
            )
            async for row in conn.cursor(query, prefetch=5000):
                payloads.decode(row[6])
                metadata.decode(row[5])
                count += 1
        elapsed = time.perf_counter() - started
    finally:
        await conn.close()
    assert count == total, (count, total)
    return total / elapsed


class Rebuilds(msgspec.Struct):
    first: float  # events/s of the first build of every projection
    rebuild: list[float]  # events/s of each rebuild, up to taking over
    baseline: list[float]  # events/s of the raw read and decode, one before each rebuild
    drop: list[float]  # seconds to drop the replaced generations after each rebuild


async def rebuild_rounds(
    store: EventStore, url: str, schema: str, total: int, rounds: int
) -> Rebuilds:
    """The first build, then raw reads and rebuilds of every projection, alternating
    (so that a burst of other load on the machine spoils one round, not a figure)."""
    read_models = open_read_models(url, schema=schema)
    names = [p.name for p in default_projections()]
    try:
        runner = ProjectionRunner(store, read_models, default_projections())
        started = time.perf_counter()
        await runner.catch_up()
        found = Rebuilds(total / (time.perf_counter() - started), [], [], [])
        for _ in range(rounds):
            found.baseline.append(await raw_read_rate(url, schema, total))
            started = time.perf_counter()
            await runner.rebuild(*names)
            found.rebuild.append(total / (time.perf_counter() - started))
            started = time.perf_counter()
            await runner.drop_retired()
            found.drop.append(time.perf_counter() - started)
            await vacuum(url, schema)
        return found
    finally:
        await read_models.close()


async def vacuum(url: str, schema: str) -> None:
    """Clear the dropped rows now, so each round starts from the same tables (and
    autovacuum does not land in the middle of the next measurement)."""
    conn = await asyncpg.connect(_dsn(url), server_settings={"search_path": schema})
    try:
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()


async def live_lag(
    store: EventStore, url: str, schema: str, seconds: float, elsewhere: bool
) -> list[float]:
    """Milliseconds from issuing each append to its scene's draft view here showing it.
    The appends come from this process (as in one API process serving its own edits)
    or, `elsewhere`, from another one (as from another API process behind the same
    load balancer). Both sides read one wall clock: the append's recorded time, and
    the moment the view changed."""
    names = [f"live-{n}-{int(elsewhere)}" for n in range(WRITERS)]
    for name in names:
        await store.append(StreamId(name), Log(seed=7).scene(SHOTS + 2), 0)
    drafts = DraftViews(store, SceneService(store, SystemClock(), RandomIds()))
    following = asyncio.create_task(drafts.run())
    seen: dict[tuple[str, int], float] = {}
    watchers = [asyncio.create_task(_watch(drafts, name, seen)) for name in names]
    for name in names:
        await drafts.timeline(name)
    try:
        if elsewhere:
            await _append_elsewhere(url, schema, seconds, names)
        else:
            await asyncio.gather(*(_append_to(store, name, seconds) for name in names))
        await asyncio.sleep(0.5)
    finally:
        for task in (*watchers, following):
            task.cancel()
    issued = {
        (name, event.version): event.recorded_at.timestamp()
        for name in names
        for event in await store.read_stream(StreamId(name), SHOTS + 2)
    }
    unseen = [key for key in issued if key not in seen]
    if unseen:
        raise RuntimeError(f"{len(unseen)} appends never reached a draft view: {unseen[:3]}")
    return [(seen[key] - at) * 1000 for key, at in issued.items()]


async def _append_elsewhere(url: str, schema: str, seconds: float, names: list[str]) -> None:
    appender = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.projections",
        "--append-to",
        schema,
        "--seconds",
        str(seconds),
        "--postgres",
        url,
        *names,
        env={**os.environ, "PYTHONPATH": REPOSITORY},
    )
    if await appender.wait() != 0:
        raise RuntimeError("the appender process failed")


async def _watch(drafts: DraftViews, scene: str, seen: dict[tuple[str, int], float]) -> None:
    last = 0
    async for timeline in drafts.updates(scene):
        now = time.time()
        for version in range(last + 1, timeline.version + 1):
            seen[(scene, version)] = now
        last = max(last, timeline.version)


async def append_steadily(url: str, schema: str, seconds: float, names: list[str]) -> None:
    """The appender process: RATE appends a second in all, spread over the scenes."""
    store = open_store(url, schema=schema)
    try:
        await asyncio.gather(*(_append_to(store, name, seconds) for name in names))
    finally:
        await store.close()


async def _append_to(store: EventStore, scene: str, seconds: float) -> None:
    log = Log(seed=hash(scene) % 1000)
    version = SHOTS + 2
    interval = WRITERS / RATE  # each of WRITERS scenes takes its share of RATE
    start = time.perf_counter() + random.uniform(0, interval)
    n = 0
    while (due := start + n * interval) < start + seconds:
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        meta = log.meta("intake.direct_edit")
        event = _wrap(meta, [PropertySet(f"shot-{n % SHOTS}", "title", f"take {n}")])
        await store.append(StreamId(scene), event, version)
        version += 1
        n += 1


def lag_figures(lags: list[float], where: str) -> list[Figure]:
    p50, p99 = _percentile(lags, 50), _percentile(lags, 99)
    name = f"live lag {{}}, {RATE} appends/s {where}"
    return [
        Figure(name.format("p50"), p50, "ms", higher_is_better=False),
        Figure(
            name.format("p99") + f" ({len(lags):,} appends)",
            p99,
            "ms",
            target=f"<= {LAG_TARGET_MS:g} ms",
            met=p99 <= LAG_TARGET_MS,
            higher_is_better=False,
        ),
    ]


def _runs(values: list[float]) -> str:
    return ", ".join(f"{v:,.0f}" for v in values)


def _percentile(values: list[float], q: int) -> float:
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


async def main() -> None:
    args = parser(__doc__ or "")
    args.add_argument("--quick", action="store_true", help="100,000 events, 3 s of live lag")
    args.add_argument("--postgres", default=DEFAULT_POSTGRES, help="PostgreSQL URL")
    args.add_argument("--append-to", help=argparse.SUPPRESS)  # the live-lag appender
    args.add_argument("--seconds", type=float, default=0.0, help=argparse.SUPPRESS)
    args.add_argument("scenes", nargs="*", help=argparse.SUPPRESS)
    options = args.parse_args()
    if options.append_to:
        await append_steadily(options.postgres, options.append_to, options.seconds, options.scenes)
        return
    total = 100_000 if options.quick else 1_000_000
    seconds = 3.0 if options.quick else 10.0
    rounds = 3
    figures: list[Figure] = []
    async with postgres(options.postgres) as (store, schema):
        started = time.perf_counter()
        head = await fill(store, total, scenes=max(total // 5000, 4))
        print(f"appended {head:,} events in {time.perf_counter() - started:.1f}s")
        await vacuum(options.postgres, schema)
        found = await rebuild_rounds(store, options.postgres, schema, head, rounds)
        rebuild, baseline = statistics.median(found.rebuild), statistics.median(found.baseline)
        figures.append(
            Figure(
                f"rebuild all projections to takeover, {head:,} events postgresql",
                rebuild,
                "events/s",
                baseline=baseline,
                target=f">= {REBUILD_TARGET}",
                met=rebuild / baseline >= REBUILD_TARGET,
            )
        )
        figures.append(Figure("drop the replaced generations", statistics.median(found.drop), "s"))
        figures.append(
            Figure(f"first build of all projections, {head:,} events", found.first, "events/s")
        )
        print(f"rounds: rebuild {_runs(found.rebuild)}; baseline {_runs(found.baseline)}")
        for elsewhere in (False, True):
            lags = await live_lag(store, options.postgres, schema, seconds, elsewhere)
            figures += lag_figures(lags, "from another process" if elsewhere else "in process")
    report("projections", figures, options.json)


if __name__ == "__main__":
    asyncio.run(main())
