"""The production event store: PostgreSQL through asyncpg.

Global position, gap-free, without serialising writers
-----------------------------------------------------
A BIGSERIAL or any counter taken at insert time is not a safe position: two
transactions take 7 and 8, 8 commits first, a reader sees 8 and moves past 7 for
good (the projection bug Marten, Eventuous, Axon and SQLStreamStore all shipped).
Serialising writers fixes it at a price measured in DESIGN.md (14.8k -> 4k ev/s).
So here writers never wait for each other and positions are given after commit:

* An append is one autocommit INSERT whose WHERE guard checks the stream head (one
  round trip, no BEGIN/COMMIT). Each row gets `id BIGSERIAL` and `position NULL`.
* The sequencer (`sequence_events()`, a PL/pgSQL function created by the
  migration, so a pass is one round trip) takes `pg_try_advisory_xact_lock`
  so only one pass runs at a time per events table, then numbers the rows it
  can see `WHERE position IS NULL`, in id order, as max(position)+1, +2, ...
  (up to 10,000 per pass), and sends one `NOTIFY scenestate_events, '<max>'`
  from its own transaction. A pass sees only committed rows; a row that commits
  later is numbered by a later pass, above every number given before it. Passes
  run one at a time and each commits before the next starts, so any reader's
  snapshot that sees a pass's numbers also sees every earlier pass's. Positions
  are therefore dense and ever increasing, and a reader of `position > P ORDER
  BY position` never skips an event (a late committer is simply numbered later).
  (DESIGN.md lists a transaction-id horizon; numbering after commit makes it
  unnecessary, and without it a long transaction elsewhere in the cluster cannot
  hold numbering back.)
* Who runs passes: this store after its own appends (a background task that runs
  at most one pass per `sequencer_interval`, 5 ms, so a steady flow of appends is
  numbered by one pass per interval rather than one per append; see
  `_sequencer`), and every reader (`read_all`, `subscribe`, `head_position`) once
  before it reads, so progress never depends on the writing process staying
  alive. Until its pass, an event has `position None` (`read_stream` may return
  such events; `AppendResult` positions are None here).

Trade-off: subscribers see an event one sequencing pass after its commit (a few
milliseconds), and every row is written twice: the pass's UPDATE (not HOT, since
position is indexed) leaves a dead tuple, and in the partial index of unsequenced
rows a dead entry that every pass steps over until (auto)vacuum removes it.

The write path
--------------
Reads go through SQLAlchemy Core (`_base`), the project's choice; appends and the
sequencer's passes go straight to asyncpg, on connections of their own
(`_pg_connections`), as prepared statements with generic plans that never scan
the table (`write_session_settings` says why: a plan made while the table was
small once read all of it at every append for the connection's life). Measured on a
2-core machine, one writer appending one event at a time: SQLAlchemy's checkout,
statement handling and per-call planning of the one-statement append cost ~1.5 ms
of client CPU per append, and the store reached 0.1-0.3x of a plain INSERT.
The common append (no idempotency key) is a short guarded INSERT, and concurrent
appends share statements (`_pg_group_commit`), a stream's first append among them;
appends with a key take `_APPEND` below. A lone
writer now reaches 0.5-0.65x of a plain INSERT on that machine (what is left is
mostly the pass's second write of every row), 16 writers 0.7-0.85x.

Payloads are stored as `text`, not `jsonb`: the store never looks inside them,
text keeps the bytes exactly as encoded, costs no parse on write and no
re-serialisation on read, and hands msgspec a str directly. Ad-hoc SQL can still
cast (`data::jsonb ->> 'node'`).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from functools import partial
from typing import Any

import asyncpg
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from adapters.store._base import (
    STREAM_READ_BATCH,
    SqlEventStore,
    select_append,
    select_head_version,
)
from adapters.store._listener import Listener
from adapters.store._pg_connections import WriteConnections
from adapters.store._pg_group_commit import EVENT_COLUMNS, GroupCommit
from adapters.store._rows import DEFAULT_MAX_EVENT_BYTES, EncodedEvent, decode_rows, encode_events
from adapters.store._sequencer import Sequencer
from adapters.store._snapshot_pruning import prune_snapshots
from adapters.store._tables import snapshots
from adapters.store._url import check_schema_name
from engine.errors import ConcurrencyConflict, StoreError
from engine.events import NewEvent, RecordedEvent
from engine.planning import CachedWork
from engine.ports import AppendResult, StoredSnapshot, StreamId

# Connections for writes, and as many for reads unless told, per store; past that,
# callers queue. A process's wiring passes its share of `ConnectionBudget` instead.
DEFAULT_POOL_SIZE = 20

# Any append, in one statement: read the key's earlier append and the stream head,
# and only if the key is new and the head is the expected version, insert the
# events, the key's record and (first append of a stream) the stream's row. It
# returns one row saying what happened. Parameters: the stream, the expected
# version, the events column by column (EncodedEvent's field order), the key.
_APPEND = f"""
WITH earlier AS (
    SELECT scene, branch, first_version, last_version FROM appends
    WHERE idempotency_key = $11::text
), head AS (
    SELECT coalesce(max(version), 0) AS version FROM events
    WHERE scene = $1::text AND branch = $2::text
), go AS (
    SELECT 1 FROM head
    WHERE head.version = $3::bigint AND NOT EXISTS (SELECT 1 FROM earlier)
), written AS (
    INSERT INTO events ({EVENT_COLUMNS}, idempotency_key)
    SELECT $1::text, $2::text, $3::bigint + e.n, e.event_id, e.type, e.schema_version,
           e.data, e.metadata, e.studio, e.recorded_at, $11::text
    FROM unnest($4::text[], $5::text[], $6::integer[], $7::text[], $8::text[], $9::text[],
                $10::timestamptz[])
         WITH ORDINALITY AS e(event_id, type, schema_version, data, metadata, studio,
                              recorded_at, n)
    WHERE EXISTS (SELECT 1 FROM go)
    RETURNING 1
), recorded AS (
    INSERT INTO appends (idempotency_key, scene, branch, first_version, last_version)
    SELECT $11::text, $1::text, $2::text, $3::bigint + 1,
           $3::bigint + cardinality($4::text[])
    WHERE $11::text IS NOT NULL AND EXISTS (SELECT 1 FROM go)
), stream_row AS (
    INSERT INTO streams (scene, branch, studio)
    SELECT DISTINCT $1::text, $2::text, s.studio FROM unnest($9::text[]) AS s(studio)
    WHERE $3::bigint = 0 AND EXISTS (SELECT 1 FROM go)
    ON CONFLICT DO NOTHING
)
SELECT (SELECT count(*) FROM written) AS written, head.version AS head,
       earlier.scene, earlier.branch, earlier.first_version, earlier.last_version
FROM head LEFT JOIN earlier ON true
"""


_READ_ALL = """
SELECT event_id, scene, branch, version, position, recorded_at, metadata, type,
       schema_version, data
FROM events WHERE position > $1::bigint ORDER BY position LIMIT $2::integer
"""
_READ_STREAM = """
SELECT event_id, scene, branch, version, position, recorded_at, metadata, type,
       schema_version, data
FROM events
WHERE scene = $1::text AND branch = $2::text AND version > $3::bigint AND version <= $4::bigint
ORDER BY version LIMIT $5::integer
"""
_NO_LIMIT = 2**63 - 1
_FIND_WORK = """
SELECT content_key, artifact, task FROM work_cache
WHERE studio = $1::text AND content_key = ANY($2::text[])
"""
_REMEMBER_WORK = """
INSERT INTO work_cache (studio, content_key, artifact, task)
SELECT $1::text, w.content_key, w.artifact, w.task
FROM unnest($2::text[], $3::text[], $4::text[]) AS w(content_key, artifact, task)
ON CONFLICT DO NOTHING
"""
_SAVE_CHECKPOINT = """
INSERT INTO checkpoints (name, position) VALUES ($1::text, $2::bigint)
ON CONFLICT (name) DO UPDATE SET position = excluded.position
"""


APPLICATION_NAME = "scenestate"


def application_name(schema: str | None) -> str:
    """How the store's connections name themselves in `pg_stat_activity`: with the
    schema, when there is one, so an operator (or a test) can tell whose they are."""
    return APPLICATION_NAME if schema is None else f"{APPLICATION_NAME}:{schema}"


def session_settings(schema: str | None) -> dict[str, str]:
    """What every store connection starts with: `search_path` set to `schema`, so the
    store's queries, the migrations and the sequencer function find the schema's
    tables with no per-query work; and JIT off, whose compile time dwarfs these short
    queries."""
    settings = {"application_name": application_name(schema), "jit": "off"}
    if schema is not None:
        settings["search_path"] = check_schema_name(schema)
    return settings


def write_session_settings(schema: str | None) -> dict[str, str]:
    """`session_settings`, for the connections that append and sequence.

    Their statements run with generic plans, made once per connection at a
    statement's first run and kept for the connection's life: planning the guarded
    append afresh cost more than running it. A generic plan is costed on the table
    as it is when it is made, so a connection that first appends while `events` is
    small (a new deployment; a table never analyzed, or analyzed while empty) was
    planned a sequential scan for the version check and the sequencer's searches,
    and read the whole, ever growing table at every append (54-86 M rows read in
    one 40k-event run). Every statement on these connections is answered from an
    index by design (the stream's versions, the unsequenced rows, positions, keys),
    so sequential scans are ruled out here: the plans are then the same whatever
    the table's size when they were made.
    """
    return session_settings(schema) | {
        "plan_cache_mode": "force_generic_plan",
        "enable_seqscan": "off",
    }


def create_postgres_engine(
    url: URL, schema: str | None, *, autocommit: bool, pool_size: int = DEFAULT_POOL_SIZE
) -> AsyncEngine:
    """An asyncpg engine of at most `pool_size` connections, each with `session_settings`.

    No overflow: past `pool_size` a caller waits for a connection rather than opening
    one that is closed again as soon as it is returned.
    """
    options: dict[str, Any] = {
        "pool_size": pool_size,
        "max_overflow": 0,
        "connect_args": {"server_settings": session_settings(schema)},
    }
    if autocommit:
        options["isolation_level"] = "AUTOCOMMIT"
    return create_async_engine(url, **options)


class PostgresEventStore(SqlEventStore):
    """`engine.ports.EventStore` on PostgreSQL; positions come from the sequencer."""

    def __init__(
        self,
        url: URL,
        *,
        schema: str | None = None,
        max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES,
        poll_interval: float = 0.2,
        pool_size: int = DEFAULT_POOL_SIZE,
        read_pool_size: int | None = None,
        sequencer_interval: float = 0.005,
    ) -> None:
        reads = pool_size if read_pool_size is None else read_pool_size
        database = create_postgres_engine(url, schema, autocommit=True, pool_size=reads)
        super().__init__(database, max_event_bytes=max_event_bytes, poll_interval=poll_interval)
        self._announced = 0  # the last position a wake-up of subscribers announced
        self._listener = Listener(url, self._news, session_settings(schema))
        # Appends run on asyncpg connections of their own, with generic plans.
        connect = partial(
            asyncpg.connect,
            **url.translate_connect_args(username="user"),
            server_settings=write_session_settings(schema),
        )
        self._connections = WriteConnections(connect, pool_size)
        self._group_commit = GroupCommit(self._connections)
        self._sequencer = Sequencer(self._connections, self._news, interval=sequencer_interval)

    def _news(self, last_position: int | None) -> None:
        """Wake the subscribers for a pass that numbered up to `last_position` (None:
        unknown), once: this store's own passes are announced both by the pass and
        by their NOTIFY, whichever comes first."""
        if last_position is not None:
            if last_position <= self._announced:
                return
            self._announced = last_position
        self._wakeups.wake_all()

    async def _before_global_read(self) -> None:
        await self._sequencer.sync()

    # The hot reads and the checkpoint write run as prepared statements on the raw
    # asyncpg connections, as appends do: building and compiling a SQLAlchemy
    # statement cost more CPU than the round trip (every subscriber reads the log at
    # every wake-up, and the API serves an intent with a handful of such calls).

    async def read_all(self, after_position: int, limit: int = 1000) -> list[RecordedEvent]:
        if limit < 1:
            raise ValueError("limit must be positive")
        await self._before_global_read()
        return await self._read_sequenced(after_position, limit)

    async def read_stream(
        self, stream: StreamId, after_version: int = 0, up_to_version: int | None = None
    ) -> list[RecordedEvent]:
        up_to = _NO_LIMIT if up_to_version is None else up_to_version
        found: list[RecordedEvent] = []
        async with self._connections.connection() as conn:
            while True:
                rows = await conn.fetch(
                    _READ_STREAM, stream.scene, stream.branch, after_version, up_to,
                    STREAM_READ_BATCH,
                )  # fmt: skip
                found.extend(decode_rows(rows))
                if len(rows) < STREAM_READ_BATCH:
                    return found
                after_version = rows[-1][3]

    async def _read_news(self, after_position: int, limit: int, woken: bool) -> list[RecordedEvent]:
        # Wake-ups come only from finished passes (this store's, or another process's
        # by NOTIFY): what they numbered is readable now, and a later commit wakes the
        # subscriber again, so it runs no pass of its own, which would cost every
        # subscriber a round trip and the server a commit at every wake-up. A poll
        # that no wake-up preceded runs one: progress never depends on the writer.
        if not woken:
            return await self.read_all(after_position, limit)
        return await self._read_sequenced(after_position, limit)

    async def _read_sequenced(self, after_position: int, limit: int) -> list[RecordedEvent]:
        async with self._connections.connection() as conn:
            rows = await conn.fetch(_READ_ALL, after_position, limit)
        return decode_rows(rows)

    async def find_work(self, studio: str, keys: Collection[str]) -> dict[str, CachedWork]:
        if not keys:
            return {}
        async with self._connections.connection() as conn:
            rows = await conn.fetch(_FIND_WORK, studio, list(keys))
        return {key: CachedWork(artifact, task) for key, artifact, task in rows}

    async def _listen(self) -> None:
        await self._listener.ensure()

    async def append(
        self,
        stream: StreamId,
        events: Sequence[NewEvent],
        expected_version: int,
        idempotency_key: str | None = None,
    ) -> AppendResult:
        rows = encode_events(events, self._max_event_bytes)
        earlier: AppendResult | None = None
        try:
            if idempotency_key is None:
                if not await self._group_commit.append(stream, expected_version, rows):
                    head = await self.head_version(stream)
                    raise ConcurrencyConflict(str(stream), expected_version, head)
            else:
                async with self._connections.connection() as conn:
                    earlier = await _append(conn, stream, expected_version, rows, idempotency_key)
        except asyncpg.UniqueViolationError as exc:
            return await self._after_race(stream, expected_version, idempotency_key, exc)
        if earlier is not None:
            return earlier
        self._sequencer.poke()
        return AppendResult(
            stream.scene, stream.branch, expected_version + 1, expected_version + len(rows)
        )

    async def _after_race(
        self,
        stream: StreamId,
        expected_version: int,
        idempotency_key: str | None,
        exc: asyncpg.UniqueViolationError,
    ) -> AppendResult:
        """A unique index refused the insert: say which race was lost, and to whom."""
        async with self._database.connect() as conn:
            if idempotency_key is not None:
                earlier = await select_append(conn, idempotency_key)
                if earlier is not None:
                    return earlier
            head = await select_head_version(conn, stream)
        if head != expected_version:
            raise ConcurrencyConflict(str(stream), expected_version, head) from exc
        raise StoreError(f"append to {stream} refused: {exc}") from exc

    async def save_snapshot(self, snapshot: StoredSnapshot) -> None:
        values = {"schema": snapshot.schema, "data": snapshot.data}
        statement = insert(snapshots).values(
            scene=snapshot.scene, branch=snapshot.branch, version=snapshot.version, **values
        )
        # Saving the same version again (a newer schema) replaces that one snapshot.
        upsert = statement.on_conflict_do_update(
            index_elements=["scene", "branch", "version"], set_=values
        )
        async with self._database.connect() as conn:
            await conn.execute(upsert)

    async def prune_snapshots(self, stream: StreamId, keep: int) -> None:
        async with self._database.connect() as conn:
            await conn.execute(prune_snapshots(stream, keep))

    async def save_checkpoint(self, name: str, position: int) -> None:
        async with self._connections.connection() as conn:
            await conn.execute(_SAVE_CHECKPOINT, name, position)

    async def remember_work(self, studio: str, works: Mapping[str, CachedWork]) -> None:
        if not works:
            return
        keys = list(works)
        artifacts = [works[key].artifact for key in keys]
        tasks = [works[key].task for key in keys]
        async with self._connections.connection() as conn:
            await conn.execute(_REMEMBER_WORK, studio, keys, artifacts, tasks)

    async def close(self) -> None:
        await self._sequencer.close()
        await self._listener.close()
        await self._connections.close()
        await super().close()


async def _append(
    conn: asyncpg.Connection,
    stream: StreamId,
    expected_version: int,
    rows: list[EncodedEvent],
    idempotency_key: str | None,
) -> AppendResult | None:
    """The general statement: None when the events were written, the first append's
    result when the key was used before."""
    columns = zip(*rows, strict=True)
    row = await conn.fetchrow(
        _APPEND, stream.scene, stream.branch, expected_version, *columns, idempotency_key
    )
    written, head, *earlier = row
    if earlier[0] is not None:
        scene, branch, first, last = earlier
        return AppendResult(scene, branch, first, last, duplicate=True)
    if written == 0:
        raise ConcurrencyConflict(str(stream), expected_version, head)
    return None
