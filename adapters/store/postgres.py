"""The production event store: PostgreSQL through asyncpg.

Global position, gap-free, without serialising writers
-----------------------------------------------------
A BIGSERIAL or any counter taken at insert time is not a safe position: two
transactions take 7 and 8, 8 commits first, a reader sees 8 and moves past 7 for
good (the projection bug Marten, Eventuous, Axon and SQLStreamStore all shipped).
Serialising writers fixes it at a price measured in DESIGN.md (14.8k -> 4k ev/s).
So here writers never wait for each other and positions are given after commit:

* An append is one autocommit `INSERT ... SELECT FROM unnest(...)` whose WHERE
  guard checks the stream head (one round trip, no BEGIN/COMMIT). Each row gets
  `id BIGSERIAL` and `position NULL`.
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
* Who runs passes: this store after its own appends (a coalescing background
  task, see `_sequencer`), and every reader (`read_all`, `subscribe`,
  `head_position`) once before it reads, so progress never depends on the
  writing process staying alive. Until its pass, an event has `position None`
  (`read_stream` may return such events; `AppendResult` positions are None here).

Trade-off: subscribers see an event one sequencing pass after its commit (a few
milliseconds), and every row is written twice: the pass's UPDATE (not HOT, since
position is indexed) leaves a dead tuple that autovacuum cleans up.

Payloads are stored as `text`, not `jsonb`: the store never looks inside them,
text keeps the bytes exactly as encoded, costs no parse on write and no
re-serialisation on read, and hands msgspec a str directly. Ad-hoc SQL can still
cast (`data::jsonb ->> 'node'`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from adapters.store._base import SqlEventStore, select_append, select_head_version
from adapters.store._listener import Listener
from adapters.store._rows import DEFAULT_MAX_EVENT_BYTES, EncodedEvent, encode_events
from adapters.store._sequencer import Sequencer
from adapters.store._url import check_schema_name
from engine.errors import ConcurrencyConflict, StoreError
from engine.events import NewEvent
from engine.ports import AppendResult, StreamId

# One statement: read the key's earlier append and the stream head, and only if the
# key is new and the head is the expected version, insert the events, the key's
# record and (first append of a stream) the stream's row. It returns one row saying
# what happened. Two writers racing for the same version (or key) both pass the
# guard; the unique index makes the second wait for the first and then fail, which
# `append` turns into a conflict (or the first append's result).
_APPEND = text(
    """
WITH earlier AS (
    SELECT scene, branch, first_version, last_version FROM appends
    WHERE idempotency_key = CAST(:key AS text)
), head AS (
    SELECT coalesce(max(version), 0) AS version FROM events
    WHERE scene = CAST(:scene AS text) AND branch = CAST(:branch AS text)
), go AS (
    SELECT 1 FROM head
    WHERE head.version = CAST(:expected AS bigint) AND NOT EXISTS (SELECT 1 FROM earlier)
), written AS (
    INSERT INTO events (scene, branch, version, event_id, type, schema_version,
                        data, metadata, studio, idempotency_key, recorded_at)
    SELECT CAST(:scene AS text), CAST(:branch AS text), CAST(:expected AS bigint) + e.n,
           e.event_id, e.type, e.schema_version, e.data, e.metadata, e.studio,
           CAST(:key AS text), e.recorded_at
    FROM unnest(CAST(:event_ids AS text[]), CAST(:types AS text[]),
                CAST(:schema_versions AS integer[]), CAST(:datas AS text[]),
                CAST(:metadatas AS text[]), CAST(:studios AS text[]),
                CAST(:recorded_ats AS timestamptz[]))
         WITH ORDINALITY AS e(event_id, type, schema_version, data, metadata, studio,
                              recorded_at, n)
    WHERE EXISTS (SELECT 1 FROM go)
    RETURNING 1
), recorded AS (
    INSERT INTO appends (idempotency_key, scene, branch, first_version, last_version)
    SELECT CAST(:key AS text), CAST(:scene AS text), CAST(:branch AS text),
           CAST(:expected AS bigint) + 1,
           CAST(:expected AS bigint) + cardinality(CAST(:event_ids AS text[]))
    WHERE CAST(:key AS text) IS NOT NULL AND EXISTS (SELECT 1 FROM go)
), stream_row AS (
    INSERT INTO streams (scene, branch, studio)
    SELECT DISTINCT CAST(:scene AS text), CAST(:branch AS text), s.studio
    FROM unnest(CAST(:studios AS text[])) AS s(studio)
    WHERE CAST(:expected AS bigint) = 0 AND EXISTS (SELECT 1 FROM go)
    ON CONFLICT DO NOTHING
)
SELECT (SELECT count(*) FROM written) AS written, head.version AS head,
       earlier.scene, earlier.branch, earlier.first_version, earlier.last_version
FROM head LEFT JOIN earlier ON true
"""
)


def create_postgres_engine(
    url: URL, schema: str | None, *, autocommit: bool, pool_size: int = 10
) -> AsyncEngine:
    """An asyncpg engine whose connections start with `search_path` set to `schema`.

    search_path is a connection setting sent at startup, so the store's queries,
    the migrations and the sequencer function all find the schema's tables with
    no per-query work. JIT is off: its compile time dwarfs these short queries.
    """
    settings = {"application_name": "scenestate", "jit": "off"}
    if schema is not None:
        settings["search_path"] = check_schema_name(schema)
    options: dict[str, Any] = {
        "pool_size": pool_size,
        "max_overflow": pool_size,
        "connect_args": {"server_settings": settings},
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
        pool_size: int = 10,
        sequencer_interval: float = 0.002,
    ) -> None:
        engine = create_postgres_engine(url, schema, autocommit=True, pool_size=pool_size)
        super().__init__(engine, max_event_bytes=max_event_bytes, poll_interval=poll_interval)
        self._sequencer = Sequencer(engine, self._wakeups.wake_all, interval=sequencer_interval)
        self._listener = Listener(url, self._wakeups.wake_all)

    @asynccontextmanager
    async def _writing(self) -> AsyncIterator[AsyncConnection]:
        # Autocommit: every statement in the block commits on its own.
        async with self._engine.connect() as conn:
            yield conn

    async def _before_global_read(self) -> None:
        await self._sequencer.sync()

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
        params = _append_params(stream, rows, expected_version, idempotency_key)
        try:
            async with self._engine.connect() as conn:
                written, head, *earlier = (await conn.execute(_APPEND, params)).one()
        except IntegrityError as exc:
            return await self._after_race(stream, expected_version, idempotency_key, exc)
        if earlier[0] is not None:
            scene, branch, first, last = earlier
            return AppendResult(scene, branch, first, last, duplicate=True)
        if written == 0:
            raise ConcurrencyConflict(str(stream), expected_version, head)
        self._sequencer.poke()
        return AppendResult(
            stream.scene, stream.branch, expected_version + 1, expected_version + len(rows)
        )

    async def _after_race(
        self,
        stream: StreamId,
        expected_version: int,
        idempotency_key: str | None,
        exc: IntegrityError,
    ) -> AppendResult:
        """A unique index refused the insert: say which race was lost, and to whom."""
        async with self._engine.connect() as conn:
            if idempotency_key is not None:
                earlier = await select_append(conn, idempotency_key)
                if earlier is not None:
                    return earlier
            head = await select_head_version(conn, stream)
        if head != expected_version:
            raise ConcurrencyConflict(str(stream), expected_version, head) from exc
        raise StoreError(f"append to {stream} refused: {exc.orig}") from exc

    async def close(self) -> None:
        await self._sequencer.close()
        await self._listener.close()
        await super().close()


def _append_params(
    stream: StreamId, rows: list[EncodedEvent], expected_version: int, key: str | None
) -> dict[str, Any]:
    columns = list(zip(*rows, strict=True))
    return {
        "key": key,
        "scene": stream.scene,
        "branch": stream.branch,
        "expected": expected_version,
        "event_ids": columns[0],
        "types": columns[1],
        "schema_versions": columns[2],
        "datas": columns[3],
        "metadatas": columns[4],
        "studios": columns[5],
        "recorded_ats": columns[6],
    }
