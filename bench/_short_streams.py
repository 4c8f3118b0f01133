"""The many-short-streams shape of `bench.store`: 4,000 streams of 10 one-event appends,
each stream created by its first append (the `eventsourcing` library's harness shape),
against plain inserts of the same rows in the same run.

Most of a studio's streams are short (executions, tasks, new scenes), so a store must
keep its append rate while its table grows from empty: the engine's store is opened on
an empty table, and every run adds to it.

Raw and engine take turns every BLOCK streams, and each side's rate is its events over
its own time summed over the blocks: on a shared machine a burst of other load (or of
slow fsyncs, for SQLite) then lands on both sides, not on one side's whole run.
"""

from __future__ import annotations

import asyncio
import statistics
import time

from bench._report import Figure
from bench._store_baselines import Backend, NextBatch
from engine.ports import EventStore, StreamId

SHORT_STREAM_EVENTS = 10
BLOCK = 200  # streams per turn
TARGET = 0.8
# (label, database, writers): PostgreSQL with 16 writers, SQLite with its one writer
SHAPES = (("16 writers", "postgresql", 16), ("1 writer", "sqlite", 1))


async def engine_short_streams_time(
    store: EventStore, writers: int, streams: range, next_batch: NextBatch, tag: str
) -> float:
    """Seconds to write `streams` (numbers) through store.append, dealt out to
    `writers` coroutines, each stream as SHORT_STREAM_EVENTS appends of one event."""

    async def writer(index: int) -> None:
        for stream in streams[index::writers]:
            target = StreamId(f"{tag}-{stream}")
            for version in range(SHORT_STREAM_EVENTS):
                await store.append(target, next_batch(1), version)

    start = time.perf_counter()
    await asyncio.gather(*(writer(i) for i in range(writers)))
    return time.perf_counter() - start


async def _round(
    backend: Backend, writers: int, streams: int, next_batch: NextBatch, tag: str
) -> tuple[float, float]:
    """(raw, engine) events/s over all `streams`, taking turns every BLOCK streams."""
    raw_s = engine_s = 0.0
    for first in range(0, streams, BLOCK):
        block = range(first, min(first + BLOCK, streams))
        raw_s += await backend.raw_short_streams(
            writers, block, SHORT_STREAM_EVENTS, next_batch, tag
        )
        engine_s += await engine_short_streams_time(backend.store, writers, block, next_batch, tag)
    events = streams * SHORT_STREAM_EVENTS
    return events / raw_s, events / engine_s


async def short_stream_figures(
    backend: Backend, streams: int, rounds: int, next_batch: NextBatch
) -> list[Figure]:
    """The shape for `backend`'s database, `rounds` times; the median of each side."""
    figures = []
    for label, database, writers in SHAPES:
        if database != backend.name:
            continue
        raws, engines = [], []
        for r in range(rounds):
            raw, engine = await _round(backend, writers, streams, next_batch, f"short-{r}")
            raws.append(raw)
            engines.append(engine)
            await backend.settle()
        value, base = statistics.median(engines), statistics.median(raws)
        runs = "/".join(f"{e / b:.2f}" for e, b in zip(engines, raws, strict=True))
        print(
            f"  {backend.name} append {streams:,} streams x {SHORT_STREAM_EVENTS} events, "
            f"{label}: engine {_runs(engines)} ev/s, raw {_runs(raws)} ev/s (ratios {runs})"
        )
        figures.append(
            Figure(
                f"append {streams:,} streams x {SHORT_STREAM_EVENTS}, {label} ({backend.name})",
                value,
                "events/s",
                baseline=base,
                target=f">= {TARGET}",
                met=value >= TARGET * base,
            )
        )
    return figures


def _runs(values: list[float]) -> str:
    return "/".join(f"{v:,.0f}" for v in values)
