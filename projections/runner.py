"""The projection runner: keeps every SQL read model up to date with the global log.

Each projection's generations are followed from their checkpoints: one read of the
log feeds all of them, and each batch's rows commit with the checkpoint in one
transaction (see `projections.ports.ReadModelStore.commit`), so a runner killed
anywhere resumes without losing or repeating an event, and two runners on one
database never both record a batch. `catch_up` folds up to the log's head and
returns; `run` catches up, then follows live, woken by the store's subscription
(notifications, with polling behind them).

A projection that raises on an event stops: its rows up to the event before are
committed, its checkpoint stays there, and the error names the event's position.

Rebuilds are blue/green: `rebuild(*names)` starts a new generation at position 0
beside the active one, which keeps serving queries (and following the log) until
the new one has caught up with the head; then the new one takes over in one
transaction, and the old one's rows are dropped once no query can be reading them
any more (queries read one snapshot, see `ReadModelStore.reading`). A projection
whose code version differs from its active generation's rebuilds itself the same
way.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from engine.errors import NotFound, RowsRefused, StoreError, Unavailable
from engine.events import RecordedEvent
from engine.ports import EventStore
from projections.errors import ProjectionFailed
from projections.generations import Generation, list_generations
from projections.ports import ACTIVE, BUILDING, RETIRED, ReadModelStore
from projections.projection import Projection, Rows, as_table_rows, fold_batch

log = logging.getLogger("scenestate.projections")

# Events per read of the log and per commit: big enough that round trips and COPY set-up
# vanish in a rebuild, small enough that a batch stays a few megabytes.
DEFAULT_BATCH = 10_000
# Times to read the generations again after losing a race to create one.
RACES = 5
# Seconds between tries while the database is unreachable, doubling up to the last.
RETRY_FIRST, RETRY_LAST = 0.5, 30.0


@dataclass
class Track:
    """One generation of one projection that this runner keeps up to date. `position`
    is its committed checkpoint; `folded` how far its rows are made (being committed)."""

    projection: Projection
    generation: int
    position: int
    building: bool
    folded: int = field(init=False)

    def __post_init__(self) -> None:
        self.folded = self.position


class _Folded(NamedTuple):
    """One track's rows of one batch, from `after` to `reached`, waiting to commit."""

    track: Track
    rows: Rows
    after: int
    reached: int
    failure: ProjectionFailed | None


class ProjectionRunner:
    def __init__(
        self,
        store: EventStore,
        read_models: ReadModelStore,
        projections: Sequence[Projection],
        *,
        batch_size: int = DEFAULT_BATCH,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be positive")
        if not projections:
            raise ValueError("a runner needs at least one projection")
        self.store = store
        self.read_models = read_models
        self.projections = {p.name: p for p in projections}
        self.batch_size = batch_size
        self.stopped: dict[str, ProjectionFailed] = {}

    async def catch_up(self) -> int:
        """Fold every event up to the log's head into every projection and every rebuild
        under way, and let rebuilds that reach the head take over. Returns how many
        events were read; raises the first ProjectionFailed after the others are done."""
        read, _ = await self._catch_up()
        return read

    async def _catch_up(self) -> tuple[int, list[Track]]:
        """`catch_up`, returning also the tracks as they stand after it.

        Three batches are under way at once: the database reads the next one and
        commits the last while this one folds. Commits of a track still go in order,
        each from where the one before it ended."""
        head = await self.store.head_position()
        failures: list[ProjectionFailed] = []
        tracks = await self._tracks()
        read = 0
        committing: asyncio.Task[bool] | None = None
        try:
            async with _LogReader(self.store, self.batch_size) as log:
                while behind := [t for t in tracks if t.folded < head]:
                    batch = await log.read(min(t.folded for t in behind))
                    if not batch:
                        break
                    read += len(batch)
                    if (last := batch[-1].position or 0) < head:
                        log.read_ahead(last)
                    folded = self._fold(behind, batch)
                    if committing is not None and not await committing:
                        committing = None
                        tracks = await self._tracks()  # another runner moved a checkpoint
                        continue
                    committing = asyncio.create_task(self._commit_all(folded, failures))
                    tracks = [t for t in tracks if t.projection.name not in self.stopped]
            if committing is not None and not await committing:
                tracks = await self._tracks()
            committing = None
        finally:
            if committing is not None:
                committing.cancel()
        await self._take_over(tracks, head)
        if failures:
            raise failures[0]
        return read, tracks

    async def run(self) -> None:
        """Catch up, then follow the log until cancelled. A projection that fails is
        logged and stops; the rest go on. Raises when every projection has stopped.
        While the database cannot be reached it tries again, waiting longer each time."""
        pause = RETRY_FIRST
        while True:
            try:
                await self._cycle()
                pause = RETRY_FIRST
            except (StoreError, Unavailable) as exc:
                log.warning("projections wait %.1fs: %s", pause, exc)
                await asyncio.sleep(pause)
                pause = min(pause * 2, RETRY_LAST)

    async def _cycle(self) -> None:
        try:
            _, tracks = await self._catch_up()
        except ProjectionFailed as failure:
            log.error("%s", failure)
            if len(self.stopped) == len(self.projections):
                raise
            tracks = await self._tracks()
        tracks = [t for t in tracks if t.projection.name not in self.stopped]
        if tracks:
            await self._wait_for_news(min(t.position for t in tracks))

    async def rebuild(self, *names: str) -> dict[str, int]:
        """Build the named projections again from position 0 (all in one pass over the
        log), each beside its active generation, and let each take over once caught up
        (the replaced rows go with `drop_retired`, or the next catch-up). Returns the
        generation each was rebuilt as."""
        rebuilt = {name: await self._start_rebuild(self.projection(name)) for name in names}
        for name in names:
            self.stopped.pop(name, None)
        await self.catch_up()
        return rebuilt

    async def _start_rebuild(self, projection: Projection) -> int:
        name = projection.name
        generation = await self.read_models.create_generation(
            name, projection.version, BUILDING, list(projection.tables)
        )
        if generation is not None:
            return generation
        # A rebuild of this version is under way already: finish that one.
        found = await list_generations(self.read_models)
        under_way = [
            g.generation
            for g in found
            if (g.projection, g.role, g.version) == (name, BUILDING, projection.version)
        ]
        if not under_way:
            raise StoreError(f"a rebuild of {name!r} took over while this one started")
        return under_way[-1]

    def projection(self, name: str) -> Projection:
        found = self.projections.get(name)
        if found is None:
            known = ", ".join(sorted(self.projections))
            raise NotFound(f"no projection {name!r}; the projections are: {known}")
        return found

    async def _tracks(self) -> list[Track]:
        """What to keep up to date: each projection's active generation if this code
        built it, and its rebuilds of this code's version (started here when the active
        one was built by another version). Drops retired generations on the way."""
        for _ in range(RACES):
            found = await list_generations(self.read_models)
            await self._drop_retired(found)
            tracks: list[Track] | None = []
            for projection in self.projections.values():
                if tracks is None or projection.name in self.stopped:
                    continue
                mine = [g for g in found if g.projection == projection.name and g.role != RETIRED]
                more = await self._tracks_of(projection, mine)
                tracks = None if more is None else tracks + more
            if tracks is not None:
                return tracks
        raise StoreError(f"the read models' generations kept changing under {RACES} reads")

    async def _tracks_of(
        self, projection: Projection, mine: list[Generation]
    ) -> list[Track] | None:
        """None when another process created a generation meanwhile (read them again)."""
        active = next((g for g in mine if g.role == ACTIVE), None)
        building = [g for g in mine if g.role == BUILDING and g.version == projection.version]
        tracks = [Track(projection, g.generation, g.position, True) for g in building]
        if active is not None and active.version == projection.version:
            tracks.append(Track(projection, active.generation, active.position, False))
        elif not building:
            role = BUILDING if active is not None else ACTIVE
            tables = list(projection.tables)
            number = await self.read_models.create_generation(
                projection.name, projection.version, role, tables
            )
            if number is None:
                return None
            tracks.append(Track(projection, number, 0, role == BUILDING))
        return tracks

    def _fold(self, tracks: list[Track], batch: list[RecordedEvent]) -> list[_Folded]:
        """Each track's rows of the batch, from where its last fold ended; a projection
        that fails stops here, keeping the rows of the events before the failure."""
        positions = [event.position or 0 for event in batch]
        folded = []
        for track in tracks:
            events = batch[bisect.bisect_right(positions, track.folded) :]
            if not events:
                continue
            rows, reached, failure = fold_batch(track.projection, events)
            folded.append(_Folded(track, rows, track.folded, reached, failure))
            track.folded = reached
            if failure is not None:
                self.stopped[track.projection.name] = failure
        return folded

    async def _commit_all(self, folded: list[_Folded], failures: list[ProjectionFailed]) -> bool:
        """Commit the tracks' batches at once; False when a commit found its checkpoint
        moved by someone else. A batch the database refuses stops its projection (the
        error is recorded where `/readyz` and `scenestate projections` show it)."""
        outcomes = await asyncio.gather(
            *(self._commit(batch) for batch in folded), return_exceptions=True
        )
        for outcome in outcomes:
            if isinstance(outcome, BaseException) and not isinstance(outcome, RowsRefused):
                raise outcome  # the database's trouble, not the projection's: try again
        for batch, committed in zip(folded, outcomes, strict=True):
            failure = batch.failure if committed is True else None
            if isinstance(committed, RowsRefused):
                # The database refused the rows themselves: this projection cannot go
                # on past its checkpoint, the others go on without it.
                failure = ProjectionFailed(
                    batch.track.projection.name, batch.after + 1, "the batch after it", committed
                )
                self.stopped[batch.track.projection.name] = failure
            if failure is not None:
                track = batch.track
                error = str(failure)
                await self.read_models.record_error(track.projection.name, track.generation, error)
                failures.append(failure)
        return all(committed is not False for committed in outcomes)

    async def _commit(self, batch: _Folded) -> bool:
        if batch.reached <= batch.after:
            return True
        track = batch.track
        projection = track.projection
        committed = await self.read_models.commit(
            projection.name,
            track.generation,
            batch.after,
            batch.reached,
            as_table_rows(projection, batch.rows),
        )
        if committed:
            track.position = batch.reached
        return committed

    async def _take_over(self, tracks: list[Track], head: int) -> None:
        for track in tracks:
            name = track.projection.name
            if not track.building or track.position < head or name in self.stopped:
                continue
            await self.read_models.promote(name, track.generation)
            track.building = False
            log.info("projection %s generation %d took over", name, track.generation)

    async def drop_retired(self) -> int:
        """Drop the rows of generations that a rebuild replaced; how many were dropped.
        (Every catch-up does this first, so retired rows never outlive the next one.)"""
        return await self._drop_retired(await list_generations(self.read_models))

    async def _drop_retired(self, found: list[Generation]) -> int:
        dropped = 0
        for old in found:
            if old.role == RETIRED and old.projection in self.projections:
                tables = list(self.projections[old.projection].tables)
                await self.read_models.drop(old.projection, old.generation, tables)
                dropped += 1
        return dropped

    async def _wait_for_news(self, position: int) -> None:
        """Until an event after `position` is readable (notified or polled for)."""
        events = aiter(self.store.subscribe(position, 1))
        try:
            await anext(events)
        finally:
            close = getattr(events, "aclose", None)
            if close is not None:
                await close()


class _LogReader:
    """Reads the log in batches; `read_ahead` starts the next read while one is folded."""

    def __init__(self, store: EventStore, batch_size: int) -> None:
        self._store = store
        self._batch_size = batch_size
        self._ahead: tuple[int, asyncio.Task[list[RecordedEvent]]] | None = None

    async def __aenter__(self) -> _LogReader:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._drop_ahead()

    def read_ahead(self, after: int) -> None:
        self._drop_ahead()
        read = asyncio.create_task(self._store.read_all(after, self._batch_size))
        self._ahead = (after, read)

    async def read(self, after: int) -> list[RecordedEvent]:
        if self._ahead is not None and self._ahead[0] == after:
            read, self._ahead = self._ahead[1], None
            return await read
        self._drop_ahead()
        return await self._store.read_all(after, self._batch_size)

    def _drop_ahead(self) -> None:
        if self._ahead is not None:
            read = self._ahead[1]
            read.cancel()
            # Its error, if it failed before the cancel, is of no interest any more.
            read.add_done_callback(lambda done: done.cancelled() or done.exception())
            self._ahead = None
