"""Merge laws, held by hypothesis over random edits on both sides of a small scene.

The key space is small on purpose (a few shots, clips, an image and a caption, a few
ids to add, three artifacts) so that the two sides' edits collide often: removes and
re-adds under another kind, moves into nodes the other side removed, moves that make
a loop only across the two sides, re-binds of an older artifact, second merges.

After every merge and every resolution (one at a time in any order, or all at once
either way) the scene must be valid (`engine.integrity.scene_problems`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.branching import Change
from engine.errors import InvalidIntent, NotFound
from engine.integrity import scene_problems
from engine.scene import SceneState
from tests.engine.scenes import Studio

SHA = ["aa" * 32, "bb" * 32, "cc" * 32]
# root: s0 (c0 (i0)), s1 (c1), s2, k0
BASE = [
    ("s0", "shot", "root"),
    ("s1", "shot", "root"),
    ("s2", "shot", "root"),
    ("k0", "caption", "root"),
    ("c0", "clip", "s0"),
    ("c1", "clip", "s1"),
    ("i0", "image", "c0"),
]
OLD = [node for node, _, _ in BASE]
NEW = ["n0", "n1"]
IDS = OLD + NEW
PARENTS = ["root", *IDS]
KINDS = ["shot", "clip", "image", "caption"]

ids = st.sampled_from(IDS)
containers = st.sampled_from(["s0", "s1", "s2", "c0", "c1"])
# what a container holds, so that most adds and moves are accepted (some are not)
placements = st.one_of(
    st.fixed_dictionaries(
        {"parent": st.just("root"), "kind": st.sampled_from(["shot", "caption"])}
    ),
    st.fixed_dictionaries(
        {"parent": containers, "kind": st.sampled_from(["clip", "image", "caption"])}
    ),
    st.fixed_dictionaries({"parent": st.sampled_from(IDS), "kind": st.sampled_from(KINDS)}),
)
values = {  # each prop with the nodes that usually have it
    "title": (["s0", "s1", "s2", "c0", "c1", "n0"], ["x", "y"]),
    "duration": (["s0", "s1", "c0", "c1", "n1"], [1.0, 2.0]),
    "text": (["k0", "n0", "n1", "c1"], ["x", "y"]),
    "seed": (["i0", "n0", "s2"], [1, 2]),
}
edit = st.one_of(
    st.tuples(
        st.just("set_property"),
        st.sampled_from(sorted(values)).flatmap(
            lambda prop: st.fixed_dictionaries(
                {
                    "node": st.sampled_from(values[prop][0]),
                    "prop": st.just(prop),
                    "value": st.sampled_from(values[prop][1]),
                }
            )
        ),
    ),
    st.tuples(st.just("remove_node"), st.fixed_dictionaries({"node": ids})),
    st.tuples(
        st.just("add_node"),
        st.builds(lambda node, place: {"node": node, **place}, st.sampled_from(NEW), placements),
    ),
    # remove and add again under the same id, usually with another kind
    st.tuples(
        st.just("readd"),
        st.builds(lambda node, place: {"node": node, **place}, ids, placements),
    ),
    st.tuples(
        st.just("move_node"),
        st.fixed_dictionaries(
            {
                "node": st.one_of(st.sampled_from(["c0", "c1", "i0", "k0", "n0", "n1"]), ids),
                "parent": st.one_of(containers, st.sampled_from(["root", *IDS])),
            },
            optional={"after": st.sampled_from(IDS)},
        ),
    ),
    st.tuples(
        st.just("bind_artifact"),
        st.fixed_dictionaries(
            {
                "node": st.sampled_from(["s0", "s1", "i0", "n0", "n1"]),
                "slot": st.just("image"),
                "artifact": st.sampled_from(SHA),
            }
        ),
    ),
)
edits = st.lists(edit, max_size=8)
# only structure: moves, removes and re-adds among a few containers, so that loops
# across the sides, moves into removed nodes and kind changes under children are common
movable = st.sampled_from(["c0", "c1", "i0", "k0", "n0"])
structure = st.lists(
    st.one_of(
        st.tuples(
            st.just("move_node"),
            st.fixed_dictionaries({"node": movable, "parent": st.sampled_from(["root", *IDS])}),
        ),
        st.tuples(st.just("remove_node"), st.fixed_dictionaries({"node": ids})),
        st.tuples(
            st.just("readd"),
            st.builds(lambda node, place: {"node": node, **place}, ids, placements),
        ),
        st.tuples(
            st.just("add_node"),
            st.builds(lambda node, place: {"node": node, **place}, st.just("n0"), placements),
        ),
    ),
    min_size=1,
    max_size=5,
)
choices = st.sampled_from(["ours", "theirs"])
SETTINGS = settings(
    max_examples=int(os.environ.get("MERGE_EXAMPLES", "100")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


async def scenario(ours: list[Any], theirs: list[Any], **opts: Any) -> Studio:
    studio = Studio(**opts)
    await studio.act("main", "create_scene", title="t")
    for node, kind, parent in BASE:
        await studio.act("main", "add_node", kind=kind, node=node, parent=parent)
    await studio.act("main", "bind_artifact", node="i0", slot="image", artifact=SHA[0])
    await studio.act("main", "bind_artifact", node="i0", slot="image", artifact=SHA[1])
    await studio.act("main", "bind_artifact", node="s0", slot="image", artifact=SHA[0])
    await studio.fork("alt")
    await apply_edits(studio, "main", ours)
    await apply_edits(studio, "alt", theirs)
    return studio


async def apply_edits(studio: Studio, branch: str, ops: list[Any]) -> None:
    for name, args in ops:
        with contextlib.suppress(InvalidIntent, NotFound):
            if name == "readd":
                await studio.act(branch, "remove_node", node=args["node"])
                name = "add_node"
            await studio.act(branch, name, **args)


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def content(state: SceneState) -> dict[str, Any]:
    return {
        n.id: (
            n.kind,
            n.parent,
            n.order,
            {k: p.value for k, p in n.props.items()},
            {s: [b.artifact for b in bs] for s, bs in n.slots.items()},
        )
        for n in state.nodes.values()
    }


def conflict_keys(state: SceneState, swap: bool = False) -> set[tuple[Any, ...]]:
    keys = set()
    for c in state.conflicts.values():
        ours, theirs = (c.theirs, c.ours) if swap else (c.ours, c.theirs)
        keys.add((c.node, c.field, _side(c.base), _side(ours), _side(theirs)))
    return keys


def _side(side: Any) -> Any:
    node = side.node
    image = (
        None
        if node is None
        else (
            node.kind,
            node.parent,
            node.order,
            tuple(sorted((k, p.value) for k, p in node.props.items())),
            tuple(sorted((s, tuple(b.artifact for b in bs)) for s, bs in node.slots.items())),
        )
    )
    return (side.present, side.value, side.order, image)


async def valid(studio: Studio, branch: str = "main") -> SceneState:
    state = await studio.state(branch)
    problems = scene_problems(state)
    assert not problems, problems
    return state


async def merged_both_ways(ours: list[Any], theirs: list[Any]) -> tuple[Studio, Studio]:
    """The same two histories merged alt into main, and main into alt."""
    one, two = await scenario(ours, theirs), await scenario(ours, theirs)
    await one.merge("alt", into="main")
    await two.merge("main", into="alt")
    return one, two


async def resolve_all(studio: Studio, branch: str, choice: str) -> SceneState:
    if (await studio.state(branch)).conflicts:
        await studio.act(branch, "resolve_all", choice=choice)
    state = await valid(studio, branch)
    assert not state.conflicts, "resolve --all left conflicts open"
    return state


def other(choice: str) -> str:
    return "theirs" if choice == "ours" else "ours"


async def assert_symmetric(one: Studio, two: Studio, choice: str) -> None:
    """`one` merged alt into main and `two` main into alt: the same conflicts with ours
    and theirs swapped, and the same scene once resolved the same way."""
    main, alt = await valid(one, "main"), await valid(two, "alt")
    assert conflict_keys(main) == conflict_keys(alt, swap=True)
    resolved_one = await resolve_all(one, "main", choice)
    resolved_two = await resolve_all(two, "alt", other(choice))
    assert content(resolved_one) == content(resolved_two)


@SETTINGS
@given(edits, edits, choices)
def test_merges_are_valid_and_the_same_from_either_side(
    ours: list[Any], theirs: list[Any], choice: str
) -> None:
    async def check() -> None:
        one, two = await merged_both_ways(ours, theirs)
        await assert_symmetric(one, two, choice)

    run(check())


@SETTINGS
@given(edits, edits, choices, st.randoms(use_true_random=False))
def test_one_at_a_time_in_any_order_ends_where_all_at_once_does(
    ours: list[Any], theirs: list[Any], choice: str, rng: random.Random
) -> None:
    async def check() -> None:
        one, two = await scenario(ours, theirs), await scenario(ours, theirs)
        await one.merge("alt", into="main")
        await two.merge("alt", into="main")
        await resolve_one_by_one(one, lambda: choice, rng, fallback=False)
        assert content(await valid(one)) == content(await resolve_all(two, "main", choice))

    run(check())


@SETTINGS
@given(edits, edits, st.randoms(use_true_random=False))
def test_mixed_resolutions_keep_the_scene_valid_and_never_get_stuck(
    ours: list[Any], theirs: list[Any], rng: random.Random
) -> None:
    async def check() -> None:
        studio = await scenario(ours, theirs)
        await studio.merge("alt", into="main")
        await resolve_one_by_one(studio, lambda: rng.choice(["ours", "theirs"]), rng, fallback=True)

    run(check())


async def resolve_one_by_one(studio: Studio, pick: Any, rng: random.Random, fallback: bool) -> None:
    """Resolve every open conflict one at a time in a random order (a refused choice
    waits for the next round, or with `fallback` tries the other side); a refusal
    leaves the scene as it was, and some conflict must always be resolvable."""
    while open_ids := sorted((await studio.state()).conflicts):
        rng.shuffle(open_ids)
        progress = False
        for conflict in open_ids:
            wanted = pick()
            for choice in (wanted, other(wanted)) if fallback else (wanted,):
                before = await studio.state()
                try:
                    await studio.act("main", "resolve_conflict", conflict=conflict, choice=choice)
                except InvalidIntent:
                    assert content(await studio.state()) == content(before)
                    continue
                await valid(studio)
                progress = True
                break
        assert progress, "no open conflict could be resolved either way"


@SETTINGS
@given(edits, edits, choices, edits, edits, choices)
def test_second_merges_in_both_directions(
    ours: list[Any],
    theirs: list[Any],
    first: str,
    ours_later: list[Any],
    theirs_later: list[Any],
    second: str,
) -> None:
    async def history() -> Studio:
        studio = await scenario(ours, theirs)
        await studio.merge("alt", into="main")
        await resolve_all(studio, "main", first)
        await apply_edits(studio, "main", ours_later)
        await apply_edits(studio, "alt", theirs_later)
        return studio

    async def check() -> None:
        one, two = await history(), await history()
        await one.merge("alt", into="main")
        await two.merge("main", into="alt")
        await assert_symmetric(one, two, second)
        await one.merge("main", into="alt")  # and back: alt now holds what main holds
        alt = await valid(one, "alt")
        assert not alt.conflicts and content(alt) == content(await one.state("main"))

    run(check())


@SETTINGS
@given(structure, structure, structure, structure, st.randoms(use_true_random=False))
def test_a_second_merge_over_open_conflicts_keeps_everything_resolvable(
    ours: list[Any],
    theirs: list[Any],
    ours_later: list[Any],
    theirs_later: list[Any],
    rng: random.Random,
) -> None:
    async def check() -> None:
        studio = await scenario(ours, theirs)
        await studio.merge("alt", into="main")
        await apply_edits(studio, "main", ours_later)
        await apply_edits(studio, "alt", theirs_later)
        await studio.merge("alt", into="main")
        await valid(studio)
        await resolve_one_by_one(studio, lambda: rng.choice(["ours", "theirs"]), rng, fallback=True)

    run(check())


@SETTINGS
@given(edits)
def test_merging_a_branch_into_itself_changes_nothing(ops: list[Any]) -> None:
    async def check() -> None:
        studio = await scenario(ops, [])
        before = await studio.state()
        await studio.merge("main", into="main")
        assert content(await studio.state()) == content(before)

    run(check())


@SETTINGS
@given(edits)
def test_merging_an_unchanged_source_is_a_no_op(ops: list[Any]) -> None:
    async def check() -> None:
        studio = await scenario(ops, [])
        before = await studio.state()
        await studio.merge("alt", into="main")
        after = await studio.state()
        assert content(after) == content(before) and not after.conflicts

    run(check())


@SETTINGS
@given(edits)
def test_merging_into_an_unchanged_target_fast_forwards(ops: list[Any]) -> None:
    async def check() -> None:
        studio = await scenario([], ops)
        await studio.merge("alt", into="main")
        main, alt = await studio.state(), await studio.state("alt")
        assert content(main) == content(alt) and not main.conflicts

    run(check())


@SETTINGS
@given(edits, edits)
def test_merging_twice_changes_nothing_more(ours: list[Any], theirs: list[Any]) -> None:
    async def check() -> None:
        studio = await scenario(ours, theirs)
        await studio.merge("alt", into="main")
        once = await studio.state()
        await studio.merge("alt", into="main")
        twice = await studio.state()
        assert content(twice) == content(once) and twice.conflicts == once.conflicts

    run(check())


@SETTINGS
@given(edits, edits)
def test_no_edit_is_lost_without_a_conflict_naming_it(ours: list[Any], theirs: list[Any]) -> None:
    async def check() -> None:
        studio = await scenario(ours, theirs)
        base = await studio.state("alt", 1)
        main, alt = await studio.state(), await studio.state("alt")
        await studio.merge("alt", into="main")
        merged = await studio.state()
        named = {(c.node, c.field) for c in merged.conflicts.values()}
        for side, other_side in ((main, alt), (alt, main)):
            rebound = _rebound(base, other_side)
            for change in await studio.service.diff(base, side):
                kept = survives(change, merged, rebound)
                assert kept or _named(change, named), (change, named)

    run(check())


def _rebound(base: SceneState, side: SceneState) -> set[tuple[str, str, str]]:
    """(node, slot, artifact) the side bound since the base (a re-bind adds anew)."""
    found = set()
    for node in side.nodes.values():
        was = base.nodes.get(node.id)
        for slot, bindings in node.slots.items():
            before = set(was.slots.get(slot, ())) if was is not None else set()
            found.update((node.id, slot, b.artifact) for b in bindings if b not in before)
    return found


def survives(change: Change, merged: SceneState, rebound: set[tuple[str, str, str]]) -> bool:
    node = merged.nodes.get(change.node)
    if change.field == "node":
        return (node is None) == (change.new is None) and (node is None or node.kind == change.new)
    if node is None:
        return False
    if change.field == "parent":
        return node.parent == change.new
    if change.field == "order":
        return node.order == change.new
    if change.field.startswith("slot:"):
        slot = change.field[5:]
        held = [b.artifact for b in node.slots.get(slot, ())]
        old = change.old if isinstance(change.old, list) else []
        new = change.new if isinstance(change.new, list) else []
        if new and old[-1:] != new[-1:] and new[-1:] != held[-1:]:
            return False  # the side made another artifact current, and the merge lost it
        removed = {a for a in set(old) - set(new) if (node.id, slot, a) not in rebound}
        return set(new) - set(old) <= set(held) and not removed & set(held)
    held_prop = node.props.get(change.field[5:])
    return (held_prop.value if held_prop else None) == change.new


def _named(change: Change, named: set[tuple[str, str]]) -> bool:
    fields = {change.field, "node"}
    if change.field == "order":
        fields.add("parent")
    return any((change.node, f) in named for f in fields)


@SETTINGS
@given(edits, edits, st.integers(1, 7))
def test_replay_equals_snapshot_load_on_every_branch(
    ours: list[Any], theirs: list[Any], every: int
) -> None:
    async def check() -> None:
        studio = await scenario(ours, theirs, snapshot_every=every)
        await studio.merge("alt", into="main")
        await studio.fork("late", source="main")
        await apply_edits(studio, "late", theirs)
        plain = Studio(studio.store, snapshot_every=0)
        plain.store.snapshots = {}  # type: ignore[attr-defined]
        for branch in ("main", "alt", "late"):
            snap = await studio.state(branch)
            replay = await plain.state(branch)
            assert snap == replay

    run(check())
