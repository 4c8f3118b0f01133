"""Loading what branch intents and diffs need: fork points, merge bases, changed nodes.

It reads through two functions the service gives it (load a state, read a slice
of a stream), so it holds no store of its own. It keeps the few states that later
merges start from (each merge's source and target, each fork point): a merge base
is an old version of a branch, long gone from the state cache of a busy scene, and
loading it from a snapshot would cost a decode of the whole scene, so a merge
would cost what the scene holds instead of what changed.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable

from engine.branch_decisions import ForkContext, MergeContext
from engine.branching import (
    BranchRef,
    Change,
    base_refs,
    change_plan,
    contains,
    diff_states,
    pick_base,
    touched_nodes,
)
from engine.events import RecordedEvent
from engine.intents import ForkBranch
from engine.ports import StreamId
from engine.reducers import fold
from engine.scene import SceneState

LoadState = Callable[[str, str, int | None], Awaitable[SceneState]]
ReadSlice = Callable[[StreamId, int, int | None], Awaitable[list[RecordedEvent]]]


KEPT_STATES = 64  # states later merges start from, over all scenes
KEPT_TAIL = 400  # events folded onto a kept state at most, before loading instead


class Ancestry:
    def __init__(self, load: LoadState, read: ReadSlice) -> None:
        self._load = load
        self._read = read
        self._kept: OrderedDict[tuple[str, str, int], SceneState] = OrderedDict()

    async def fork_context(self, scene: str, action: ForkBranch) -> ForkContext:
        head = await self._load(scene, action.source, None)
        at = action.at_version
        parent_at = (
            head if at is None or at >= head.version else await self._load(scene, action.source, at)
        )
        self._keep(parent_at)  # the base of the new branch's first merge
        return ForkContext(parent_head=head, parent_at=parent_at)

    async def merge_context(self, ours: SceneState, source_branch: str) -> MergeContext:
        last = next((m for m in reversed(ours.merges) if m.source == source_branch), None)
        if last is not None and ours.includes.get(source_branch) == last.source_version:
            # The source as the last merge from it took it: likely the base. Loaded
            # first, the source's head then folds on from it (in the state cache)
            # instead of decoding a snapshot of its own.
            await self.state_at(ours.scene, BranchRef(source_branch, last.source_version))
        theirs = await self._load(ours.scene, source_branch, None)
        base_ref, base = await self.merge_base(ours, theirs)
        candidates = await self.changed_between(ours, theirs, base_ref)
        # the bases of the next merges between the two, either way
        self._keep(ours)
        self._keep(theirs)
        return MergeContext(source=theirs, base=base, candidates=candidates)

    async def state_at(self, scene: str, ref: BranchRef) -> SceneState:
        """A branch at a version: a kept state, or one a few events before it with those
        events folded on, or else loaded."""
        near = max(
            (v for (s, b, v) in self._kept if s == scene and b == ref.branch and v <= ref.version),
            default=None,
        )
        if near is None or ref.version - near > KEPT_TAIL:
            state = await self._load(scene, ref.branch, ref.version)
        else:
            state = self._kept[(scene, ref.branch, near)]
            self._kept.move_to_end((scene, ref.branch, near))
            if near < ref.version:
                tail = await self._read(StreamId(scene, ref.branch), near, ref.version)
                state = fold(state, tail)
        self._keep(state)
        return state

    def _keep(self, state: SceneState) -> None:
        if state.version == 0:
            return
        key = (state.scene, state.branch, state.version)
        self._kept[key] = state
        self._kept.move_to_end(key)
        while len(self._kept) > KEPT_STATES:
            self._kept.popitem(last=False)

    async def merge_base(
        self, ours: SceneState, theirs: SceneState
    ) -> tuple[BranchRef | None, SceneState]:
        """The newest state both contain, or an empty scene when they share nothing.

        A candidate that one already loaded contains (a fork point under the last
        merge, say) can never be the newest, so it is not loaded at all.
        """
        sides = (ours.branch, theirs.branch)
        refs = sorted(base_refs(ours, theirs), key=lambda r: (r.branch not in sides, -r.version))
        candidates: dict[BranchRef, SceneState] = {}
        for candidate in refs:
            if not any(contains(state, candidate) for state in candidates.values()):
                candidates[candidate] = await self.state_at(ours.scene, candidate)
        ref = pick_base(candidates)
        if ref is None:
            return None, SceneState(scene=ours.scene, branch="main")
        return ref, candidates[ref]

    async def changed_between(
        self, ours: SceneState, theirs: SceneState, base: BranchRef | None
    ) -> frozenset[str] | None:
        """Nodes either side may have changed since `base`; None means compare everything."""
        if base is None:
            return None
        heads = {ours.branch: ours, theirs.branch: theirs}
        mine = await self._changed_since(ours.scene, ours.branch, ours.version, base, heads)
        yours = await self._changed_since(ours.scene, theirs.branch, theirs.version, base, heads)
        if mine is None or yours is None:
            return None
        return frozenset(mine | yours)

    async def _changed_since(
        self,
        scene: str,
        branch: str,
        head: int,
        base: BranchRef,
        heads: dict[str, SceneState],
    ) -> set[str] | None:
        await self._load_chain(scene, branch, heads)
        plan = change_plan(branch, head, base, heads.get)
        if plan is None:
            return None
        touched = set(plan.kept)
        for piece in plan.slices:
            if piece.up_to > piece.after:
                events = await self._read(StreamId(scene, piece.branch), piece.after, piece.up_to)
                touched |= touched_nodes(e.payload for e in events)
        return touched

    async def _load_chain(self, scene: str, branch: str, heads: dict[str, SceneState]) -> None:
        """Head states of `branch` and of every branch it forked from."""
        current: str | None = branch
        while current is not None:
            if current not in heads:
                heads[current] = await self._load(scene, current, None)
            current = heads[current].parent

    async def diff(self, old: SceneState, new: SceneState) -> list[Change]:
        """Per node and field, what changed from `old` to `new` (any branches, any versions)."""
        if old.branch == new.branch:
            base: BranchRef | None = BranchRef(old.branch, min(old.version, new.version))
        else:
            base, _ = await self.merge_base(old, new)
        candidates = await self.changed_between(old, new, base)
        return diff_states(old, new, candidates)
