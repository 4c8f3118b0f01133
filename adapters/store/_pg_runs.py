"""PostgreSQL's `append_runs`: several intents' runs of events appended to one stream in
one statement, each under its own key, as `postgres._APPEND` appends one.

The statement reads every run's key and the stream head; only if no key was used and
the head is the expected version does it insert all events (in run order, events of a
run in version order, so the sequencer numbers them in that order), one `appends` row
per key with that run's versions, and (a stream's first append) the stream's row.
Every lookup is one descent of an index (the keys' primary key, the stream's
(scene, branch, version)), so its generic plan does not depend on the table's size
when the connection made it (see `postgres.write_session_settings`).
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from adapters.store._pg_group_commit import EVENT_COLUMNS
from adapters.store._rows import EncodedEvent
from engine.errors import ConcurrencyConflict, KeysUsed
from engine.ports import StreamId

# Parameters: the stream, the expected version, the events column by column
# (EncodedEvent's field order) with each event's run key, then per run: its key and
# the offsets of its first and last event from the expected version.
_APPEND_RUNS = f"""
WITH earlier AS (
    SELECT idempotency_key FROM appends WHERE idempotency_key = ANY($12::text[])
), head AS (
    SELECT coalesce(max(version), 0) AS version FROM events
    WHERE scene = $1::text AND branch = $2::text
), go AS (
    SELECT 1 FROM head
    WHERE head.version = $3::bigint AND NOT EXISTS (SELECT 1 FROM earlier)
), written AS (
    INSERT INTO events ({EVENT_COLUMNS}, idempotency_key)
    SELECT $1::text, $2::text, $3::bigint + e.n, e.event_id, e.type, e.schema_version,
           e.data, e.metadata, e.studio, e.recorded_at, e.key
    FROM unnest($4::text[], $5::text[], $6::integer[], $7::text[], $8::text[], $9::text[],
                $10::timestamptz[], $11::text[])
         WITH ORDINALITY AS e(event_id, type, schema_version, data, metadata, studio,
                              recorded_at, key, n)
    WHERE EXISTS (SELECT 1 FROM go)
    ORDER BY e.n
    RETURNING 1
), recorded AS (
    INSERT INTO appends (idempotency_key, scene, branch, first_version, last_version)
    SELECT r.key, $1::text, $2::text, $3::bigint + r.first, $3::bigint + r.last
    FROM unnest($12::text[], $13::bigint[], $14::bigint[]) AS r(key, first, last)
    WHERE EXISTS (SELECT 1 FROM go)
), stream_row AS (
    INSERT INTO streams (scene, branch, studio)
    SELECT DISTINCT $1::text, $2::text, s.studio FROM unnest($9::text[]) AS s(studio)
    WHERE $3::bigint = 0 AND EXISTS (SELECT 1 FROM go)
    ON CONFLICT DO NOTHING
)
SELECT (SELECT count(*) FROM written) AS written, head.version AS head,
       (SELECT array_agg(idempotency_key ORDER BY idempotency_key) FROM earlier) AS used
FROM head
"""

_USED_KEYS = "SELECT idempotency_key FROM appends WHERE idempotency_key = ANY($1::text[])"


async def append_runs(
    conn: asyncpg.Connection,
    stream: StreamId,
    expected_version: int,
    runs: Sequence[tuple[str, list[EncodedEvent]]],
) -> None:
    """Write every run, or raise KeysUsed / ConcurrencyConflict having written nothing.

    Raises asyncpg.UniqueViolationError when a unique index refused a row (a race with
    another process: `refused_runs` says which)."""
    keys, firsts, lasts = [], [], []
    event_keys: list[str] = []
    rows: list[EncodedEvent] = []
    for key, events in runs:
        keys.append(key)
        firsts.append(len(rows) + 1)
        rows.extend(events)
        lasts.append(len(rows))
        event_keys.extend([key] * len(events))
    columns = zip(*rows, strict=True)
    written, head, used = await conn.fetchrow(
        _APPEND_RUNS,
        stream.scene,
        stream.branch,
        expected_version,
        *columns,
        event_keys,
        keys,
        firsts,
        lasts,
    )
    if used:
        raise KeysUsed(used)
    if written == 0:
        raise ConcurrencyConflict(str(stream), expected_version, head)


async def used_keys(conn: asyncpg.Connection, keys: Sequence[str]) -> list[str]:
    """Which of `keys` an append has recorded."""
    return sorted(key for (key,) in await conn.fetch(_USED_KEYS, list(keys)))
