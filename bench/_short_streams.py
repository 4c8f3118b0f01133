"""The many-short-streams shape of `bench.store`: 4,000 streams of 10 one-event appends,
each stream created by its first append (the `eventsourcing` library's harness shape),
against plain inserts of the same rows in the same run.

Most of a studio's streams are short (executions, tasks, new scenes), so a store must
keep its append rate while its table grows from empty: the engine's store is opened on
an empty table, and every run adds to it.
"""

from __future__ import annotations

import asyncio
import statistics
import time

from bench._report import Figure
from bench._store_baselines import Backend, NextBatch
from engine.ports import EventStore, StreamId

SHORT_STREAM_EVENTS = 10
TARGET = 0.8
# (label, database, writers): PostgreSQL with 16 writers, SQLite with its one writer
SHAPES = (("16 writers", "postgresql", 16), ("1 writer", "sqlite", 1))


async def engine_short_streams_rate(
    store: EventStore, writers: int, streams: int, next_batch: NextBatch, tag: str
) -> float:
    """Events/s through store.append: `streams` streams dealt out to `writers`
    coroutines, each stream written as SHORT_STREAM_EVENTS appends of one event."""

    async def writer(index: int) -> int:
        written = 0
        for stream in range(index, streams, writers):
            target = StreamId(f"{tag}-{stream}")
            for version in range(SHORT_STREAM_EVENTS):
                await store.append(target, next_batch(1), version)
                written += 1
        return written

    start = time.perf_counter()
    written = await asyncio.gather(*(writer(i) for i in range(writers)))
    return sum(written) / (time.perf_counter() - start)


async def short_stream_figures(
    backend: Backend, streams: int, rounds: int, next_batch: NextBatch
) -> list[Figure]:
    """The shape for `backend`'s database, raw and engine runs alternating, median kept."""
    figures = []
    for label, database, writers in SHAPES:
        if database != backend.name:
            continue
        raws, engines = [], []
        for r in range(rounds):
            tag = f"short-{r}"
            raws.append(
                await backend.raw_short_streams(
                    writers, streams, SHORT_STREAM_EVENTS, next_batch, tag
                )
            )
            engines.append(
                await engine_short_streams_rate(backend.store, writers, streams, next_batch, tag)
            )
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
