"""Merge cost against scene size: two branches of scenes of 1,000, 10,000 and 100,000
nodes with the same 100 nodes changed on each side (different props, so no conflicts).

Warm is the median of five merges in a running service (the states a merge starts
from are at hand); cold is the first merge of a fresh service on the same store,
which loads the target, the merge base and the source (snapshots and their tails).

Run: python -m bench.merge [--json FILE] [--sizes 1000,10000,100000]
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from fractional_indexing import generate_n_keys_between

from adapters.store import migrate, open_store
from adapters.system import RandomIds, SystemClock
from bench._report import Figure, parser, report
from engine.events import EventMetadata, NewEvent, NodeAdded, SceneCreated
from engine.intents import parse_intent
from engine.ports import EventStore, StoredSnapshot, StreamId
from engine.reducers import fold
from engine.scene import SceneState
from engine.service import SceneService
from engine.snapshots import SNAPSHOT_SCHEMA, encode_snapshot

CHANGED = 100
ROUNDS = 5
META = EventMetadata("bench", "bench", "setup", "setup", "bench.setup", 1)


async def build_scene(store: EventStore, nodes: int) -> None:
    """Shots under the root, nine clips under each: `nodes` nodes in all."""
    now = datetime.now(UTC)
    shots = max(nodes // 10, 1)
    events: list = [SceneCreated(title=f"{nodes} nodes")]
    shot_keys = generate_n_keys_between(None, None, shots)
    clip_keys = generate_n_keys_between(None, None, 9)
    for s in range(shots):
        events.append(NodeAdded(node=f"shot-{s}", kind="shot", parent="root", order=shot_keys[s]))
        for c in range(9):
            events.append(
                NodeAdded(node=f"clip-{s}-{c}", kind="clip", parent=f"shot-{s}", order=clip_keys[c])
            )
    stream, version = StreamId("film"), 0
    for start in range(0, len(events), 1000):
        batch = [NewEvent(str(uuid.uuid4()), e, META, now) for e in events[start : start + 1000]]
        await store.append(stream, batch, version)
        version += len(batch)
    # the snapshot the service would have written while the scene was built
    state = fold(SceneState(scene="film"), await store.read_stream(stream))
    await store.save_snapshot(
        StoredSnapshot("film", "main", state.version, SNAPSHOT_SCHEMA, encode_snapshot(state))
    )


class Bench:
    def __init__(self, service: SceneService) -> None:
        self.service = service

    async def act(self, branch: str, action: dict) -> None:
        raw = {
            "kind": "structured_action",
            "studio": "bench",
            "actor": "bench",
            "scene": "film",
            "branch": branch,
            "action": action,
        }
        ids = self.service.ids
        await self.service.submit(parse_intent(raw, now=self.service.clock.now, new_id=ids.new_id))

    async def edit_both(self, round_no: int) -> None:
        for n in range(CHANGED):
            node = f"shot-{n}"
            await self.act(
                "main",
                {
                    "name": "set_property",
                    "node": node,
                    "prop": "title",
                    "value": f"main {round_no}",
                },
            )
            await self.act(
                "alt",
                {
                    "name": "set_property",
                    "node": node,
                    "prop": "duration",
                    "value": float(round_no + 1),
                },
            )

    async def timed_merge(self) -> float:
        start = time.perf_counter()
        await self.act("main", {"name": "merge_branch", "source": "alt"})
        return (time.perf_counter() - start) * 1000


async def measure(url: str, nodes: int) -> tuple[float, float]:
    """(warm merge ms, median of ROUNDS; cold merge ms, a fresh process's first merge)."""
    await migrate(url)
    store = open_store(url)
    try:
        await build_scene(store, nodes)
        bench = Bench(SceneService(store, SystemClock(), RandomIds()))
        await bench.act("alt", {"name": "fork_branch", "source": "main"})
        warm = []
        for round_no in range(ROUNDS):
            await bench.edit_both(round_no)
            warm.append(await bench.timed_merge())
        await bench.edit_both(ROUNDS)
        cold = Bench(SceneService(store, SystemClock(), RandomIds()))
        cold_ms = await cold.timed_merge()
        state = await bench.service.load("film")
        assert not state.conflicts and len(state.nodes) == nodes + 1, "merge went wrong"
        return statistics.median(warm), cold_ms
    finally:
        await store.close()


async def main() -> None:
    cli = parser(__doc__ or "")
    cli.add_argument(
        "--sizes",
        default="1000,10000,100000",
        help="scene sizes in nodes, comma-separated; the first is the baseline",
    )
    args = cli.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory() as tmp:
        results = {}
        for nodes in sizes:
            url = f"sqlite+aiosqlite:///{Path(tmp) / f'merge-{nodes}.db'}"
            results[nodes] = await measure(url, nodes)
            print(
                f"{nodes:>7} nodes: warm merge {results[nodes][0]:.1f} ms, "
                f"cold merge {results[nodes][1]:.1f} ms"
            )
    small = results[sizes[0]][0]
    for nodes, (warm, cold) in results.items():
        figures.append(
            Figure(
                f"merge {nodes} nodes, {CHANGED} changed per side (sqlite)",
                warm,
                "ms",
                baseline=small,
                target=f">= 0.5 (<= 2x the {sizes[0]:,}-node merge)",
                met=warm <= 2 * small,
                higher_is_better=False,
            )
        )
        figures.append(
            Figure(
                f"merge {nodes} nodes, absolute", warm, "ms", target="<= 100 ms", met=warm <= 100
            )
        )
        figures.append(
            Figure(
                f"first merge after restart, {nodes} nodes (loads snapshots)",
                cold,
                "ms",
                baseline=None,
                target=None,
            )
        )
    report("merge", figures, args.json)


if __name__ == "__main__":
    asyncio.run(main())
