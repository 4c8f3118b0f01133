"""The benchmark guard CI runs: costs that must not grow with what a scene holds.

Each check measures one cost twice in the same run, on something small and on
something large (or on the request and on the server's floor), and fails when
the ratio passes its limit. Ratios, not times, so a slow or busy machine does not
fail it; limits about 2.5 x what the ratio is today, so noise does not fail it
either, while a 5 x regression always does. A check over its limit is measured
once more before it fails, so one unlucky run is not a verdict.

    merge       a merge in a 100,000-node scene against one in a 1,000-node scene
    state       a scene's state (encoded as its snapshot) after 1,000 finished
                executions against after 10
    snapshots   all the snapshot bytes a stream keeps against its newest snapshot,
                after 1,000 finished executions
    load        loading a 100,000-event scene from its snapshot against a 1,000-event one
    intent p99  an intent POST's p99 against /healthz's p99, 100 clients at 50/s
                (`scenestate serve`, embedded)

Everything runs on SQLite in a temporary directory.

Exit status 1 and one line per failed check naming the benchmark to run.

Run: python -m bench.guard [--json FILE] [--only NAME,...]
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from api.bootstrap import open_services, prepare_database
from api.config import Settings, load_settings
from bench import api as api_bench
from bench import history as history_bench
from bench import merge as merge_bench
from bench._report import Figure, parser, report
from engine.snapshots import encode_snapshot


@dataclass(frozen=True)
class Growth:
    """What one measurement found: the cost on the large side and on the small."""

    large: float
    small: float
    unit: str

    @property
    def ratio(self) -> float:
        return self.large / self.small if self.small > 0 else float("inf")


@dataclass(frozen=True)
class Check:
    name: str
    what: str  # "<large> against <small>"
    limit: float  # the ratio past which the check fails
    today: float  # the ratio measured when the limit was set, for the record
    rerun: str  # the benchmark that tells more
    measure: Callable[[Path], Awaitable[Growth]]

    def figure(self, found: Growth) -> Figure:
        sides = f"{found.large:,.1f} {found.unit} against {found.small:,.1f} {found.unit}"
        return Figure(
            f"{self.name}: {self.what} ({sides})",
            round(found.ratio, 2),
            "x",
            target=f"<= {self.limit:g} x (today {self.today:g} x)",
            met=found.ratio <= self.limit,
        )

    def failure(self, found: Growth) -> str:
        return (
            f"guard: {self.name} costs {found.ratio:.1f} x ({self.what}; limit "
            f"{self.limit:g} x, {self.today:g} x when it was set): a regression; "
            f"`{self.rerun}` tells more"
        )


async def merge_growth(tmp: Path) -> Growth:
    costs = {}
    for nodes in (1_000, 100_000):
        url = f"sqlite+aiosqlite:///{tmp / f'merge-{nodes}.db'}"
        costs[nodes], _ = await merge_bench.measure(url, nodes)
    return Growth(costs[100_000], costs[1_000], "ms")


async def state_growth(tmp: Path) -> Growth:
    sizes = {}
    for executions in (10, 1_000):
        settings = _settings(tmp / f"history-{executions}")
        async with open_services(settings) as services:
            await history_bench.build(services, executions, seed=executions)
            state = await services.scenes.load(history_bench.SCENE)
            sizes[executions] = len(encode_snapshot(state))
    return Growth(sizes[1_000] / 1024, sizes[10] / 1024, "KiB")


async def snapshot_bytes(tmp: Path) -> Growth:
    """Of the scene `state_growth` built (or, run alone, one built here)."""
    settings = _settings(tmp / "history-1000")
    if not (tmp / "history-1000").exists():
        async with open_services(settings) as services:
            await history_bench.build(services, 1_000, seed=1_000)
    _, total, newest = await history_bench.snapshot_sizes(settings.database_url)
    return Growth(total / 1024, newest / 1024, "KiB")


async def load_growth(tmp: Path) -> Growth:
    settings = _settings(tmp / "loads")
    await prepare_database(settings)
    plan = dataclasses.replace(history_bench.QUICK, lengths=(1_000, 100_000), loads=5)
    small, large = await history_bench.load_flatness(
        settings.database_url, plan, history_bench.FullGraph
    )
    return Growth(large, small, "ms")


def _settings(data: Path) -> Settings:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCENESTATE_")}
    return load_settings({**env, "SCENESTATE_DATA_DIR": str(data)})


async def intent_p99(tmp: Path) -> Growth:
    """Each client sends a GET /healthz and then an intent, 50 intents a second in
    all: both see the same moments of a busy machine."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCENESTATE_")}
    env.update(SCENESTATE_ADMIN_KEY=api_bench.ADMIN_KEY, SCENESTATE_DATA_DIR=str(tmp / "serve"))
    admin = api_bench.ADMIN_KEY
    async with api_bench._server(env, tmp / "serve.log") as port:
        await api_bench._call(port, "POST", "/studios", admin, {"id": "bench"})
        key = {"name": "bench", "rate_per_second": 0}
        token = (await api_bench._call(port, "POST", "/studios/bench/keys", admin, key))["token"]
        for n in range(api_bench.CLIENTS):
            await api_bench._call(port, "POST", "/scenes", token, {"id": f"bench-{n}"})
        await api_bench._load(port, token, 2, None)  # warm up
        every = api_bench.CLIENTS / api_bench.PACED_RATE
        runs = await asyncio.gather(
            *(
                _pairs(port, token, f"bench-{n}", INTENTS_PER_CLIENT, every, every * n / 100)
                for n in range(api_bench.CLIENTS)
            )
        )
    floor = [t for run in runs for t in run[0]]
    posts = [t for run in runs for t in run[1]]
    p99 = api_bench._percentile
    return Growth(p99(posts, 0.99) * 1000, p99(floor, 0.99) * 1000, "ms")


INTENTS_PER_CLIENT = 8  # 800 of each: a p99 is the 8th slowest, not the 5th


async def _pairs(
    port: int, token: str, scene: str, count: int, every: float, offset: float
) -> tuple[list[float], list[float]]:
    connection = await api_bench.Connection.open(port)
    headers = api_bench._json_headers(token)
    body = json.dumps(api_bench._diagnose(1, "echo")).encode()
    floor, posts = [], []
    start = time.perf_counter() + offset
    try:
        for n in range(count):
            await asyncio.sleep(max(0.0, start + n * every - time.perf_counter()))
            began = time.perf_counter()
            status, _ = await connection.request("GET", "/healthz", {})
            floor.append(time.perf_counter() - began)
            began = time.perf_counter()
            status, _ = await connection.request("POST", f"/scenes/{scene}/intents", headers, body)
            posts.append(time.perf_counter() - began)
            if status != 202:
                raise RuntimeError(f"an intent got {status}")
    finally:
        connection.close()
    return floor, posts


CHECKS = (
    Check(
        "merge",
        "100,000-node scene against 1,000 nodes, 100 props changed per side",
        limit=4.0,
        today=1.5,
        rerun="python -m bench.merge",
        measure=merge_growth,
    ),
    Check(
        "state",
        "a scene's encoded state after 1,000 finished executions against after 10",
        limit=2.5,
        today=1.2,
        rerun="python -m bench.history --quick",
        measure=state_growth,
    ),
    Check(
        "snapshots",
        "all snapshot bytes a stream keeps against its newest, after 1,000 executions",
        limit=4.5,
        today=1.8,
        rerun="python -m bench.history --quick",
        measure=snapshot_bytes,
    ),
    Check(
        "load",
        "a 100,000-event scene's load from its snapshot against a 1,000-event one's",
        limit=4.5,
        today=2.0,
        rerun="python -m bench.history --quick",
        measure=load_growth,
    ),
    Check(
        "intent p99",
        "POST /scenes/{scene}/intents against GET /healthz, 100 clients at 50/s",
        limit=70.0,
        today=25.0,
        rerun="python -m bench.api --embedded --quick",
        measure=intent_p99,
    ),
)


async def run(checks: tuple[Check, ...]) -> tuple[list[Figure], list[str]]:
    figures, failures = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for check in checks:
            print(f"guard: measuring {check.name} ...", flush=True)
            found = await check.measure(Path(tmp))
            if found.ratio > check.limit:
                print(f"guard: {check.name} at {found.ratio:.1f} x; measuring again", flush=True)
                found = await check.measure(Path(tmp))
            figures.append(check.figure(found))
            if found.ratio > check.limit:
                failures.append(check.failure(found))
    return figures, failures


async def main() -> int:
    args = parser(__doc__ or "")
    args.add_argument("--only", help="run only these checks (names, comma-separated)")
    options = args.parse_args()
    checks = CHECKS
    if options.only:
        wanted = {name.strip() for name in options.only.split(",")}
        unknown = wanted - {check.name for check in CHECKS}
        if unknown:
            names = ", ".join(check.name for check in CHECKS)
            print(f"guard: no check {sorted(unknown)}; there are: {names}", file=sys.stderr)
            return 2
        checks = tuple(check for check in CHECKS if check.name in wanted)
    figures, failures = await run(checks)
    report("guard", figures, options.json)
    for failure in failures:
        print(failure, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
