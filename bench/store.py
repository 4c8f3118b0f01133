"""Event store throughput and scene load times on SQLite and PostgreSQL, each figure set
against a raw baseline of the same shape measured in the same run
(`bench/_store_baselines.py`: plain asyncpg and sqlite3 on identical tables).

1. appends of one event per transaction, 1 writer and 16 writers on different scenes;
2. appends of 100-event batches;
   and many short streams: 4,000 streams of 10 one-event appends, each created by its
   first append, with 16 writers on PostgreSQL and one on SQLite, from an empty table
   (`bench/_short_streams.py`);
3. reading a 100,000-event scene (read_stream, read_all) decoded and folded, and the
   decode + fold alone on rows already in memory;
4. loading scenes of 1,000, 10,000 and 100,000 events with and without snapshots.

The engine side runs as in production: default store options (so concurrent appends
of one store may share a commit, as they do in production), the PostgreSQL sequencer
numbering events in the background while appends come in, durability as configured
(SQLite synchronous=FULL on both sides), SceneService loads with no state cache.
PostgreSQL runs in fresh schemas that are dropped at the end.

The scene: 270 nodes (30 shots of 8 media nodes each) under the root, then intents of
one IntentAccepted and 1-8 PropertySet events, or (one in ten) an ArtifactBound: about
80% PropertySet. Every binding stays in state as slot history, so a longer scene has a
bigger state and snapshot (their sizes are printed with the load figures).

Run: python -m bench.store [--json FILE] [--quick] [--postgres URL | --no-postgres]
"""

from __future__ import annotations

import asyncio
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fractional_indexing import generate_n_keys_between

from adapters.system import RandomIds, SystemClock
from bench._report import Figure, parser, report
from bench._short_streams import short_stream_figures
from bench._store_baselines import (
    READ_ALL_PAGE,
    Backend,
    NextBatch,
    postgres_backend,
    sqlite_backend,
)
from engine.codec import decode_event, decode_metadata, encode_event, encode_metadata
from engine.events import (
    AnyEvent,
    ArtifactBound,
    EventMetadata,
    IntentAccepted,
    NewEvent,
    NodeAdded,
    PropertySet,
    RecordedEvent,
    SceneCreated,
)
from engine.ports import EventStore, StoredSnapshot, StreamId
from engine.reducers import apply, fold
from engine.scene import SceneState
from engine.service import SceneService, execution_id_for
from engine.snapshots import SNAPSHOT_SCHEMA, encode_snapshot

DEFAULT_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
SNAPSHOT_EVERY = 200  # SceneService's default
BUILD_BATCH = 1000
APPEND_TARGET = 0.6
DECODE_FOLD_TARGET = 150_000
LOAD_TARGET_MS = 50.0


@dataclass(frozen=True)
class Plan:
    seconds: float  # one timed append run
    warmup: float  # untimed append run before each shape
    rounds: int  # timed runs per append shape, raw and engine alternating; median kept
    sizes: tuple[int, ...]  # scene lengths loaded; the longest is also read and folded
    reads: int  # timed runs of each read figure (median)
    loads: int  # timed loads per load figure (median)
    short_streams: int  # streams per run of the many-short-streams shape
    short_rounds: int  # its runs (median)


# Several short alternating append runs rather than a few long ones: on a shared machine
# a burst of other load then spoils one run of the median, not a third of them.
FULL = Plan(
    seconds=1.2,
    warmup=0.3,
    rounds=5,
    sizes=(1_000, 10_000, 100_000),
    reads=3,
    loads=9,
    short_streams=4_000,
    short_rounds=3,
)
QUICK = Plan(
    seconds=0.25,
    warmup=0.2,
    rounds=3,
    sizes=(1_000, 10_000, 20_000),
    reads=1,
    loads=5,
    short_streams=800,
    short_rounds=3,
)


# --- realistic events -------------------------------------------------------------------

SHOTS = 30
SHOT_CHILDREN = ("clip", "image", "video", "voiceover", "caption", "image", "video", "clip")
PROPS = {
    "shot": ("title", "prompt", "duration", "seed"),
    "clip": ("title", "start", "duration"),
    "image": ("prompt", "seed", "width", "height", "model"),
    "video": ("prompt", "duration", "fps", "seed", "model"),
    "voiceover": ("text", "voice", "start", "volume"),
    "caption": ("text", "start", "end"),
}
SLOTS = {"shot": "image", "clip": "video", "image": "image", "video": "video", "voiceover": "audio"}
WORDS = [
    "a",
    "slow",
    "dolly",
    "shot",
    "across",
    "a",
    "rain",
    "soaked",
    "neon",
    "street",
    "at",
    "night,",
    "reflections",
    "in",
    "puddles,",
    "cinematic",
    "lighting,",
    "anamorphic",
    "lens",
    "flare,",
    "the",
    "courier",
    "turns",
    "toward",
    "the",
    "camera",
    "and",
    "smiles,",
    "warm",
    "tones,",
    "shallow",
    "depth",
    "of",
    "field,",
    "35mm",
    "film",
    "grain,",
    "wide",
    "establishing",
    "view",
]


def _words(rng: random.Random, low: int, high: int) -> str:
    return " ".join(rng.choices(WORDS, k=rng.randint(low, high)))


def prop_value(rng: random.Random, prop: str) -> str | int | float:
    """A value of the kind the studio's editors and models write for `prop`."""
    texts = {"title": (2, 6), "prompt": (12, 40), "text": (8, 30)}
    if prop in texts:
        return _words(rng, *texts[prop])
    choices: dict[str, tuple[str | int | float, ...]] = {
        "width": (512, 768, 1024, 1280, 1920),
        "height": (512, 576, 720, 1080),
        "fps": (24.0, 25.0, 30.0),
        "model": ("flux-schnell", "sdxl-turbo", "kling-1.6", "veo-2"),
        "voice": ("alloy", "nova", "rachel"),
    }
    if prop in choices:
        return rng.choice(choices[prop])
    if prop == "seed":
        return rng.randrange(2**31)
    return round(rng.uniform(0.5, 300.0), 3)  # durations, starts, volumes


class History:
    """Seeded generator of the events the engine writes for a studio's scene."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        shot_keys = generate_n_keys_between(None, None, SHOTS)
        child_keys = generate_n_keys_between(None, None, len(SHOT_CHILDREN))
        self.added: list[NodeAdded] = []
        for s in range(SHOTS):
            shot = f"shot-{s}"
            props: dict[str, Any] = {"title": f"Shot {s + 1}", "duration": 5.0}
            self.added.append(NodeAdded(shot, "shot", "root", shot_keys[s], props))
            for c, kind in enumerate(SHOT_CHILDREN):
                self.added.append(NodeAdded(f"{shot}-{kind}-{c}", kind, shot, child_keys[c]))
        self.nodes = [(added.node, added.kind) for added in self.added]
        self.clock = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)

    def metadata(self, transform: str) -> EventMetadata:
        intent = str(uuid.uuid4())
        return EventMetadata(
            studio="studio-bench",
            actor="editor-3",
            intent_id=intent,
            execution_id=execution_id_for(intent),
            transform=transform,
            transform_version=1,
        )

    def intent(self, transform: str, payloads: Sequence[AnyEvent]) -> list[NewEvent]:
        """One intent's events: shared metadata and recorded time, fresh event ids."""
        meta = self.metadata(transform)
        self.clock += timedelta(milliseconds=self.rng.randint(50, 5000))
        return [NewEvent(str(uuid.uuid4()), p, meta, self.clock) for p in payloads]

    def property_set(self) -> PropertySet:
        node, kind = self.rng.choice(self.nodes)
        prop = self.rng.choice(PROPS[kind])
        return PropertySet(node=node, prop=prop, value=prop_value(self.rng, prop))

    def edits(self, count: int) -> list[NewEvent]:
        """`count` PropertySet events of one intent (the append figures' payloads)."""
        return self.intent("action.set_property", [self.property_set() for _ in range(count)])

    def scene(self, length: int) -> list[NewEvent]:
        """Exactly `length` events: the scene, its nodes, then edits (mostly PropertySet,
        each intent recorded by an IntentAccepted, some artifact bindings)."""
        events = self.intent("action.create_scene", [self._accepted(), SceneCreated("Bench")])
        for added in self.added:
            events += self.intent("action.add_node", [self._accepted(), added])
        while len(events) < length:
            events += self.intent("intake.text_prompt", [self._accepted(), *self._changes()])
        return events[:length]

    def _changes(self) -> list[AnyEvent]:
        if self.rng.random() < 0.1:
            node, kind = self.rng.choice([n for n in self.nodes if n[1] in SLOTS])
            artifact = f"sha256:{self.rng.getrandbits(256):064x}"
            task = f"task-{self.rng.getrandbits(64):016x}"
            return [ArtifactBound(node=node, slot=SLOTS[kind], artifact=artifact, task=task)]
        return [self.property_set() for _ in range(self.rng.randint(1, 8))]

    def _accepted(self) -> IntentAccepted:
        return IntentAccepted(kind="text_prompt", summary=_words(self.rng, 6, 18)[:120])


def folded(scene: str, events: list[NewEvent], marks: set[int]) -> dict[int, SceneState]:
    """The states at the versions in `marks`, folded in memory as the service would."""
    state, states = SceneState(scene=scene), {}
    for version, new in enumerate(events, start=1):
        meta, payload = new.metadata, new.payload
        event = RecordedEvent(
            new.event_id, scene, "main", version, None, new.recorded_at, meta, payload
        )
        state = apply(state, event)
        if version in marks:
            states[version] = state
    return states


def memory_rows(scene: str, events: list[NewEvent]) -> list[tuple[Any, ...]]:
    """Rows as the store selects them (EVENT_COLUMNS order), payloads as JSON bytes."""
    rows = []
    for version, new in enumerate(events, start=1):
        head = (new.event_id, scene, "main", version, version, new.recorded_at)
        kind, schema, data = encode_event(new.payload)
        rows.append((*head, encode_metadata(new.metadata), kind, schema, data))
    return rows


def decode(rows: list[tuple[Any, ...]]) -> list[RecordedEvent]:
    """engine.codec on each row, metadata shared by consecutive rows as the store does."""
    decoded = []
    meta_json: object = None
    meta: EventMetadata | None = None
    for event_id, scene, branch, version, position, recorded_at, m, kind, schema, data in rows:
        if m != meta_json:
            meta, meta_json = decode_metadata(m, position), m
        assert meta is not None
        payload = decode_event(kind, schema, data, position)
        decoded.append(
            RecordedEvent(event_id, scene, branch, version, position, recorded_at, meta, payload)
        )
    return decoded


# --- measurements -----------------------------------------------------------------------


async def engine_append_rate(
    store: EventStore, writers: int, seconds: float, batch: int, next_batch: NextBatch, tag: str
) -> float:
    """Events/s through store.append, one coroutine per writer, each on its own scene."""

    async def writer(index: int) -> int:
        stream, version = StreamId(f"{tag}-{index}"), 0
        while time.perf_counter() < deadline:
            events = next_batch(batch)
            await store.append(stream, events, version)
            version += len(events)
        return version

    start = time.perf_counter()
    deadline = start + seconds
    written = await asyncio.gather(*(writer(i) for i in range(writers)))
    return sum(written) / (time.perf_counter() - start)


APPEND_SHAPES = (
    ("1 event/tx, 1 writer", 1, 1),
    ("1 event/tx, 16 writers", 16, 1),
    ("100-event batch/tx, 1 writer", 1, 100),
)


async def append_figures(backend: Backend, plan: Plan, history: History) -> list[Figure]:
    figures = []
    for label, writers, batch in APPEND_SHAPES:
        tag = f"w{writers}-b{batch}"
        await backend.raw_append(writers, plan.warmup, batch, history.edits, f"{tag}-warm")
        await engine_append_rate(
            backend.store, writers, plan.warmup, batch, history.edits, f"{tag}-warm"
        )
        await backend.settle()
        raws, engines, lags = [], [], []
        for r in range(plan.rounds):
            raws.append(
                await backend.raw_append(writers, plan.seconds, batch, history.edits, f"{tag}-{r}")
            )
            engines.append(
                await engine_append_rate(
                    backend.store, writers, plan.seconds, batch, history.edits, f"{tag}-{r}"
                )
            )
            start = time.perf_counter()
            await backend.settle()
            lags.append((time.perf_counter() - start) * 1000)
        value, base = statistics.median(engines), statistics.median(raws)
        print(
            f"  {backend.name} append {label}: engine {_runs(engines)} ev/s, "
            f"raw {_runs(raws)} ev/s; sequenced {max(lags):.0f} ms after the last append"
        )
        figures.append(
            Figure(
                f"append {label} ({backend.name})",
                value,
                "events/s",
                baseline=base,
                target=f">= {APPEND_TARGET}",
                met=value >= APPEND_TARGET * base,
            )
        )
    return figures


def _runs(values: list[float]) -> str:
    return "/".join(f"{v:,.0f}" for v in values)


@dataclass
class Scene:
    """A scene written for the read and load figures, and its states folded in memory."""

    name: str
    events: list[NewEvent]
    states: dict[int, SceneState]  # at its length and SNAPSHOT_EVERY before it
    first_position: int = 0  # the store's head position before it was written

    @property
    def length(self) -> int:
        return len(self.events)


async def write_scene(backend: Backend, scene: Scene) -> None:
    """Prebuilt batches straight through store.append, as fast as the store takes them."""
    await backend.settle()
    scene.first_position = await backend.store.head_position()
    start = time.perf_counter()
    for offset in range(0, scene.length, BUILD_BATCH):
        batch = scene.events[offset : offset + BUILD_BATCH]
        await backend.store.append(StreamId(scene.name), batch, offset)
    await backend.settle()
    seconds = time.perf_counter() - start
    print(
        f"  {backend.name}: wrote {scene.length:,} events of {scene.name} in {seconds:.1f} s "
        f"({scene.length / seconds:,.0f} ev/s in batches of {BUILD_BATCH})"
    )


async def save_snapshots(backend: Backend, scene: Scene) -> None:
    """The snapshots SceneService would have saved last: at the head and one interval back."""
    for version, state in scene.states.items():
        data = encode_snapshot(state)
        snapshot = StoredSnapshot(scene.name, "main", version, SNAPSHOT_SCHEMA, data)
        await backend.store.save_snapshot(snapshot)
    head = scene.states[scene.length]
    bindings = sum(len(b) for node in head.nodes.values() for b in node.slots.values())
    props = sum(len(node.props) for node in head.nodes.values())
    size = len(encode_snapshot(head)) / 1024
    print(
        f"  {backend.name}: snapshot of {scene.name}: {size:,.0f} KiB "
        f"({len(head.nodes)} nodes, {props:,} props, {bindings:,} artifact bindings)"
    )


async def _timed(
    runs: int, action: Callable[[], Awaitable[SceneState]]
) -> tuple[float, SceneState]:
    """Median seconds of `runs` timed calls after one untimed warm-up, and the last result."""
    state = await action()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        state = await action()
        times.append(time.perf_counter() - start)
    return statistics.median(times), state


async def timed_load(
    store: EventStore, scene: Scene, runs: int, version: int | None = None
) -> float:
    """Median ms of SceneService.load on a fresh service with no state cache."""

    async def load() -> SceneState:
        service = SceneService(store, SystemClock(), RandomIds(), cache_size=0)
        return await service.load(scene.name, "main", version)

    seconds, state = await _timed(runs, load)
    expected = scene.states.get(state.version)
    assert expected is None or state == expected, f"{scene.name} loaded wrong"
    assert state.version == (version or scene.length), f"{scene.name} loaded short"
    return seconds * 1000


async def read_figures(backend: Backend, plan: Plan, scene: Scene) -> list[Figure]:
    store, n, expected = backend.store, scene.length, scene.states[scene.length]

    async def read_stream() -> SceneState:
        return fold(SceneState(scene=scene.name), await store.read_stream(StreamId(scene.name)))

    async def read_all() -> SceneState:
        state, after, left = SceneState(scene=scene.name), scene.first_position, n
        while left > 0:
            page = await store.read_all(after, min(READ_ALL_PAGE, left))
            state = fold(state, page)
            after, left = page[-1].position or 0, left - len(page)
        return state

    figures = []
    for label, engine, by_position in (
        ("read_stream", read_stream, False),
        ("read_all", read_all, True),
    ):
        after = scene.first_position if by_position else 0

        async def baseline(after: int = after, by_position: bool = by_position) -> SceneState:
            return await backend.raw_read(scene.name, after, n, by_position)

        raw_seconds, raw_state = await _timed(plan.reads, baseline)
        seconds, state = await _timed(plan.reads, engine)
        assert state == expected and raw_state == expected, f"{label} folded a different state"
        figures.append(
            Figure(
                f"{label} + decode + fold, {n:,} events ({backend.name})",
                n / seconds,
                "events/s",
                baseline=n / raw_seconds,
            )
        )
    return figures


async def load_figures(backend: Backend, plan: Plan, scenes: list[Scene]) -> list[Figure]:
    """Loads before and after the snapshots are saved; saves them in between."""
    name, store = backend.name, backend.store
    figures = []
    for scene in scenes:
        ms = await timed_load(store, scene, plan.reads)
        figures.append(
            Figure(
                f"load {scene.length:,} events, no snapshot ({name})",
                ms,
                "ms",
                higher_is_better=False,
            )
        )
    for scene in scenes:
        await save_snapshots(backend, scene)
    loaded = {}
    for scene in scenes:
        ms = loaded[scene.length] = await timed_load(store, scene, plan.loads)
        figures.append(_load_figure(f"load {scene.length:,} events, snapshot at head ({name})", ms))
    big, small = scenes[-1], scenes[0]
    tail = SNAPSHOT_EVERY - 1
    ms = await timed_load(store, big, plan.loads, version=big.length - 1)
    figures.append(
        _load_figure(f"load {big.length - 1:,} events, snapshot {tail} behind ({name})", ms)
    )
    # Part of any difference is the state's own growth (more props set, more bindings),
    # not the length of the log: the snapshot sizes printed above show how much.
    figures.append(
        Figure(
            f"load flatness with snapshots, {small.length:,} vs {big.length:,} events ({name})",
            loaded[big.length],
            "ms",
            baseline=loaded[small.length],
            higher_is_better=False,
            target=">= 0.5 (<= 2x)",
            met=loaded[big.length] <= 2 * loaded[small.length],
        )
    )
    return figures


def _load_figure(name: str, ms: float) -> Figure:
    return Figure(
        name,
        ms,
        "ms",
        target=f"<= {LOAD_TARGET_MS:.0f} ms",
        met=ms <= LOAD_TARGET_MS,
        higher_is_better=False,
    )


def decode_fold_figures(plan: Plan, scene: Scene) -> list[Figure]:
    """engine.codec.decode_event + fold on rows already in memory as bytes."""
    rows = memory_rows(scene.name, scene.events)
    decode_times, fold_times = [], []
    for _ in range(plan.reads + 1):
        start = time.perf_counter()
        events = decode(rows)
        decoded = time.perf_counter()
        state = fold(SceneState(scene=scene.name), events)
        decode_times.append(decoded - start)
        fold_times.append(time.perf_counter() - decoded)
        assert state == scene.states[scene.length], "decode + fold gave a different state"
        del events
    n = scene.length
    decode_s = statistics.median(decode_times[1:])
    fold_s = statistics.median(fold_times[1:])
    both = statistics.median(d + f for d, f in zip(decode_times[1:], fold_times[1:], strict=True))
    return [
        Figure(
            f"decode + fold in memory, {n:,} events",
            n / both,
            "events/s",
            target=f">= {DECODE_FOLD_TARGET:,} events/s",
            met=n / both >= DECODE_FOLD_TARGET,
        ),
        Figure(f"decode alone (engine.codec), {n:,} events in memory", n / decode_s, "events/s"),
        Figure(f"fold alone (engine.reducers), {n:,} events in memory", n / fold_s, "events/s"),
    ]


async def run_backend(
    backend: Backend, plan: Plan, history: History, scenes: list[Scene]
) -> list[Figure]:
    print(f"{backend.name}:")
    # First, while the store's table is empty, as in a new deployment.
    figures = await short_stream_figures(
        backend, plan.short_streams, plan.short_rounds, history.edits
    )
    figures += await append_figures(backend, plan, history)
    for scene in sorted(scenes, key=lambda s: -s.length):
        await write_scene(backend, scene)
    await backend.steady()
    figures += await read_figures(backend, plan, scenes[-1])
    figures += await load_figures(backend, plan, scenes)
    return figures


async def main() -> None:
    args = parser(__doc__ or "")
    args.add_argument("--quick", action="store_true", help="shorter runs, scenes up to 20,000")
    args.add_argument("--postgres", default=DEFAULT_POSTGRES, help="PostgreSQL URL")
    args.add_argument("--no-postgres", action="store_true", help="SQLite only")
    options = args.parse_args()
    plan = QUICK if options.quick else FULL
    history = History(seed=2026)
    scenes = []
    for length in plan.sizes:
        name, events = f"load-{length}", history.scene(length)
        marks = {length - SNAPSHOT_EVERY, length}
        scenes.append(Scene(name, events, folded(name, events, marks)))
    figures = decode_fold_figures(plan, scenes[-1])
    with tempfile.TemporaryDirectory() as tmp:
        async with sqlite_backend(Path(tmp)) as backend:
            figures += await run_backend(backend, plan, history, scenes)
    if not options.no_postgres:
        async with postgres_backend(options.postgres) as backend:
            figures += await run_backend(backend, plan, history, scenes)
    report("store", figures, options.json)


if __name__ == "__main__":
    asyncio.run(main())
