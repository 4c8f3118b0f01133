"""What every store's `append_runs` checks before it writes, and the results it gives:
several intents' runs of events appended to one stream at once, each under its own key."""

from __future__ import annotations

from collections.abc import Sequence

from engine.errors import KeysUsed
from engine.ports import AppendResult, AppendRun, StreamId


def check_runs(runs: Sequence[AppendRun]) -> None:
    """Refuse, before anything is written, no runs, an empty run, or a key that
    repeats among the runs (KeysUsed naming it)."""
    if not runs:
        raise ValueError("append_runs needs at least one run")
    if any(not run.events for run in runs):
        raise ValueError("every run of an append_runs needs at least one event")
    seen: set[str] = set()
    twice = []
    for run in runs:
        if run.idempotency_key in seen:
            twice.append(run.idempotency_key)
        seen.add(run.idempotency_key)
    if twice:
        raise KeysUsed(twice)


def run_results(
    stream: StreamId, counts: Sequence[int], expected_version: int, top: int | None
) -> list[AppendResult]:
    """Where each run lands: one after the other from `expected_version` + 1, and (when
    the store numbers events as it writes them) from global position `top` + 1."""
    results = []
    before = 0
    for count in counts:
        first, last = expected_version + before + 1, expected_version + before + count
        positions = (None, None) if top is None else (top + before + 1, top + before + count)
        results.append(AppendResult(stream.scene, stream.branch, first, last, *positions))
        before += count
    return results
