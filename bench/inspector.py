"""The inspector's first view: how long a person waits, in headless Chromium, between
asking for a big scene's tree and seeing it.

The scene has 1,000 nodes (--quick: 300) under 50 shots and 3,000 finished
executions (--quick: 300) of one or two diagnostic tasks each. Its nodes are
appended straight through the store in one event per node (as an import would write
them); the executions are written through the service layer as the pipeline writes
them (the intent, the dispatcher's marks, the workers' results), as bench.history
does. Then `scenestate serve` runs on that database and Chromium (Debian's, at
/usr/bin/chromium) opens `/studio#/s/SCENE/tree` signed in, each time in a fresh
browser context (nothing cached):

1. first view of the tree: from navigation to the first page of node rows drawn
   (target <= 1 s, median of the runs);
2. the executions view of the same scene (its 3,000 executions, a page of them drawn);
3. baselines in the same run: the sign-in form (the page with no data at all), and
   the API calls the views wait on over HTTP (`GET /scenes/SCENE`, and the newest 50
   executions); a view's baseline is the sign-in form plus its call.

Run: python -m bench.inspector [--json FILE] [--quick] [--runs N]
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from api.bootstrap import open_services
from api.config import load_settings
from api.services import Caller, Services, intake, scenes, studios
from bench._report import Figure, parser, report
from bench.api import _server
from engine.dispatch import ready_tasks
from engine.events import EventMetadata, NewEvent, NodeAdded
from engine.ports import StreamId
from engine.tasks import TaskMetrics, TaskResult, TaskStatus

SCENE = "big"
STUDIO = "bench"
SHOTS = 50
FIRST_VIEW_TARGET_MS = 1000.0
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


# --- building the scene ------------------------------------------------------------------


async def build(services: Services, nodes: int, executions: int) -> str:
    """The scene; returns a key's token (no rate limit: the bench is not a tenant)."""
    await studios.create_studio(services, STUDIO, "bench")
    token = (await studios.create_key(services, STUDIO, "inspector", rate_per_second=0)).token
    caller = Caller(STUDIO, "editor")
    await scenes.create_scene(services, caller, SCENE, "A big scene")
    await _append_nodes(services, nodes)
    rng = random.Random(7)
    for _ in range(executions):
        await _one_execution(services, caller, rng.randint(1, 2))
    return token


async def _append_nodes(services: Services, count: int) -> None:
    """`count` nodes, one NodeAdded each: SHOTS shots under the root, the rest spread
    over the shots, every node with a few props."""
    stream = StreamId(SCENE)
    version = await services.store.head_version(stream)
    meta = EventMetadata(STUDIO, "importer", str(uuid.uuid4()), "", "bench.import", 1)
    now = datetime.now(UTC)
    added = []
    for n in range(count):
        if n < SHOTS:
            payload = NodeAdded(f"shot-{n}", "shot", "root", f"a{n:04d}", _props(n, "shot"))
        else:
            shot = f"shot-{n % SHOTS}"
            payload = NodeAdded(f"node-{n}", "caption", shot, f"a{n:04d}", _props(n, "caption"))
        added.append(NewEvent(str(uuid.uuid4()), payload, meta, now))
    for start in range(0, count, 500):
        batch = added[start : start + 500]
        await services.store.append(stream, batch, version)
        version += len(batch)


def _props(n: int, kind: str) -> dict[str, Any]:
    return {"title": f"{kind} {n}", "text": f"line {n} of the script", "duration": 1 + n % 5}


async def _one_execution(services: Services, caller: Caller, tasks: int) -> None:
    action = {"name": "diagnose", "count": tasks, "operation": "echo"}
    fields = {"kind": "structured_action", "scene": SCENE, "action": action}
    await intake.submit(services, caller, fields, claim=False)
    state = await services.scenes.load(SCENE)
    ready = ready_tasks(state, STUDIO)
    await services.scenes.mark_dispatched(
        SCENE, "main", [(m.task_id, m.attempt) for m in ready], STUDIO
    )
    results = [
        TaskResult(
            m.task_id,
            m.attempt,
            m.execution_id,
            SCENE,
            "main",
            TaskStatus.SUCCEEDED,
            outputs={"echo": m.params},
            metrics=TaskMetrics(queue_wait=0.01, run_time=0.05),
            worker="bench:0",
            studio=STUDIO,
        )
        for m in ready
    ]
    await services.scenes.record_results(results)


# --- measuring ---------------------------------------------------------------------------


def browser_times(base: str, token: str, runs: int) -> dict[str, list[float]]:
    """Milliseconds from navigation to each view drawn, each run in a fresh context."""
    from playwright.sync_api import sync_playwright

    views: dict[str, tuple[str, str, bool]] = {
        "sign-in form (baseline)": ("/studio", "#key", False),
        "tree": (f"/studio#/s/{SCENE}/tree", "details.node", True),
        "executions": (f"/studio#/s/{SCENE}/executions", "table tbody tr", True),
    }
    found: dict[str, list[float]] = {name: [] for name in views}
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for _ in range(runs):
                for name, (path, drawn, signed_in) in views.items():
                    found[name].append(_first_view(browser, base + path, drawn, token, signed_in))
        finally:
            browser.close()
    return found


def _first_view(browser: Any, url: str, drawn: str, token: str, signed_in: bool) -> float:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        if signed_in:
            page.add_init_script(f"sessionStorage.setItem('scenestate.key', {token!r})")
        start = time.perf_counter()
        page.goto(url)
        page.locator(drawn).first.wait_for(timeout=60_000)
        return (time.perf_counter() - start) * 1000
    finally:
        context.close()


EXECUTIONS_PAGE = f"/scenes/{SCENE}/executions?order=newest&limit=50"


def api_times(base: str, token: str, runs: int, path: str) -> list[float]:
    took = []
    with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=60) as http:
        for _ in range(runs):
            start = time.perf_counter()
            answer = http.get(f"{base}{path}")
            answer.raise_for_status()
            took.append((time.perf_counter() - start) * 1000)
    return took


def figures(
    times: dict[str, list[float]], api_ms: list[float], page_ms: list[float], label: str
) -> list[Figure]:
    median: Callable[[list[float]], float] = statistics.median
    blank = median(times["sign-in form (baseline)"])
    api = median(api_ms)
    page = median(page_ms)
    tree = median(times["tree"])
    runs = median(times["executions"])
    return [
        Figure(f"sign-in form, no data ({label})", round(blank, 1), "ms", higher_is_better=False),
        Figure(f"GET /scenes/{SCENE} over HTTP ({label})", round(api, 1), "ms"),
        Figure(f"GET {EXECUTIONS_PAGE} over HTTP ({label})", round(page, 1), "ms"),
        Figure(
            f"first view: tree ({label})",
            round(tree, 1),
            "ms",
            baseline=round(blank + api, 1),
            target=f"<= {FIRST_VIEW_TARGET_MS:g} ms",
            met=tree <= FIRST_VIEW_TARGET_MS,
            higher_is_better=False,
        ),
        Figure(
            f"first view: executions ({label})",
            round(runs, 1),
            "ms",
            baseline=round(blank + page, 1),
            target=f"<= {FIRST_VIEW_TARGET_MS:g} ms",
            met=runs <= FIRST_VIEW_TARGET_MS,
            higher_is_better=False,
        ),
    ]


async def main() -> None:
    args = parser(__doc__ or "")
    args.add_argument("--quick", action="store_true", help="300 nodes, 300 executions")
    args.add_argument("--runs", type=int, default=5, help="fresh-context loads per view")
    options = args.parse_args()
    nodes, executions = (300, 300) if options.quick else (1000, 3000)
    label = f"{nodes:,} nodes, {executions:,} executions"
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SCENESTATE_")}
        env["SCENESTATE_DATA_DIR"] = str(Path(tmp) / "data")
        start = time.perf_counter()
        async with open_services(load_settings(env)) as services:
            token = await build(services, nodes, executions)
        print(f"built {label} in {time.perf_counter() - start:.0f} s")
        async with _server(env, Path(tmp) / "serve.log") as port:
            base = f"http://127.0.0.1:{port}"
            scene = f"/scenes/{SCENE}"
            api_ms = await asyncio.to_thread(api_times, base, token, options.runs, scene)
            page_ms = await asyncio.to_thread(api_times, base, token, options.runs, EXECUTIONS_PAGE)
            times = await asyncio.to_thread(browser_times, base, token, options.runs)
    report("inspector", figures(times, api_ms, page_ms, label), options.json)


if __name__ == "__main__":
    asyncio.run(main())
