"""Event store throughput and scene load times on SQLite and PostgreSQL, each figure set
against a raw baseline of the same shape measured in the same run
(`bench/_store_baselines.py`: plain asyncpg and sqlite3 on identical tables).

1. appends of one event per transaction, 1 writer and 16 writers on different scenes;
2. appends of 100-event batches;
3. reading a 100,000-event scene (read_stream, read_all) decoded and folded, and the
   decode + fold alone on rows already in memory;
4. loading scenes of 1,000, 10,000 and 100,000 events with and without snapshots.

The engine side runs as in production: default store options, the PostgreSQL sequencer
numbering events after every append, SceneService loads with no state cache.
PostgreSQL runs in fresh schemas that are dropped at the end.

Run: python -m bench.store [--json FILE] [--quick] [--postgres URL | --no-postgres]
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from fractional_indexing import generate_n_keys_between

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
from engine.reducers import apply
from engine.scene import SceneState
from engine.service import execution_id_for

DEFAULT_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
SNAPSHOT_EVERY = 200  # SceneService's default
BUILD_BATCH = 1000
READ_ALL_PAGE = 1000  # subscribe()'s default batch
STREAM_PAGE = 5000  # the store's read_stream page (adapters.store._base)
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


FULL = Plan(seconds=2.0, warmup=0.3, rounds=3, sizes=(1_000, 10_000, 100_000), reads=3, loads=9)
QUICK = Plan(seconds=0.5, warmup=0.2, rounds=1, sizes=(1_000, 10_000, 20_000), reads=1, loads=5)


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
    choices: dict[str, tuple[Any, ...]] = {
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
            return [ArtifactBound(node=node, slot=SLOTS[kind], artifact=artifact)]
        return [self.property_set() for _ in range(self.rng.randint(1, 8))]

    def _accepted(self) -> IntentAccepted:
        return IntentAccepted(kind="text_prompt", summary=_words(self.rng, 6, 18)[:120])


def folded(scene: str, events: list[NewEvent], marks: set[int]) -> dict[int, SceneState]:
    """The states at the versions in `marks`, folded in memory as the service would."""
    state, states = SceneState(scene=scene), {}
    for version, new in enumerate(events, start=1):
        state = apply(
            state,
            RecordedEvent(
                new.event_id,
                scene,
                "main",
                version,
                None,
                new.recorded_at,
                new.metadata,
                new.payload,
            ),
        )
        if version in marks:
            states[version] = state
    return states
