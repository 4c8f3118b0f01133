"""Many editors on one scene: 50 clients edit different nodes of one scene through one
`scenestate serve`, against the same 50 clients each editing a scene of their own.

Each client owns one shot and sets its title over and over, back to back, on its own
keep-alive connection. No edit contradicts another, so none should be refused: the
figures are the share of answers that were 409 (target 0) and the throughput of the
one-scene run against the 50-scene run (target >= 0.5).

Run: python -m bench.editors [--json FILE] [--quick] [--embedded] [--postgres URL] [--nats URL]
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

from adapters.bus import JetStreamTaskBus
from bench._report import Figure, parser, report
from bench.api import ADMIN_KEY, Connection, _call, _json_headers, _server
from bench.pipeline import DEFAULT_NATS, DEFAULT_POSTGRES, fresh_database

CLIENTS = 50
THROUGHPUT_TARGET = 0.5


async def _editor(port: int, token: str, scene: str, shot: str, edits: int) -> Counter[int]:
    connection = await Connection.open(port)
    headers = _json_headers(token)
    answers: Counter[int] = Counter()
    try:
        for n in range(edits):
            edit = {"kind": "direct_edit", "node": shot, "prop": "title", "value": f"take {n}"}
            status, _ = await connection.request(
                "POST", f"/scenes/{scene}/intents", headers, json.dumps(edit).encode()
            )
            answers[status] += 1
    finally:
        connection.close()
    return answers


async def _add_shot(port: int, token: str, scene: str, shot: str) -> None:
    action = {"name": "add_node", "kind": "shot", "node": shot}
    await _call(port, "POST", f"/scenes/{scene}/intents", token, {
        "kind": "structured_action", "action": action,
    })  # fmt: skip


async def _run(port: int, token: str, scenes: list[str], edits: int) -> tuple[Counter[int], float]:
    """All clients at once; client n edits shot n of scenes[n % len(scenes)]."""
    started = time.perf_counter()
    runs = await asyncio.gather(
        *(_editor(port, token, scenes[n % len(scenes)], f"shot-{n}", edits) for n in range(CLIENTS))
    )
    wall = time.perf_counter() - started
    total: Counter[int] = Counter()
    for answers in runs:
        total.update(answers)
    return total, sum(total.values()) / wall


async def _measure(env: dict[str, str], edits: int, tmp: Path) -> list[Figure]:
    async with _server(env, tmp / "serve.log") as port:
        await _call(port, "POST", "/studios", ADMIN_KEY, {"id": "bench"})
        key = {"name": "bench", "rate_per_second": 0}
        token = (await _call(port, "POST", "/studios/bench/keys", ADMIN_KEY, key))["token"]
        one, many = "together", [f"apart-{n}" for n in range(CLIENTS)]
        for scene in [one, *many]:
            await _call(port, "POST", "/scenes", token, {"id": scene})
        for n in range(CLIENTS):
            await _add_shot(port, token, one, f"shot-{n}")
            await _add_shot(port, token, many[n], f"shot-{n}")
        await _run(port, token, many, 2)  # warm up
        apart, apart_rate = await _run(port, token, many, edits)
        together, together_rate = await _run(port, token, [one], edits)
    print(f"one scene: {dict(together)} at {together_rate:,.0f}/s; "
          f"{CLIENTS} scenes: {dict(apart)} at {apart_rate:,.0f}/s")  # fmt: skip
    refused = together[409] / max(sum(together.values()), 1)
    return [
        Figure(f"409s, {CLIENTS} editors on one scene", refused * 100, "%",
               target="== 0 %", met=together[409] == 0),
        Figure(f"edits/s, {CLIENTS} editors on one scene", together_rate, "intents/s",
               baseline=apart_rate, target=f">= {THROUGHPUT_TARGET}",
               met=together_rate >= THROUGHPUT_TARGET * apart_rate),
        Figure(f"other answers than 202, {CLIENTS} scenes", float(sum(
            count for status, count in apart.items() if status != 202)), "answers",
               target="== 0", met=set(apart) == {202}),
    ]  # fmt: skip


async def main() -> None:
    args = parser(__doc__ or "")
    args.add_argument("--quick", action="store_true", help="10 edits per client, not 40")
    args.add_argument("--embedded", action="store_true", help="SQLite and the in-process bus")
    args.add_argument("--postgres", default=DEFAULT_POSTGRES, help="PostgreSQL server URL")
    args.add_argument("--nats", default=DEFAULT_NATS, help="NATS JetStream server URL")
    options = args.parse_args()
    edits = 10 if options.quick else 40
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCENESTATE_")}
    env["SCENESTATE_ADMIN_KEY"] = ADMIN_KEY
    with tempfile.TemporaryDirectory() as tmp:
        env["SCENESTATE_DATA_DIR"] = str(Path(tmp) / "data")
        if options.embedded:
            figures = await _measure(env, edits, Path(tmp))
            where = "sqlite, in-process bus"
        else:
            prefix = f"bench_{uuid.uuid4().hex[:10]}"
            env.update(SCENESTATE_NATS_URL=options.nats, SCENESTATE_BUS_PREFIX=prefix)
            try:
                async with fresh_database(options.postgres) as database:
                    env["SCENESTATE_DATABASE_URL"] = database
                    figures = await _measure(env, edits, Path(tmp))
            finally:
                await JetStreamTaskBus(options.nats, prefix=prefix).close(delete=True)
            where = "postgresql+jetstream"
    for figure in figures:
        figure.name += f" ({where})"
    report("editors", figures, options.json)


if __name__ == "__main__":
    asyncio.run(main())
