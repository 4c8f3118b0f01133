"""Group commit for PostgreSQL appends: concurrent appends of a process share statements.

Each append is one autocommit INSERT whose guard checks the stream head, so what
it costs is mostly per statement, not per event: the message, the executor start,
the commit and its WAL flush, and on the client the round trip. With 16 writers in
one process, one statement per append spent ~1.5x the CPU per event (client and
server together) of a plain INSERT; grouped, about the same as the plain INSERT.
So at most `IN_FLIGHT` append statements of a store run at once; appends that come
while they run wait in a queue, and the next statement takes every queued append
(up to `MAX_GROUP`) as one INSERT of all their rows. A lone writer never waits: its
append goes out at once, as its own statement. (Two in flight did best among 1-4:
with one, every pause of its server process stalls all writers; more make groups
smaller.)

What stays exact:

* Each append keeps its own guard (its stream's head is its expected version), so
  one refused append writes nothing and does not stop the others of its group. A
  stream's first append (expected version 0) also records the stream's studio
  (the `streams` table), in the same statement.
* Guards are answered by one descent of the (scene, branch, version) index per
  append, whatever the table's size when the connection planned the statement
  (see `postgres.write_session_settings`).
* A group holds at most one append per stream: the guard reads the statement's
  snapshot, so a second append to the same stream would be judged without the
  first. It waits for the next statement instead.
* Rows are inserted in queue order, events of one append in version order, so the
  sequencer (which numbers by row id) keeps every stream's events in order.
* A stream is written by one statement of a store at a time: an append to a stream
  whose earlier append is still under way waits for the next statement.
* If the group's statement fails (a unique index refused a row: a race with another
  process, or an event id stored before; or PostgreSQL ended it to break a deadlock
  with another process's group), it wrote nothing, and every append of the group is
  sent again on its own, so each gets its own outcome. Any other error
  fails the whole group: nobody can tell whether its statement committed.
* A caller hears back only after the statement that carried its append committed.
  A caller cancelled while its append waits in the queue takes it out; once sent,
  the append may commit, like any statement already sent to a database.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from typing import Any, NamedTuple

import asyncpg

from adapters.store._pg_connections import WriteConnections
from adapters.store._rows import EncodedEvent
from engine.ports import StreamId

IN_FLIGHT = 2
MAX_GROUP = 64

EVENT_COLUMNS = (
    "scene, branch, version, event_id, type, schema_version, data, metadata, studio, recorded_at"
)

# The guard: "the stream's head is the expected version", answered by one descent of
# the (scene, branch, version) index: the highest version from `expected` up is
# `expected` itself. (Versions are dense, so that is the head.)
_HEAD_IS_EXPECTED = """
WHERE (SELECT version FROM events
       WHERE scene = $1::text AND branch = $2::text AND version >= $3::bigint
       ORDER BY version DESC LIMIT 1) = $3::bigint
"""

# One append of one event, the commonest case, as plain parameters: unnesting arrays
# of one cost ~120 us more per append. A refused append inserts nothing ("INSERT 0 0").
_APPEND_ONE = f"""
INSERT INTO events ({EVENT_COLUMNS})
SELECT $1::text, $2::text, $3::bigint + 1, $4::text, $5::text, $6::integer, $7::text,
       $8::text, $9::text, $10::timestamptz
{_HEAD_IS_EXPECTED}
"""

# One append of several events, column by column (EncodedEvent's field order).
_APPEND_MANY = f"""
INSERT INTO events ({EVENT_COLUMNS})
SELECT $1::text, $2::text, $3::bigint + e.n, e.event_id, e.type, e.schema_version,
       e.data, e.metadata, e.studio, e.recorded_at
FROM unnest($4::text[], $5::text[], $6::integer[], $7::text[], $8::text[], $9::text[],
            $10::timestamptz[])
     WITH ORDINALITY AS e(event_id, type, schema_version, data, metadata, studio,
                          recorded_at, n)
{_HEAD_IS_EXPECTED}
"""

# Several appends, to different streams: one row per event, carrying its append's
# stream and expected version and its place in the append, in queue order (ORDER BY
# keeps the rows in that order). The guard of a stream's first append (expected 0)
# finds no version and takes 0 for its head. Returns the streams written to.
_WRITE_GROUP = f"""
WITH written AS (
    INSERT INTO events ({EVENT_COLUMNS})
    SELECT e.scene, e.branch, e.expected + e.n, e.event_id, e.type, e.schema_version,
           e.data, e.metadata, e.studio, e.recorded_at
    FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::text[],
                $6::text[], $7::integer[], $8::text[], $9::text[], $10::text[],
                $11::timestamptz[])
         WITH ORDINALITY AS e(scene, branch, expected, n, event_id, type, schema_version,
                              data, metadata, studio, recorded_at, place)
    WHERE coalesce((SELECT v.version FROM events v
                    WHERE v.scene = e.scene AND v.branch = e.branch
                      AND v.version >= e.expected
                    ORDER BY v.version DESC LIMIT 1), 0) = e.expected
    ORDER BY e.place
    RETURNING scene, branch
)"""
_APPEND_GROUP = f"""{_WRITE_GROUP}
SELECT DISTINCT scene, branch FROM written
"""
# The same, when the group holds a stream's first append: that append also records
# the stream's studio(s), as `postgres._APPEND` does.
_APPEND_GROUP_WITH_FIRST = f"""{_WRITE_GROUP}, stream_rows AS (
    INSERT INTO streams (scene, branch, studio)
    SELECT DISTINCT s.scene, s.branch, s.studio
    FROM unnest($1::text[], $2::text[], $3::bigint[], $10::text[])
         AS s(scene, branch, expected, studio)
    WHERE s.expected = 0 AND (s.scene, s.branch) IN (SELECT w.scene, w.branch FROM written w)
    ON CONFLICT DO NOTHING
)
SELECT DISTINCT scene, branch FROM written
"""


class Append(NamedTuple):
    stream: StreamId
    expected_version: int
    rows: list[EncodedEvent]


Queued = tuple[Append, "asyncio.Future[bool]"]


class GroupCommit:
    """Appends with no idempotency key (a stream's first append among them)."""

    def __init__(self, connections: WriteConnections) -> None:
        self._connections = connections
        self._queued: list[Queued] = []
        self._in_flight = 0
        # Streams with an append in a statement under way: a second append to one
        # waits for the next statement, so two statements of this store never write
        # to one stream (a second would fail its guard or a unique index anyway, and
        # two groups writing to the same two streams in turn can deadlock).
        self._busy: dict[StreamId, int] = {}
        self._groups: set[asyncio.Task[None]] = set()  # held, or the loop may drop them

    async def append(
        self, stream: StreamId, expected_version: int, rows: list[EncodedEvent]
    ) -> bool:
        """Write the events if the stream's head is `expected_version`; False if it is not.

        Raises asyncpg.UniqueViolationError when a unique index refused a row.
        """
        append = Append(stream, expected_version, rows)
        if self._in_flight < IN_FLIGHT and not self._queued and stream not in self._busy:
            self._in_flight += 1
            self._hold([append])
            try:
                return await self._alone(append)
            finally:
                self._in_flight -= 1
                self._release([append])
                self._send_queued()
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._queued.append((append, future))
        return await future

    def _send_queued(self) -> None:
        while self._queued and self._in_flight < IN_FLIGHT:
            group = self._take_group()
            if not group:
                return
            self._in_flight += 1
            self._hold([append for append, _ in group])
            task = asyncio.get_running_loop().create_task(self._commit_group(group))
            self._groups.add(task)
            task.add_done_callback(self._groups.discard)

    def _hold(self, appends: list[Append]) -> None:
        for append in appends:
            self._busy[append.stream] = self._busy.get(append.stream, 0) + 1

    def _release(self, appends: list[Append]) -> None:
        for append in appends:
            left = self._busy[append.stream] - 1
            if left:
                self._busy[append.stream] = left
            else:
                del self._busy[append.stream]

    def _take_group(self) -> list[Queued]:
        """The oldest queued appends, at most one per stream and none to a stream being
        written, in queue order. An append whose caller was cancelled while it waited
        is dropped: it was never sent."""
        group: list[Queued] = []
        left: list[Queued] = []
        streams: set[StreamId] = set()
        for queued in self._queued:
            append, future = queued
            if future.done():
                continue
            busy = append.stream in streams or append.stream in self._busy
            if busy or len(group) == MAX_GROUP:
                left.append(queued)
            else:
                streams.add(append.stream)
                group.append(queued)
        self._queued = left
        return group

    async def _commit_group(self, group: list[Queued]) -> None:
        try:
            outcomes = await self._outcomes([append for append, _ in group])
        except asyncio.CancelledError:
            for _, future in group:
                future.cancel()
            raise
        finally:
            self._in_flight -= 1
            self._release([append for append, _ in group])
        for (_, future), outcome in zip(group, outcomes, strict=True):
            if future.done():  # its caller was cancelled
                continue
            if isinstance(outcome, BaseException):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)
        self._send_queued()

    async def _outcomes(self, appends: list[Append]) -> list[bool | BaseException]:
        if len(appends) == 1:
            return [await _outcome(self._alone(appends[0]))]
        try:
            return await self._together(appends)
        except Exception as exc:  # the statement's fate is unknown: so is every append's
            return [exc] * len(appends)

    async def _alone(self, append: Append) -> bool:
        stream, expected, rows = append
        if expected == 0:  # the stream's row is written too: the group statement does
            found = await self._grouped([append])
            return (stream.scene, stream.branch) in found
        args: Sequence[Any] = rows[0]
        statement = _APPEND_ONE
        if len(rows) > 1:
            statement, args = _APPEND_MANY, tuple(zip(*rows, strict=True))
        async with self._connections.connection() as conn:
            status: str = await conn.execute(
                statement, stream.scene, stream.branch, expected, *args
            )
        return status != "INSERT 0 0"

    async def _together(self, appends: list[Append]) -> list[bool | BaseException]:
        try:
            written = await self._grouped(appends)
        except (asyncpg.UniqueViolationError, asyncpg.DeadlockDetectedError):
            # One row was refused, or the statement was chosen to end a deadlock with
            # another process's group: none was written, so each goes again on its own.
            return [await _outcome(self._alone(append)) for append in appends]
        return [(append.stream.scene, append.stream.branch) in written for append in appends]

    async def _grouped(self, appends: list[Append]) -> set[tuple[str, str]]:
        """The group statement: the (scene, branch) of every append it wrote."""
        rows = [
            (stream.scene, stream.branch, expected, n, *row)
            for stream, expected, events in appends
            for n, row in enumerate(events, start=1)
        ]
        first = any(append.expected_version == 0 for append in appends)
        statement = _APPEND_GROUP_WITH_FIRST if first else _APPEND_GROUP
        async with self._connections.connection() as conn:
            found = await conn.fetch(statement, *zip(*rows, strict=True))
        return {(scene, branch) for scene, branch in found}


async def _outcome(attempt: Awaitable[bool]) -> bool | BaseException:
    try:
        return await attempt
    except Exception as exc:
        return exc
