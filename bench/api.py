"""The HTTP API under load: intent POSTs from 100 concurrent clients, and 1,000 SSE
subscribers of one running execution.

The server is `scenestate serve` in its own process on loopback, with its embedded
workers, on PostgreSQL + NATS JetStream (a fresh database and JetStream prefix,
removed at the end) or, with --embedded, on SQLite and the in-process bus. Clients
are raw HTTP/1.1 connections in this process, so that measuring costs little CPU.

1. Intents: 100 clients, each on its own keep-alive connection and scene, POST
   `diagnose` intents (one echo task each, so every intent starts an execution that
   the embedded worker runs meanwhile). Paced: the clients together offer
   `PACED_RATE` intents/s, evenly spread; saturated: each sends back to back.
   Latency is from request written to answer read; throughput is intents answered
   per second when saturated. Baseline in the same run: the same clients GET
   /healthz the same way (uvicorn and routing, no key, no store).
2. Fan-out: an execution of chained sleep tasks starts; 1,000 subscribers open its
   SSE stream (`until=finished`) while it runs. Each counts what it received against
   the execution's full stream; lag is from an event's `recorded_at` to its arrival,
   over messages that arrived live. Baseline: the lag of the first subscriber to get
   each message.

Run: python -m bench.api [--json FILE] [--quick] [--embedded] [--postgres URL] [--nats URL]
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from adapters.bus import JetStreamTaskBus
from bench._report import Figure, parser, report
from bench.pipeline import DEFAULT_NATS, DEFAULT_POSTGRES, fresh_database

ADMIN_KEY = "bench-admin-key-0123456789"
CLIENTS = 100
PACED_RATE = 50.0  # intents/s offered by all clients together
P99_TARGET_MS = 25.0
LAG_TARGET_MS = 250.0


@dataclass(frozen=True)
class Plan:
    intents_per_client: int
    subscribers: int
    tasks: int
    task_seconds: float


FULL = Plan(intents_per_client=30, subscribers=1000, tasks=10, task_seconds=0.3)
QUICK = Plan(intents_per_client=5, subscribers=200, tasks=4, task_seconds=0.3)


class Connection:
    """One keep-alive HTTP/1.1 connection; answers must carry a Content-Length."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> Connection:
        return cls(*await asyncio.open_connection("127.0.0.1", port))

    async def request(
        self, method: str, path: str, headers: dict[str, str], body: bytes = b""
    ) -> tuple[int, bytes]:
        lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        lines.append(f"Content-Length: {len(body)}")
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        return status, await self.reader.readexactly(length)

    def close(self) -> None:
        self.writer.close()


def _json_headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


async def _call(port: int, method: str, path: str, token: str, body: Any = None) -> dict[str, Any]:
    connection = await Connection.open(port)
    try:
        raw = b"" if body is None else json.dumps(body).encode()
        status, answer = await connection.request(method, path, _json_headers(token), raw)
    finally:
        connection.close()
    if status >= 300:
        raise RuntimeError(f"{method} {path}: {status} {answer[:300]!r}")
    found: dict[str, Any] = json.loads(answer) if answer else {}
    return found


def _diagnose(count: int, operation: str, **params: Any) -> dict[str, Any]:
    action = {"name": "diagnose", "count": count, "operation": operation, **params}
    return {"kind": "structured_action", "action": action}


async def _client(
    port: int, token: str, scene: str, count: int, path: str | None, every: float, offset: float
) -> list[float]:
    """`count` requests on one connection, one every `every` seconds (0: back to back)
    from `offset` on; their latencies in seconds."""
    connection = await Connection.open(port)
    headers = _json_headers(token)
    body = json.dumps(_diagnose(1, "echo")).encode()
    took = []
    start = time.perf_counter() + offset
    try:
        for n in range(count):
            if every:
                await asyncio.sleep(max(0.0, start + n * every - time.perf_counter()))
            started = time.perf_counter()
            if path is None:
                status, _ = await connection.request(
                    "POST", f"/scenes/{scene}/intents", headers, body
                )
                assert status == 202, status
            else:
                status, _ = await connection.request("GET", path, {})
                assert status == 200, status
            took.append(time.perf_counter() - started)
    finally:
        connection.close()
    return took


async def _load(
    port: int, token: str, count: int, path: str | None, rate: float = 0.0
) -> tuple[list[float], float]:
    """(latencies, answers per second) of CLIENTS clients sending `count` requests each,
    all together `rate` a second (0: as fast as they are answered)."""
    every = CLIENTS / rate if rate else 0.0
    started = time.perf_counter()
    runs = await asyncio.gather(
        *(
            _client(port, token, f"bench-{n}", count, path, every, every * n / CLIENTS)
            for n in range(CLIENTS)
        )
    )
    wall = time.perf_counter() - started
    latencies = [t for run in runs for t in run]
    return latencies, len(latencies) / wall


@dataclass
class Subscriber:
    ids: list[int] = field(default_factory=list)
    lags: dict[int, float] = field(default_factory=dict)  # live messages only
    connected_at: float = 0.0


async def _subscribe(port: int, token: str, path: str, found: Subscriber) -> None:
    """Read an SSE stream (chunked) to its end, noting ids and live arrival lags."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\r\n".encode()
    )
    found.connected_at = time.time()
    head = await reader.readuntil(b"\r\n\r\n")
    if b" 200 " not in head.split(b"\r\n", 1)[0]:
        raise RuntimeError(f"subscribe: {head[:200]!r}")
    pending = b""
    try:
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip(), 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                return
            pending += chunk[:-2]
            *frames, pending = pending.split(b"\n\n")
            now = time.time()
            for frame in frames:
                _note(frame, found, now)
    finally:
        writer.close()


def _note(frame: bytes, found: Subscriber, now: float) -> None:
    fields = dict(line.split(": ", 1) for line in frame.decode().split("\n") if ": " in line)
    if "id" not in fields:
        return
    position = int(fields["id"])
    found.ids.append(position)
    recorded = datetime.fromisoformat(json.loads(fields["data"])["recorded_at"]).timestamp()
    if recorded >= found.connected_at:
        found.lags[position] = now - recorded


async def _fan_out(port: int, token: str, plan: Plan) -> tuple[list[Subscriber], list[int]]:
    await _call(port, "POST", "/scenes", token, {"id": "fanout"})
    work = _diagnose(plan.tasks, "sleep", params={"seconds": plan.task_seconds}, chain=True)
    accepted = await _call(port, "POST", "/scenes/fanout/intents", token, work)
    path = accepted["links"]["events"] + "&until=finished"
    subscribers = [Subscriber() for _ in range(plan.subscribers)]
    await asyncio.gather(*(_subscribe(port, token, path, s) for s in subscribers))
    everything = Subscriber()
    await _subscribe(port, token, path, everything)
    return subscribers, everything.ids


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


@contextlib.asynccontextmanager
async def _server(env: dict[str, str], log: Path, split: bool = False) -> AsyncIterator[int]:
    """`scenestate serve` with everything embedded, or (`split`) as in production: the
    API alone, with a `scenestate worker` and a `scenestate projections run` process."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    scenestate = str(Path(sys.executable).parent / "scenestate")
    serve = [scenestate, "serve", "--port", str(port)]
    serve += ["--no-workers", "--no-projections"] if split else ["--workers", "2"]
    with log.open("wb") as sink:
        process = await asyncio.create_subprocess_exec(*serve, env=env, stderr=sink)
        helpers = []
        if split:
            for command in (["worker", "--concurrency", "4"], ["projections", "run"]):
                helpers.append(
                    await asyncio.create_subprocess_exec(
                        scenestate, *command, env=env, stderr=sink, stdout=sink
                    )
                )
    try:
        async with asyncio.timeout(60):
            while True:
                if process.returncode is not None:
                    raise RuntimeError(f"scenestate serve exited; see {log}")
                with contextlib.suppress(OSError):
                    connection = await Connection.open(port)
                    status, _ = await connection.request("GET", "/healthz", {})
                    connection.close()
                    if status == 200:
                        break
                await asyncio.sleep(0.2)
        yield port
    finally:
        for running in (process, *helpers):
            running.terminate()
        for running in (process, *helpers):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(running.wait(), 30)


async def _measure(env: dict[str, str], plan: Plan, tmp: Path, split: bool = False) -> list[Figure]:
    async with _server(env, tmp / "serve.log", split) as port:
        await _call(port, "POST", "/studios", ADMIN_KEY, {"id": "bench"})
        key = {"name": "bench", "rate_per_second": 0}
        token = (await _call(port, "POST", "/studios/bench/keys", ADMIN_KEY, key))["token"]
        for n in range(CLIENTS):
            await _call(port, "POST", "/scenes", token, {"id": f"bench-{n}"})
        await _load(port, token, 2, None)  # warm up
        count = plan.intents_per_client
        paced_floor, _ = await _load(port, token, count, "/healthz", PACED_RATE)
        paced, _ = await _load(port, token, count, None, PACED_RATE)
        floor, floor_rate = await _load(port, token, count, "/healthz")
        posts, rate = await _load(port, token, count, None)
        print(f"{len(posts)} intents at {rate:,.0f}/s; healthz {floor_rate:,.0f}/s")
        subscribers, expected = await _fan_out(port, token, plan)
    intents = Intents(paced, paced_floor, posts, rate, floor, floor_rate)
    return _figures(plan, intents, subscribers, expected)


@dataclass
class Intents:
    paced: list[float]
    paced_floor: list[float]
    saturated: list[float]
    rate: float
    floor: list[float]
    floor_rate: float


def _latency(name: str, took: list[float], floor: list[float]) -> list[Figure]:
    p99 = _percentile(took, 0.99) * 1000
    return [
        Figure(f"{name} p50", _percentile(took, 0.5) * 1000, "ms",
               baseline=_percentile(floor, 0.5) * 1000, higher_is_better=False),
        Figure(f"{name} p99", p99, "ms", baseline=_percentile(floor, 0.99) * 1000,
               target=f"<= {P99_TARGET_MS:g} ms", met=p99 <= P99_TARGET_MS,
               higher_is_better=False),
    ]  # fmt: skip


def _figures(
    plan: Plan, intents: Intents, subscribers: list[Subscriber], expected: list[int]
) -> list[Figure]:
    complete = sum(1 for s in subscribers if s.ids == expected)
    lags = [lag for s in subscribers for lag in s.lags.values()]
    first: dict[int, float] = {}
    for s in subscribers:
        for position, lag in s.lags.items():
            first[position] = min(lag, first.get(position, lag))
    lag99 = _percentile(lags, 0.99) * 1000 if lags else float("inf")
    who = f"{CLIENTS} clients"
    figures = [
        *_latency(f"intent POST, {who} at {PACED_RATE:g}/s", intents.paced, intents.paced_floor),
        *_latency(f"intent POST, {who} back to back", intents.saturated, intents.floor),
        Figure(f"intent POST throughput, {who}", intents.rate, "intents/s",
               baseline=intents.floor_rate),
        Figure(f"SSE subscribers that received all {len(expected)} updates",
               complete, "subscribers", target=f"= {plan.subscribers}",
               met=complete == plan.subscribers),
        Figure(f"SSE fan-out lag p50, {plan.subscribers} subscribers",
               statistics.median(lags) * 1000 if lags else float("inf"), "ms",
               baseline=statistics.median(first.values()) * 1000 if first else None,
               higher_is_better=False),
        Figure(f"SSE fan-out lag p99, {plan.subscribers} subscribers", lag99, "ms",
               baseline=_percentile(list(first.values()), 0.99) * 1000 if first else None,
               target=f"<= {LAG_TARGET_MS:g} ms", met=lag99 <= LAG_TARGET_MS,
               higher_is_better=False),
    ]  # fmt: skip
    return figures


async def main() -> None:
    args = parser(__doc__ or "")
    args.add_argument("--quick", action="store_true", help="500 intents, 200 subscribers")
    args.add_argument("--embedded", action="store_true", help="SQLite and the in-process bus")
    args.add_argument("--postgres", default=DEFAULT_POSTGRES, help="PostgreSQL server URL")
    args.add_argument("--nats", default=DEFAULT_NATS, help="NATS JetStream server URL")
    args.add_argument(
        "--split",
        action="store_true",
        help="as deployed: `serve --no-workers --no-projections`, a worker and a projections "
        "process (PostgreSQL + NATS only)",
    )
    options = args.parse_args()
    plan = QUICK if options.quick else FULL
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCENESTATE_")}
    env["SCENESTATE_ADMIN_KEY"] = ADMIN_KEY
    with tempfile.TemporaryDirectory() as tmp:
        env["SCENESTATE_DATA_DIR"] = str(Path(tmp) / "data")
        if options.embedded:
            figures = await _measure(env, plan, Path(tmp))
            where = "sqlite, in-process bus"
        else:
            prefix = f"bench_{uuid.uuid4().hex[:10]}"
            env.update(SCENESTATE_NATS_URL=options.nats, SCENESTATE_BUS_PREFIX=prefix)
            try:
                async with fresh_database(options.postgres) as database:
                    env["SCENESTATE_DATABASE_URL"] = database
                    figures = await _measure(env, plan, Path(tmp), options.split)
            finally:
                await JetStreamTaskBus(options.nats, prefix=prefix).close(delete=True)
            where = "postgresql+jetstream" + (", split processes" if options.split else "")
    for figure in figures:
        figure.name += f" ({where})"
    report("api", figures, options.json)


if __name__ == "__main__":
    asyncio.run(main())
