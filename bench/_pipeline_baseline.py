"""The raw baseline for `bench.pipeline`: the same traffic with no engine in between.

Task messages shaped and sized like the dispatcher's are published to a JetStream work
queue with plain nats-py; 2 consumer processes pull-fetch them in batches, publish one
result (shaped like a worker's) for each and ack it; the benchmark process pull-fetches
the results and writes them to a plain PostgreSQL table with one batched asyncpg insert
per fetch, as they arrive, acking them after the insert. What the engine adds on top (a
scene's event log, two results per task, an artifact file per task, one-message pulls
in priority order) is what the ratio measures.

Consumer process: python -m bench._pipeline_baseline '{"url": ..., "prefix": ..., "name": ...}'
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import sys
import time
import uuid

import asyncpg
import msgspec
import nats
import nats.errors
from nats.js import JetStreamContext
from nats.js import api as js_api

from engine.tasks import Lane, TaskMessage, TaskResult, TaskStatus

FETCH = 100  # messages per pull request
PUBLISH_WINDOW = 256  # publishes awaiting their stream confirmation at once
CONSUMER = "raw"


class Options(msgspec.Struct, frozen=True):
    url: str
    prefix: str
    name: str = "raw"


def tasks_subject(prefix: str) -> str:
    return f"{prefix}.raw.tasks"


def results_subject(prefix: str) -> str:
    return f"{prefix}.raw.results"


def streams(prefix: str) -> tuple[str, str]:
    return (f"{prefix}_raw_tasks", f"{prefix}_raw_results")


async def create_streams(js: JetStreamContext, prefix: str) -> None:
    for stream, subject in zip(
        streams(prefix), (tasks_subject(prefix), results_subject(prefix)), strict=True
    ):
        await js.add_stream(
            js_api.StreamConfig(
                name=stream,
                subjects=[subject],
                retention=js_api.RetentionPolicy.WORK_QUEUE,
                storage=js_api.StorageType.FILE,
            )
        )
        await js.add_consumer(
            stream,
            js_api.ConsumerConfig(
                durable_name=CONSUMER, ack_policy=js_api.AckPolicy.EXPLICIT, ack_wait=30
            ),
        )


async def delete_streams(js: JetStreamContext, prefix: str) -> None:
    for stream in streams(prefix):
        with contextlib.suppress(nats.errors.Error):
            await js.delete_stream(stream)


def task_messages(count: int) -> list[TaskMessage]:
    """Messages as the dispatcher sends for a `diagnose` intent of `count` echo tasks."""
    execution, nonce = uuid.uuid4().hex, uuid.uuid4().hex
    return [
        TaskMessage(
            task_id=uuid.uuid4().hex,
            attempt=1,
            execution_id=execution,
            scene="raw",
            branch="main",
            studio="bench",
            lane=Lane.INTERACTIVE,
            operation="echo",
            model="diagnostic",
            provider="diagnostic",
            content_key=hashlib.sha256(f"{nonce}/{n}".encode()).hexdigest(),
            params={"n": n, "nonce": nonce},
            description=f"diagnostic echo {n} of {count}",
            published_at=time.time(),
        )
        for n in range(1, count + 1)
    ]


def result_for(task: TaskMessage, worker: str) -> TaskResult:
    body = msgspec.json.encode({"params": task.params, "inputs": task.inputs})
    return TaskResult(
        task_id=task.task_id,
        attempt=task.attempt,
        execution_id=task.execution_id,
        scene=task.scene,
        branch=task.branch,
        status=TaskStatus.SUCCEEDED,
        artifact=hashlib.sha256(body).hexdigest(),
        worker=worker,
        studio=task.studio,
        operation=task.operation,
    )


async def publish_all(js: JetStreamContext, subject: str, bodies: list[tuple[str, bytes]]) -> None:
    """Publish (message id, body) pairs, PUBLISH_WINDOW at a time, each confirmed."""
    for start in range(0, len(bodies), PUBLISH_WINDOW):
        await asyncio.gather(
            *(
                js.publish(subject, body, headers={"Nats-Msg-Id": msg_id})
                for msg_id, body in bodies[start : start + PUBLISH_WINDOW]
            )
        )


async def consume(options: Options) -> None:
    """A consumer process: fetch tasks, publish a result for each, ack them, forever."""
    nc = await nats.connect(options.url)
    js = nc.jetstream()
    tasks_stream, _ = streams(options.prefix)
    sub = await js.pull_subscribe_bind(CONSUMER, tasks_stream)
    print("ready", flush=True)
    decode = msgspec.json.Decoder(TaskMessage).decode
    while True:
        try:
            batch = await sub.fetch(FETCH, timeout=1)
        except nats.errors.TimeoutError:
            continue
        results = [result_for(decode(msg.data), options.name) for msg in batch]
        await publish_all(
            js,
            results_subject(options.prefix),
            [(r.message_id, msgspec.json.encode(r)) for r in results],
        )
        for msg in batch:
            await msg.ack()


_INSERT = (
    "INSERT INTO raw_results (task_id, attempt, status, worker, artifact, body) "
    "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING"
)


async def collect(js: JetStreamContext, prefix: str, db: asyncpg.Connection, count: int) -> None:
    """Fetch results and insert each fetch with one executemany until `count` are in."""
    _, results_stream = streams(prefix)
    sub = await js.pull_subscribe_bind(CONSUMER, results_stream)
    decode = msgspec.json.Decoder(TaskResult).decode
    stored = 0
    while stored < count:
        try:
            batch = await sub.fetch(FETCH * 5, timeout=1)
        except nats.errors.TimeoutError:
            continue
        rows = []
        for msg in batch:
            r = decode(msg.data)
            rows.append((r.task_id, r.attempt, str(r.status), r.worker, r.artifact, msg.data))
        await db.executemany(_INSERT, rows)
        for msg in batch:
            await msg.ack()
        stored += len(rows)


async def create_table(db: asyncpg.Connection) -> None:
    await db.execute(
        "CREATE TABLE raw_results (task_id text PRIMARY KEY, attempt integer, status text,"
        " worker text, artifact text, body bytea)"
    )


async def raw_throughput(
    js: JetStreamContext, prefix: str, db: asyncpg.Connection, count: int
) -> float:
    """Tasks a second from the first publish to the last result row inserted; the
    consumer processes must be running."""
    messages = task_messages(count)
    bodies = [(m.message_id, msgspec.json.encode(m)) for m in messages]
    started = time.perf_counter()
    collector = asyncio.create_task(collect(js, prefix, db, count))
    await publish_all(js, tasks_subject(prefix), bodies)
    await collector
    return count / (time.perf_counter() - started)


if __name__ == "__main__":
    asyncio.run(consume(msgspec.json.decode(sys.argv[1], type=Options)))
