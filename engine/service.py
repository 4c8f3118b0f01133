"""The engine service: load a scene, decide an intent, append with the expected version.

It runs the stages for one command and talks to the outside only through the
ports it is given. On a concurrency conflict it reloads and decides again, a
bounded number of times, so an intent that still applies lands after a race and
one that no longer applies is refused with the reason.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping, Sequence

import msgspec

from engine.ancestry import Ancestry
from engine.archive import LogArchive
from engine.batch_lookups import BatchLookups
from engine.binding import (
    LocalStructurePlanner,
    StructureContext,
    StructurePlanner,
    bound_nodes,
    generates,
    needs_structure,
)
from engine.branching import Change
from engine.decisions import Context, decide
from engine.errors import (
    ConcurrencyConflict,
    IntentIdTaken,
    InvalidIntent,
    KeysUsed,
    NotFound,
    StoreError,
)
from engine.events import (
    AnyEvent,
    BranchForked,
    EventMetadata,
    ExecutionStarted,
    NewEvent,
    RecordedEvent,
    TaskDispatched,
)
from engine.executions import ExecutionRecord, TaskState
from engine.intents import (
    AnyAction,
    AnyIntent,
    CancelExecution,
    CancelTask,
    Diagnose,
    ForkBranch,
    MergeBranch,
    Render,
    ResolveAll,
    ResolveConflict,
    RetryTask,
    StructuredAction,
    TextPrompt,
)
from engine.models import LOCAL_CHOICES, ModelChoices
from engine.planning import CachedWork, Work, content_keys, plan_execution
from engine.ports import (
    AppendResult,
    AppendRun,
    Clock,
    EventStore,
    ExecutionArchive,
    IdSource,
    SnapshotWriter,
    StoredSnapshot,
    StreamId,
    StudioModels,
    WorkCache,
)
from engine.recipes import diagnostic_works, scene_works
from engine.reducers import fold
from engine.results import decide_result
from engine.scene import MergeMark, SceneState
from engine.snapshots import SNAPSHOT_SCHEMA, decode_snapshot, encode_snapshot
from engine.state_cache import StateCache
from engine.task_decisions import ArchivedWork
from engine.tasks import TaskResult, TaskStatus

EXECUTION_NAMESPACE = uuid.UUID("6f1c9a52-3f0e-4d8b-9a57-2f3d4c1b8e01")


PLAN_VERSION = 1
KEEP_SNAPSHOTS = 2  # per stream: the newest, and the one before it
# The transforms of the pipeline's own events: the dispatcher's, and task results'.
DISPATCH_TRANSFORM, RESULT_TRANSFORM = "dispatch", "task."
# How many times a merge or resolution is decided again after losing a race to them.
GENERATION_RACES = 50


class NoWorkCache:
    """A work cache that remembers nothing: every task runs (tests, and stores without one)."""

    async def find_work(self, studio: str, keys: Collection[str]) -> dict[str, CachedWork]:
        return {}

    async def remember_work(self, studio: str, works: Mapping[str, CachedWork]) -> None:
        return None


class BranchInfo(msgspec.Struct, frozen=True):
    name: str
    parent: str | None
    fork_version: int
    head_version: int
    merges: tuple[MergeMark, ...]
    open_conflicts: int


class Receipt(msgspec.Struct, frozen=True):
    """What the caller gets back for an accepted intent."""

    intent_id: str
    execution_id: str
    scene: str
    branch: str
    first_version: int
    last_version: int
    position: int | None
    duplicate: bool = False
    execution_started: bool = False


def execution_id_for(intent_id: str) -> str:
    """The correlation id of everything an intent sets in motion, derived from its id."""
    return str(uuid.uuid5(EXECUTION_NAMESPACE, intent_id))


class SceneService:
    def __init__(
        self,
        store: EventStore,
        clock: Clock,
        ids: IdSource,
        *,
        snapshot_every: int = 200,
        max_attempts: int = 4,
        cache_size: int = 256,
        work_cache: WorkCache | None = None,
        planner: StructurePlanner | None = None,
        archive: ExecutionArchive | None = None,
        snapshots: SnapshotWriter | None = None,
        keep_snapshots: int = KEEP_SNAPSHOTS,
        models: StudioModels | None = None,
    ) -> None:
        """`archive`: where finished executions are found (default: folded from the
        log); `snapshots`: saves snapshots off the append's path (default: saved and
        pruned to `keep_snapshots` right after the append that makes one due);
        `models`: the models each studio chose (default: the local ones for all)."""
        self.models = models
        self.store = store
        self.clock = clock
        self.ids = ids
        self.archive: ExecutionArchive = archive or LogArchive(store)
        self.snapshots = snapshots
        self.keep_snapshots = max(keep_snapshots, 1)
        self.snapshot_every = snapshot_every
        self.max_attempts = max_attempts
        self.cache = StateCache(cache_size)
        self.work_cache: WorkCache = work_cache or NoWorkCache()
        self.planner: StructurePlanner = planner or LocalStructurePlanner()
        self.ancestry = Ancestry(self.load, self.store.read_stream)

    async def models_for(self, studio: str) -> ModelChoices:
        """The models `studio`'s recipes plan: its choices, else the local ones."""
        if self.models is None or not studio:
            return LOCAL_CHOICES
        return await self.models.model_choices(studio)

    async def load(
        self, scene: str, branch: str = "main", version: int | None = None
    ) -> SceneState:
        """The state of a branch at `version` (default: its head).

        From the newest cached state plus the events since, or else the newest
        snapshot plus its tail; without either, a branch starts from its parent's
        state at the fork point.
        """
        stream = StreamId(scene, branch)
        cached = self.cache.nearest(stream, version)
        if cached is not None:
            if cached.version == version:
                return cached
            tail = await self.store.read_stream(stream, cached.version, version)
            if len(tail) <= 2 * max(self.snapshot_every, 1):
                return self._remember(fold(cached, tail))
        state = await self._from_snapshot(stream, version)
        tail = await self.store.read_stream(stream, state.version, version)
        if state.version == 0 and tail and isinstance(tail[0].payload, BranchForked):
            fork = tail[0].payload
            state = await self.load(scene, fork.parent, fork.parent_version)
        return self._remember(fold(state, tail))

    async def load_newer(self, scene: str, branch: str, version: int) -> SceneState:
        """A state of the branch at `version` or later: the newest this process knows
        when it is that far, else the head. Costs no read of the store when this
        process appended the events up to `version` (and maybe more since)."""
        cached = self.cache.newest(StreamId(scene, branch))
        if cached is not None and cached.version >= version:
            return cached
        return await self.load(scene, branch)

    def _remember(self, state: SceneState) -> SceneState:
        self.cache.put(state)
        return state

    async def submit(self, intent: AnyIntent) -> Receipt:
        """Decide and append `intent`.

        Every intent is appended under its id (`intent_key`), so an id is used once:
        the same intent again (same id and idempotency key: a retry whose first
        attempt landed) gets the first receipt, anything else under a used id is
        refused with IntentIdTaken, and nothing is appended twice either way."""
        key = intent_key(intent.id)
        if intent.idempotency_key is not None:
            earlier = await self.store.find_append(key)
            if earlier is not None:
                return await self._earlier_receipt(earlier, intent)
        stream = StreamId(intent.scene, intent.branch)
        attempts = 1 if reviewed_against_one_state(intent) else self.max_attempts
        # Optimistic twice over: decide on the newest state this process knows, without
        # asking the store; if another process appended meanwhile, the append says so
        # and the intent is decided again on the store's state, costing no attempt. A
        # refusal is only ever given on the store's state.
        # (Merges and resolutions are never retried, so they always read the store.)
        cached = self.cache.newest(stream) if attempts > 1 else None
        attempt = 1
        generation_races = 0
        while True:
            state = cached or await self.load(intent.scene, intent.branch)
            try:
                context = await self._context(state, intent)
                events = await self._new_events(state, intent, context)
            except (InvalidIntent, NotFound):
                if cached is None:
                    raise
                cached = None  # refused on what may be old news: ask the store first
                continue
            try:
                result = await self.store.append(stream, events, state.version, key)
            except ConcurrencyConflict:
                if (
                    attempts == 1
                    and generation_races < GENERATION_RACES
                    and await self._only_generation_since(stream, state.version)
                ):
                    generation_races += 1  # the pipeline's bookkeeping won: look again
                    continue
                if cached is None and attempt == attempts:
                    raise
                attempt += cached is None
                cached = None
                continue
            if result.duplicate:
                return await self._earlier_receipt(result, intent)
            await self._after_append(state, events, result)
            return _receipt(intent, result, events)

    async def _only_generation_since(self, stream: StreamId, version: int) -> bool:
        """Whether everything appended to `stream` after `version` is the pipeline's
        bookkeeping (dispatches and task results), which nobody reviewed a merge or a
        resolution against, so it may be decided again on top of it."""
        since = await self.store.read_stream(stream, version)
        return bool(since) and all(_by_the_pipeline(event) for event in since)

    async def submit_together(self, intents: Sequence[AnyIntent]) -> list[Receipt | Exception]:
        """Decide and append intents for one scene branch that arrived together: in order,
        each on the state the ones before it leave, all appended in one `append_runs`,
        each under its own key. Each gets what `submit` would have given it alone: its
        receipt (its own versions), or its own error, which does not stop the others.
        Merges and resolutions are reviewed against one state: they take `submit`."""
        stream = _stream_of_editors(intents)
        outcomes: dict[int, Receipt | Exception] = {}
        for index, intent in enumerate(intents):
            if intent.idempotency_key is not None:
                earlier = await self.store.find_append(intent_key(intent.id))
                if earlier is not None:
                    outcomes[index] = await _outcome(self._earlier_receipt(earlier, intent))
        pending = [index for index in range(len(intents)) if index not in outcomes]
        # Optimistic as `submit`: on the newest state this process knows first; a
        # refusal or a conflict on it sends everyone back to the store's state.
        cached = self.cache.newest(stream) if pending else None
        attempt = 1
        while pending:
            state = cached or await self.load(stream.scene, stream.branch)
            decided, refused = await self._decide_in_turn(state, intents, pending)
            if refused and cached is not None:
                cached = None  # refused on what may be old news: ask the store first
                continue
            outcomes.update(refused)
            if not decided:
                break
            runs = [AppendRun(events, intent_key(intents[i].id)) for i, events, _ in decided]
            try:
                results = await self.store.append_runs(stream, runs, state.version)
            except ConcurrencyConflict as conflict:
                if cached is None and attempt == self.max_attempts:
                    outcomes.update((i, conflict) for i, _, _ in decided)
                    break
                attempt += cached is None
                cached = None
                continue
            except (KeysUsed, StoreError):
                # A key used meanwhile (a retry racing its first attempt, an id used
                # again) or one intent's events refused: each alone, to hear its own.
                for index, _, _ in decided:
                    outcomes[index] = await _outcome(self.submit(intents[index]))
                break
            for (index, events, before), result in zip(decided, results, strict=True):
                await self._after_append(before, events, result)
                outcomes[index] = _receipt(intents[index], result, events)
            break
        return [outcomes[index] for index in range(len(intents))]

    async def _decide_in_turn(
        self, state: SceneState, intents: Sequence[AnyIntent], pending: Sequence[int]
    ) -> tuple[list[tuple[int, list[NewEvent], SceneState]], dict[int, Exception]]:
        """The events of each pending intent decided on the state those before it leave
        (with the state it was decided on), and the error of each one refused."""
        stream = StreamId(state.scene, state.branch)
        decided: list[tuple[int, list[NewEvent], SceneState]] = []
        refused: dict[int, Exception] = {}
        lookups = BatchLookups(self.models_for, self.work_cache)
        for index in pending:
            intent = intents[index]
            try:
                context = await self._context(state, intent)
                events = await self._new_events(state, intent, context, lookups)
            except Exception as exc:  # this intent's own error; the others go on
                refused[index] = exc
                continue
            decided.append((index, events, state))
            state = fold(state, self._as_recorded(state, events, stream))
        return decided, refused

    async def _earlier_receipt(self, earlier: AppendResult, intent: AnyIntent) -> Receipt:
        """The receipt of the first append under this intent's id, if it was this same
        intent (its retry); IntentIdTaken if another intent used the id."""
        stream = StreamId(earlier.scene, earlier.branch)
        first = await self.store.read_stream(
            stream, earlier.first_version - 1, earlier.first_version
        )
        meta = first[0].metadata
        same = (meta.studio, meta.idempotency_key, earlier.scene, earlier.branch) == (
            intent.studio,
            intent.idempotency_key,
            intent.scene,
            intent.branch,
        )
        if intent.idempotency_key is None or not same:
            raise IntentIdTaken(intent.id)
        return Receipt(
            intent_id=meta.intent_id,
            execution_id=meta.execution_id,
            scene=earlier.scene,
            branch=earlier.branch,
            first_version=earlier.first_version,
            last_version=earlier.last_version,
            position=earlier.last_position,
            duplicate=True,
        )

    async def execution(
        self, scene: str, branch: str, execution_id: str, version: int | None = None
    ) -> ExecutionRecord | None:
        """An execution with its tasks: a running one as the branch's state holds it, a
        finished one from the archive (as it finished)."""
        return await self.execution_in(await self.load(scene, branch, version), execution_id)

    async def execution_in(self, state: SceneState, execution_id: str) -> ExecutionRecord | None:
        run = state.executions.get(execution_id)
        if run is not None:
            return ExecutionRecord(run, tuple(state.tasks[t] for t in run.tasks))
        stream = StreamId(state.scene, state.branch)
        return await self.archive.execution(stream, execution_id, state.version)

    async def task(self, scene: str, branch: str, task_id: str) -> TaskState | None:
        """A task as its execution holds it, running or finished."""
        state = await self.load(scene, branch)
        found = state.tasks.get(task_id)
        if found is not None:
            return found
        stream = StreamId(scene, branch)
        record = await self.archive.holding(stream, task_id, state.version)
        return next((t for t in record.tasks if t.id == task_id), None) if record else None

    async def missing(self, scene: str, branch: str, version: int | None = None) -> NotFound:
        """The NotFound for a scene branch that is not there (at `version`), saying
        which part is missing: the scene, or only the branch (naming those it has)."""
        at = "" if version is None else f" at version {version}"
        names = await self.store.list_branches(scene)
        if not names:
            return NotFound(f"no scene {scene!r}")
        if branch not in names:
            listed = ", ".join(sorted(names))
            return NotFound(f"scene {scene!r} has no branch {branch!r} (its branches: {listed})")
        return NotFound(f"scene {scene!r} had no events on branch {branch!r}{at}")

    async def branches(self, scene: str) -> list[BranchInfo]:
        """Every branch of a scene with its fork point, head and merges into it."""
        infos = []
        for name in await self.store.list_branches(scene):
            state = await self.load(scene, name)
            infos.append(
                BranchInfo(
                    name,
                    state.parent,
                    state.fork_version,
                    state.version,
                    state.merges,
                    len(state.conflicts),
                )
            )
        return infos

    async def diff(self, old: SceneState, new: SceneState) -> list[Change]:
        return await self.ancestry.diff(old, new)

    async def _context(self, state: SceneState, intent: AnyIntent) -> Context:
        if not isinstance(intent, StructuredAction):
            return await self._structure(state, intent)
        if isinstance(intent.action, ForkBranch):
            return await self.ancestry.fork_context(intent.scene, intent.action)
        if isinstance(intent.action, MergeBranch) and state.created:
            return await self.ancestry.merge_context(state, intent.action.source)
        if isinstance(intent.action, CancelExecution | CancelTask | RetryTask) and state.created:
            return await self._archived(state, intent.action)
        return None

    async def _archived(self, state: SceneState, action: AnyAction) -> ArchivedWork:
        """The finished executions an intent about work names (the state holds only
        running ones): the one it names or that holds its task, and for a retry those
        with tasks blocked by that task."""
        stream, version = StreamId(state.scene, state.branch), state.version
        found = None
        if isinstance(action, CancelExecution) and action.execution not in state.executions:
            found = await self.archive.execution(stream, action.execution, version)
        elif isinstance(action, CancelTask | RetryTask) and action.task not in state.tasks:
            found = await self.archive.holding(stream, action.task, version)
        records = [] if found is None else [found]
        if isinstance(action, RetryTask):
            records += await self.archive.blocked_by(stream, action.task, version)
        return ArchivedWork(tuple(records))

    async def _structure(self, state: SceneState, intent: AnyIntent) -> Context:
        if not needs_structure(state, intent):
            return None
        text = intent.text if isinstance(intent, TextPrompt) else getattr(intent, "transcript", "")
        specs = await self.planner.propose(text, state)
        return StructureContext(tuple(specs))

    async def _new_events(
        self,
        state: SceneState,
        intent: AnyIntent,
        context: Context = None,
        lookups: BatchLookups | None = None,
    ) -> list[NewEvent]:
        decision = decide(state, intent, context)
        events = self._wrap(decision.events, intent, decision.transform, decision.transform_version)
        if generates(intent):
            events += await self._plan(state, intent, events, lookups)
        return events

    async def _plan(
        self,
        state: SceneState,
        intent: AnyIntent,
        decided: list[NewEvent],
        lookups: BatchLookups | None = None,
    ) -> list[NewEvent]:
        """The execution plan for the scene as the intent leaves it (`lookups`: what the
        intents planned with it asked already)."""
        after = fold(state, self._as_recorded(state, decided, StreamId(state.scene, state.branch)))
        models = self.models_for if lookups is None else lookups.models_for
        works = _works_for(after, intent, await models(intent.studio))
        if not works:
            if isinstance(intent, StructuredAction) and isinstance(intent.action, Render):
                raise InvalidIntent(
                    "action",
                    "the scene has nothing to render: no shots, or a shot with nothing to "
                    "picture yet (give it a prompt or a title)",
                )
            return []
        keys = content_keys(works)
        work_cache = self.work_cache if lookups is None else lookups
        cache = await work_cache.find_work(intent.studio, set(keys.values()))
        goal = _goal_of(intent, after)
        bound = bound_nodes(after, intent)
        plan = plan_execution(after, works, cache, execution_id_for(intent.id), goal, bound)
        return self._wrap(plan.events, intent, "planning.film", PLAN_VERSION)

    def _wrap(
        self, payloads: Iterable[AnyEvent], intent: AnyIntent, transform: str, version: int
    ) -> list[NewEvent]:
        metadata = EventMetadata(
            studio=intent.studio,
            actor=intent.actor,
            intent_id=intent.id,
            execution_id=execution_id_for(intent.id),
            transform=transform,
            transform_version=version,
            idempotency_key=intent.idempotency_key,
        )
        now = self.clock.now()
        return [NewEvent(self.ids.new_id(), payload, metadata, now) for payload in payloads]

    async def record_result(self, result: TaskResult) -> Receipt | None:
        """Fold a worker's result into its scene; a duplicate or stale one changes nothing
        and returns None. Results never conflict for good: on a race, decide again."""
        stream = StreamId(result.scene, result.branch)
        for _ in range(self.max_attempts * 4):
            state = await self.load(result.scene, result.branch)
            payloads = decide_result(state, result)
            if not payloads:
                return None
            task = state.tasks[result.task_id]
            events = self._result_events(state, task, result, payloads)
            try:
                appended = await self.store.append(stream, events, state.version)
            except ConcurrencyConflict:
                continue
            await self._after_append(state, events, appended)
            if result.status == TaskStatus.SUCCEEDED and result.artifact is not None:
                work = CachedWork(result.artifact, task.id)
                studio = events[0].metadata.studio
                await self.work_cache.remember_work(studio, {task.content_key: work})
            return _receipt_of(events[0].metadata, appended)
        raise ConcurrencyConflict(str(stream), -1, -1)

    async def record_results(self, results: Sequence[TaskResult]) -> int:
        """Fold many results at once: one append per scene branch for the whole batch.
        Returns how many of them changed something (the rest were duplicates)."""
        groups: dict[StreamId, list[TaskResult]] = {}
        for result in results:
            groups.setdefault(StreamId(result.scene, result.branch), []).append(result)
        changed = 0
        for stream, group in groups.items():
            changed += await self._record_group(stream, group)
        return changed

    async def _record_group(self, stream: StreamId, group: list[TaskResult]) -> int:
        used = 0
        learned: dict[str, dict[str, CachedWork]] = {}

        def decide_group(state: SceneState) -> list[NewEvent]:
            nonlocal used
            used, current = 0, state
            events: list[NewEvent] = []
            learned.clear()
            for result in group:
                payloads = decide_result(current, result)
                if not payloads:
                    continue
                task = current.tasks[result.task_id]
                new = self._result_events(current, task, result, payloads)
                current = fold(current, self._as_recorded(current, new, stream))
                events += new
                used += 1
                if result.status == TaskStatus.SUCCEEDED and result.artifact is not None:
                    work = CachedWork(result.artifact, task.id)
                    learned.setdefault(result.studio, {})[task.content_key] = work
            return events

        if not await self._append_decided(stream, decide_group):
            return 0
        for studio, works in learned.items():
            await self.work_cache.remember_work(studio, works)
        return used

    async def mark_dispatched(
        self, scene: str, branch: str, dispatched: Sequence[tuple[str, int]], studio: str
    ) -> None:
        """Record that tasks went to the bus, so that no dispatcher sends them again."""

        def decide_marks(state: SceneState) -> list[NewEvent]:
            payloads = [
                TaskDispatched(task_id, attempt)
                for task_id, attempt in dispatched
                if (task := state.tasks.get(task_id)) is not None
                and task.attempt == attempt
                and task.dispatched < attempt
                and task.status == TaskStatus.PLANNED
            ]
            meta = EventMetadata(studio, "dispatcher", "", "", DISPATCH_TRANSFORM, 1)
            now = self.clock.now()
            return [NewEvent(self.ids.new_id(), p, meta, now) for p in payloads]

        await self._append_decided(StreamId(scene, branch), decide_marks)

    async def _append_decided(
        self, stream: StreamId, decide: Callable[[SceneState], list[NewEvent]]
    ) -> bool:
        """Append what `decide` makes of the branch's state; False if it made nothing.

        Optimistic, like `submit`: first on the newest state this process knows, with
        no read of the store; a stale state shows up as a conflict on append, and
        "nothing to do" is only believed of the store's state. Bookkeeping never
        conflicts for good: on a race it decides again."""
        cached = self.cache.newest(stream)
        for _ in range(self.max_attempts * 4):
            state = cached or await self.load(stream.scene, stream.branch)
            events = decide(state)
            if not events:
                if cached is None:
                    return False
                cached = None
                continue
            try:
                appended = await self.store.append(stream, events, state.version)
            except ConcurrencyConflict:
                cached = None
                continue
            await self._after_append(state, events, appended)
            return True
        raise ConcurrencyConflict(str(stream), -1, -1)

    def _result_events(
        self, state: SceneState, task: TaskState, result: TaskResult, payloads: list[AnyEvent]
    ) -> list[NewEvent]:
        execution = state.executions.get(task.execution)
        metadata = EventMetadata(
            studio=result.studio,
            actor=f"worker:{result.worker}" if result.worker else "bus",
            intent_id=execution.intent_id if execution else "",
            execution_id=task.execution,
            transform=f"{RESULT_TRANSFORM}{task.operation}",
            transform_version=1,
        )
        now = self.clock.now()
        return [NewEvent(self.ids.new_id(), payload, metadata, now) for payload in payloads]

    async def _from_snapshot(self, stream: StreamId, version: int | None) -> SceneState:
        empty = SceneState(scene=stream.scene, branch=stream.branch)
        snapshot = await self.store.load_snapshot(stream, version)
        if snapshot is None:
            return empty
        state = decode_snapshot(snapshot.data, snapshot.schema)
        return empty if state is None else state

    async def _after_append(
        self, before: SceneState, events: list[NewEvent], result: AppendResult
    ) -> None:
        """Remember the new state, and snapshot it every `snapshot_every` versions and
        right after a fork, so that a new branch loads as fast as its parent (off the
        append's path when a snapshot writer is given)."""
        forked = isinstance(events[0].payload, BranchForked)
        if forked:
            state = await self.load(result.scene, result.branch, result.last_version)
        else:
            stream = StreamId(result.scene, result.branch)
            state = self._remember(fold(before, self._as_recorded(before, events, stream)))
        every = self.snapshot_every
        crossed = before.version // max(every, 1) != result.last_version // max(every, 1)
        if every > 0 and (crossed or forked):
            await self._snapshot(state)

    async def _snapshot(self, state: SceneState) -> None:
        if self.snapshots is not None:
            self.snapshots.snapshot_due(state)
            return
        data = encode_snapshot(state)
        await self.store.save_snapshot(
            StoredSnapshot(state.scene, state.branch, state.version, SNAPSHOT_SCHEMA, data)
        )
        await self.store.prune_snapshots(StreamId(state.scene, state.branch), self.keep_snapshots)

    @staticmethod
    def _as_recorded(
        before: SceneState, events: list[NewEvent], stream: StreamId
    ) -> list[RecordedEvent]:
        return [
            RecordedEvent(
                new.event_id,
                stream.scene,
                stream.branch,
                before.version + offset,
                None,
                new.recorded_at,
                new.metadata,
                new.payload,
            )
            for offset, new in enumerate(events, start=1)
        ]


def _works_for(state: SceneState, intent: AnyIntent, models: ModelChoices) -> list[Work]:
    if isinstance(intent, StructuredAction) and isinstance(intent.action, Diagnose):
        a = intent.action
        return diagnostic_works(a.count, a.operation, a.lane, dict(a.params), a.chain, intent.id)
    return scene_works(state, _goal_of(intent, state), models)


def _goal_of(intent: AnyIntent, state: SceneState) -> str:
    """The fidelity an intent asks for: a render says; any other generating intent
    means the finished film, or a preview while merge conflicts are open (a
    production render waits until they are resolved)."""
    if isinstance(intent, StructuredAction) and isinstance(intent.action, Render):
        return intent.action.goal
    if isinstance(intent, StructuredAction) and isinstance(intent.action, Diagnose):
        return "diagnose"
    return "preview" if state.conflicts else "production"


def reviewed_against_one_state(intent: AnyIntent) -> bool:
    """Merges and resolutions were reviewed against one target state; after a race with
    another intent they must be looked at again, so the loser gets the conflict instead
    of a retry (a race with the pipeline's bookkeeping alone is decided again)."""
    return isinstance(intent, StructuredAction) and isinstance(
        intent.action, MergeBranch | ResolveConflict | ResolveAll
    )


def _by_the_pipeline(event: RecordedEvent) -> bool:
    """An event the dispatcher or a task's result wrote, not an intent."""
    transform = event.metadata.transform
    return transform == DISPATCH_TRANSFORM or transform.startswith(RESULT_TRANSFORM)


def _stream_of_editors(intents: Sequence[AnyIntent]) -> StreamId:
    """The one scene branch a batch of `submit_together` is for."""
    if not intents:
        raise ValueError("submit_together needs at least one intent")
    stream = StreamId(intents[0].scene, intents[0].branch)
    for intent in intents:
        if StreamId(intent.scene, intent.branch) != stream:
            raise ValueError(f"intents submitted together must share one scene branch ({stream})")
        if reviewed_against_one_state(intent):
            raise ValueError("merges and resolutions are submitted alone")
    return stream


async def _outcome(receipt: Awaitable[Receipt]) -> Receipt | Exception:
    try:
        return await receipt
    except Exception as exc:
        return exc


def intent_key(intent_id: str) -> str:
    """The key every intent is appended under: an intent id is used once, ever."""
    return f"intent:{intent_id}"


def _receipt_of(metadata: EventMetadata, result: AppendResult) -> Receipt:
    return Receipt(
        intent_id=metadata.intent_id,
        execution_id=metadata.execution_id,
        scene=result.scene,
        branch=result.branch,
        first_version=result.first_version,
        last_version=result.last_version,
        position=result.last_position,
    )


def _receipt(intent: AnyIntent, result: AppendResult, events: Sequence[NewEvent]) -> Receipt:
    return Receipt(
        intent_id=intent.id,
        execution_id=execution_id_for(intent.id),
        scene=result.scene,
        branch=result.branch,
        first_version=result.first_version,
        last_version=result.last_version,
        position=result.last_position,
        duplicate=result.duplicate,
        execution_started=any(isinstance(e.payload, ExecutionStarted) for e in events),
    )
