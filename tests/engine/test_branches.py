"""Branches: fork anywhere, merge three ways, conflicts as data, diffs with provenance."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

import pytest

from engine.errors import ConcurrencyConflict, InvalidIntent, NotFound
from engine.events import MergeApplied, NewEvent
from engine.ports import AppendResult, StreamId
from tests.engine.scenes import Studio, shots
from tests.memory_store import MemoryStore

SHA_A, SHA_B, SHA_C = "aa" * 32, "bb" * 32, "cc" * 32


@pytest.fixture
async def studio() -> Studio:
    s = Studio()
    await shots(s)
    return s


async def test_fork_starts_from_the_parent_at_any_version(studio: Studio) -> None:
    await studio.fork("alt")
    await studio.fork("early", at=2)
    alt, early = await studio.state("alt"), await studio.state("early")
    assert set(alt.nodes) == {"root", "shot-1", "shot-2", "shot-3"}
    assert set(early.nodes) == {"root"}
    assert (alt.parent, alt.fork_version) == ("main", (await studio.state()).version)
    await studio.set("alt", "shot-1", "title", "Alt")
    assert await studio.value("main", "shot-1", "title") == "Shot 1"
    assert await studio.value("alt", "shot-1", "title") == "Alt"


async def test_branches_of_branches(studio: Studio) -> None:
    await studio.fork("a")
    await studio.set("a", "shot-1", "title", "A")
    await studio.fork("b", source="a")
    await studio.set("b", "shot-2", "title", "B")
    b = await studio.state("b")
    assert (b.nodes["shot-1"].value("title"), b.nodes["shot-2"].value("title")) == ("A", "B")
    await studio.merge("b", into="main")
    main = await studio.state()
    assert (main.nodes["shot-1"].value("title"), main.nodes["shot-2"].value("title")) == ("A", "B")


@pytest.mark.parametrize(
    ("name", "source", "at", "error", "words"),
    [
        ("alt", "main", 999, InvalidIntent, "past it"),
        ("Bad Name", "main", None, InvalidIntent, "branch"),
        ("alt", "ghost", None, NotFound, "ghost"),
        ("main", "main", None, InvalidIntent, "already exists"),
    ],
)
async def test_bad_forks_are_refused(
    studio: Studio, name: str, source: str, at: int | None, error: type, words: str
) -> None:
    before = await studio.state()
    with pytest.raises(error, match=words):
        await studio.fork(name, source=source, at=at)
    assert await studio.state() == before


async def test_duplicate_branch_name_is_refused(studio: Studio) -> None:
    await studio.fork("alt")
    with pytest.raises(InvalidIntent, match="already exists"):
        await studio.fork("alt")


async def test_one_sided_and_same_changes_merge_cleanly(studio: Studio) -> None:
    await studio.fork("alt")
    await studio.set("alt", "shot-1", "title", "Theirs")
    await studio.set("main", "shot-2", "title", "Ours")
    await studio.set("alt", "shot-3", "duration", 7.0)
    await studio.set("main", "shot-3", "duration", 7.0)
    await studio.merge("alt", into="main")
    main = await studio.state()
    assert [
        main.nodes[f"shot-{n}"].value(p) for n, p in ((1, "title"), (2, "title"), (3, "duration"))
    ] == ["Theirs", "Ours", 7.0]
    assert not main.conflicts
    taken = main.nodes["shot-1"].props["title"].provenance
    assert taken.branch == "alt"


async def test_both_changed_differently_is_a_conflict_that_keeps_ours(studio: Studio) -> None:
    await studio.fork("alt")
    await studio.set("alt", "shot-1", "title", "Theirs")
    await studio.set("main", "shot-1", "title", "Ours")
    await studio.merge("alt", into="main")
    main = await studio.state()
    (conflict,) = main.conflicts.values()
    assert (conflict.node, conflict.field) == ("shot-1", "prop:title")
    assert (conflict.base.value, conflict.ours.value, conflict.theirs.value) == (
        "Shot 1",
        "Ours",
        "Theirs",
    )
    assert conflict.theirs.provenance is not None and conflict.theirs.provenance.branch == "alt"
    assert main.nodes["shot-1"].value("title") == "Ours"
    assert main.conflicted_nodes() == {"shot-1"}


async def test_conflicts_resolve_one_at_a_time_or_all_at_once(studio: Studio) -> None:
    await studio.fork("alt")
    for n in (1, 2, 3):
        await studio.set("alt", f"shot-{n}", "title", f"T{n}")
        await studio.set("main", f"shot-{n}", "title", f"O{n}")
    await studio.merge("alt", into="main")
    ids = {c.node: c.conflict for c in (await studio.state()).conflicts.values()}
    await studio.act("main", "resolve_conflict", conflict=ids["shot-1"], choice="theirs")
    await studio.act(
        "main", "resolve_conflict", conflict=ids["shot-2"], choice="value", value="New"
    )
    with pytest.raises(InvalidIntent, match="no open conflict"):
        await studio.act("main", "resolve_conflict", conflict=ids["shot-1"], choice="ours")
    await studio.act("main", "resolve_all", choice="ours")
    main = await studio.state()
    assert [main.nodes[f"shot-{n}"].value("title") for n in (1, 2, 3)] == ["T1", "New", "O3"]
    assert not main.conflicts
    with pytest.raises(InvalidIntent, match="no open conflicts"):
        await studio.act("main", "resolve_all", choice="theirs")


async def test_node_added_on_both_sides(studio: Studio) -> None:
    await studio.fork("alt")
    await studio.act("alt", "add_node", kind="shot", node="shot-x", props={"title": "T"})
    await studio.act("main", "add_node", kind="shot", node="shot-y", props={"title": "O"})
    await studio.act("alt", "add_node", kind="shot", node="same", props={"title": "T"})
    await studio.act("main", "add_node", kind="shot", node="same", props={"title": "O"})
    await studio.merge("alt", into="main")
    main = await studio.state()
    assert {"shot-x", "shot-y", "same"} <= set(main.nodes)
    assert [(c.node, c.field) for c in main.conflicts.values()] == [("same", "prop:title")]


async def test_delete_on_one_side_and_modify_on_the_other(studio: Studio) -> None:
    await studio.fork("alt")
    await studio.act("alt", "remove_node", node="shot-1")
    await studio.set("main", "shot-1", "title", "Kept")
    await studio.act("alt", "remove_node", node="shot-2")
    await studio.merge("alt", into="main")
    main = await studio.state()
    assert "shot-1" in main.nodes and "shot-2" not in main.nodes
    (conflict,) = main.conflicts.values()
    assert (conflict.field, conflict.ours.present, conflict.theirs.present) == ("node", True, False)
    await studio.act("main", "resolve_conflict", conflict=conflict.conflict, choice="theirs")
    assert "shot-1" not in (await studio.state()).nodes


async def test_reorders_on_both_sides(studio: Studio) -> None:
    await studio.fork("alt")
    await studio.act("alt", "move_node", node="shot-3", parent="root")  # last already: no-op key
    await studio.act("alt", "move_node", node="shot-1", parent="root", after="shot-3")
    await studio.act("main", "move_node", node="shot-2", parent="root", after="shot-3")
    await studio.merge("alt", into="main")
    main = await studio.state()
    assert not main.conflicts
    assert main.child_ids("root")[0] == "shot-3"
    assert set(main.child_ids("root")) == {"shot-1", "shot-2", "shot-3"}


async def test_the_same_node_reordered_differently_on_both_sides_is_a_conflict() -> None:
    studio = Studio()
    await shots(studio, 4)
    await studio.fork("alt")
    await studio.act("alt", "move_node", node="shot-1", parent="root", after="shot-3")
    await studio.act("main", "move_node", node="shot-1", parent="root", after="shot-4")
    await studio.merge("alt", into="main")
    (conflict,) = (await studio.state()).conflicts.values()
    assert (conflict.field, conflict.ours.value, conflict.theirs.value) == ("order", "root", "root")
    assert conflict.ours.order != conflict.theirs.order


async def test_moves_to_different_parents_and_cycles(studio: Studio) -> None:
    await studio.act("main", "add_node", kind="clip", node="c1", parent="shot-1")
    await studio.act("main", "add_node", kind="clip", node="c2", parent="shot-2")
    await studio.fork("alt")
    await studio.act("alt", "move_node", node="c1", parent="shot-2")
    await studio.act("main", "move_node", node="c1", parent="shot-3")
    await studio.merge("alt", into="main")
    (conflict,) = (await studio.state()).conflicts.values()
    assert (conflict.field, conflict.ours.value, conflict.theirs.value) == (
        "parent",
        "shot-3",
        "shot-2",
    )


async def test_a_merged_move_that_would_make_a_cycle_is_refused(studio: Studio) -> None:
    await studio.act("main", "add_node", kind="clip", node="a", parent="shot-1")
    await studio.act("main", "add_node", kind="clip", node="b", parent="shot-1")
    await studio.fork("alt")
    await studio.act("alt", "move_node", node="a", parent="b")
    await studio.act("main", "move_node", node="b", parent="a")
    await studio.merge("alt", into="main")
    main = await studio.state()
    assert main.nodes["a"].parent == "shot-1" and main.nodes["b"].parent == "a"
    # each move makes the loop only with the other, so both are in conflict (from
    # either branch alike), and resolving all of them either way leaves no loop
    assert sorted((c.node, c.field) for c in main.conflicts.values()) == [
        ("a", "parent"),
        ("b", "parent"),
    ]
    await studio.act("main", "resolve_all", choice="theirs")
    main = await studio.state()
    assert main.nodes["a"].parent == "b" and main.nodes["b"].parent == "shot-1"


async def test_slot_additions_on_both_sides_survive(studio: Studio) -> None:
    await studio.act("main", "bind_artifact", node="shot-1", slot="image", artifact=SHA_A)
    await studio.fork("alt")
    await studio.act("alt", "bind_artifact", node="shot-1", slot="image", artifact=SHA_B)
    await studio.act("main", "bind_artifact", node="shot-1", slot="image", artifact=SHA_C)
    await studio.merge("alt", into="main")
    main = await studio.state()
    bound = [b.artifact for b in main.nodes["shot-1"].slots["image"]]
    # both additions while the conflict is open, ours current; A, re-bound on both
    # sides, is history (the log has it, the state does not)
    assert bound == [SHA_B, SHA_C]
    (conflict,) = main.conflicts.values()
    assert (conflict.field, conflict.ours.value, conflict.theirs.value) == (
        "slot:image",
        SHA_C,
        SHA_B,
    )
    await studio.act("main", "resolve_conflict", conflict=conflict.conflict, choice="theirs")
    resolved = (await studio.state()).nodes["shot-1"]
    assert [b.artifact for b in resolved.slots["image"]] == [SHA_B]


async def test_a_slot_made_current_on_one_side_only_is_taken(studio: Studio) -> None:
    await studio.act("main", "bind_artifact", node="shot-1", slot="image", artifact=SHA_A)
    await studio.act("main", "bind_artifact", node="shot-1", slot="image", artifact=SHA_B)
    await studio.fork("alt")
    await studio.act("alt", "bind_artifact", node="shot-1", slot="image", artifact=SHA_A)
    await studio.act("alt", "bind_artifact", node="shot-2", slot="image", artifact=SHA_C)
    await studio.act("main", "bind_artifact", node="shot-2", slot="image", artifact=SHA_C)
    await studio.set("main", "shot-1", "title", "Ours")
    await studio.merge("alt", into="main")
    main = await studio.state()
    assert not main.conflicts
    assert [b.artifact for b in main.nodes["shot-1"].slots["image"]] == [SHA_A]
    assert main.nodes["shot-2"].artifact("image") == SHA_C


async def test_repeated_merges_both_ways_find_the_right_base(studio: Studio) -> None:
    await studio.fork("alt")
    await studio.set("alt", "shot-1", "title", "A1")
    await studio.merge("alt", into="main")
    await studio.set("main", "shot-2", "title", "M1")
    await studio.merge("main", into="alt")
    await studio.set("alt", "shot-1", "title", "A2")
    await studio.set("main", "shot-3", "title", "M2")
    await studio.merge("alt", into="main")
    await studio.merge("main", into="alt")
    main, alt = await studio.state(), await studio.state("alt")
    for state in (main, alt):
        assert not state.conflicts
        assert [state.nodes[f"shot-{n}"].value("title") for n in (1, 2, 3)] == ["A2", "M1", "M2"]


async def test_sibling_branches_merge_from_their_common_fork(studio: Studio) -> None:
    await studio.fork("a")
    await studio.set("main", "shot-3", "title", "Main later")
    await studio.fork("b")
    await studio.set("a", "shot-1", "title", "A")
    await studio.set("b", "shot-2", "title", "B")
    await studio.merge("a", into="b")
    b = await studio.state("b")
    assert not b.conflicts
    titles = [b.nodes[f"shot-{n}"].value("title") for n in (1, 2, 3)]
    assert titles == ["A", "B", "Main later"]


async def test_two_concurrent_merges_into_one_target_cannot_both_apply(studio: Studio) -> None:
    await studio.fork("a")
    await studio.fork("b")
    await studio.set("a", "shot-1", "title", "A")
    await studio.set("b", "shot-2", "title", "B")
    results = await asyncio.gather(
        studio.merge("a", into="main"), studio.merge("b", into="main"), return_exceptions=True
    )
    losers = [r for r in results if isinstance(r, ConcurrencyConflict)]
    assert len(losers) == 1 and "reload" in str(losers[0])


class RacedStore(MemoryStore):
    """A store where, just before each of the first `races` merges lands, someone else
    appends to its target: `racer` is called with the target's stream."""

    def __init__(self, races: int, racer: Callable[[StreamId], Awaitable[object]]) -> None:
        super().__init__()
        self.races = races
        self.racer = racer

    async def append(
        self,
        stream: StreamId,
        events: Sequence[NewEvent],
        expected_version: int,
        idempotency_key: str | None = None,
    ) -> AppendResult:
        if self.races and any(isinstance(e.payload, MergeApplied) for e in events):
            self.races -= 1
            await self.racer(stream)
        return await super().append(stream, events, expected_version, idempotency_key)


async def test_a_merge_that_loses_a_race_to_the_pipeline_is_decided_again() -> None:
    """A task being dispatched while a merge is decided is no reason to refuse the
    merge: nobody reviewed it against that bookkeeping. An edit is."""
    store = RacedStore(races=0, racer=lambda stream: asyncio.sleep(0))
    studio = Studio(store)
    await shots(studio)
    await studio.fork("alt")
    await studio.set("alt", "shot-1", "title", "Alt")
    for _ in range(3):  # tasks the dispatcher marks while merges are decided
        await studio.act("main", "diagnose", count=1, operation="echo")
    store.races, store.racer = 3, lambda stream: dispatch_one(studio, stream)
    await studio.merge("alt", into="main")
    assert await studio.value("main", "shot-1", "title") == "Alt"

    store.races, store.racer = 1, lambda stream: studio.set("main", "shot-2", "title", "Edit")
    await studio.set("alt", "shot-3", "title", "Later")
    with pytest.raises(ConcurrencyConflict):
        await studio.merge("alt", into="main")


async def dispatch_one(studio: Studio, stream: StreamId) -> None:
    """Mark one planned task of the branch dispatched, as the dispatcher does."""
    state = await studio.state(stream.branch)
    task = next(t for t in state.tasks.values() if not t.dispatched)
    await studio.service.mark_dispatched(stream.scene, stream.branch, [(task.id, 1)], "st")


async def test_diff_between_branches_and_versions(studio: Studio) -> None:
    await studio.fork("alt")
    v = (await studio.state()).version
    await studio.set("alt", "shot-1", "title", "Alt")
    await studio.set("main", "shot-2", "duration", 9.0)
    changes = await studio.service.diff(await studio.state("main"), await studio.state("alt"))
    assert {(c.node, c.field, c.old, c.new) for c in changes} == {
        ("shot-1", "prop:title", "Shot 1", "Alt"),
        ("shot-2", "prop:duration", 9.0, 5.0),
    }
    own = await studio.service.diff(await studio.state("main", v), await studio.state("main"))
    (change,) = own
    assert (change.node, change.old, change.new) == ("shot-2", 5.0, 9.0)
    assert change.new_provenance is not None and change.new_provenance.version == v + 2


async def test_merge_of_a_missing_branch_is_not_found(studio: Studio) -> None:
    with pytest.raises(NotFound, match="ghost"):
        await studio.merge("ghost", into="main")


async def test_merge_into_a_missing_scene_or_branch_is_not_found(studio: Studio) -> None:
    with pytest.raises(NotFound, match="no branch 'nowhere'"):
        await studio.merge("main", into="nowhere")
    elsewhere = Studio(studio.store, scene="never-made")
    with pytest.raises(NotFound, match="never-made"):
        await elsewhere.merge("main", into="main")


async def test_a_production_render_waits_until_the_conflicts_are_resolved(studio: Studio) -> None:
    await studio.fork("alt")
    await studio.set("alt", "shot-1", "title", "Theirs")
    await studio.set("main", "shot-1", "title", "Ours")
    await studio.merge("alt", into="main")
    before = await studio.state()
    with pytest.raises(InvalidIntent, match=r"1 merge conflicts are open.*shot-1"):
        await studio.act("main", "render")
    assert await studio.state() == before
    preview = await studio.act("main", "render", goal="preview")
    assert (await studio.execution(preview.execution_id)).execution.goal == "preview"
    await studio.act("main", "resolve_all", choice="ours")
    done = await studio.act("main", "render")
    assert (await studio.execution(done.execution_id)).execution.goal == "production"
