"""Merge laws, held by hypothesis over random edits on both sides of a small scene.

The key space is small on purpose (three shots, two clips, a few values) so that
the two sides' edits collide often.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.branching import Change
from engine.errors import InvalidIntent, NotFound
from engine.scene import SceneState
from tests.engine.scenes import Studio

SHOTS = ["s0", "s1", "s2"]
CLIPS = ["c0", "c1", "c2"]
SHA = ["aa" * 32, "bb" * 32, "cc" * 32]

edit = st.one_of(
    st.tuples(
        st.just("set_property"),
        st.fixed_dictionaries(
            {
                "node": st.sampled_from(SHOTS + CLIPS),
                "prop": st.just("title"),
                "value": st.sampled_from(["x", "y", "z"]),
            }
        ),
    ),
    st.tuples(
        st.just("set_property"),
        st.fixed_dictionaries(
            {
                "node": st.sampled_from(SHOTS),
                "prop": st.just("duration"),
                "value": st.sampled_from([1.0, 2.0]),
            }
        ),
    ),
    st.tuples(
        st.just("remove_node"), st.fixed_dictionaries({"node": st.sampled_from(SHOTS + CLIPS)})
    ),
    st.tuples(
        st.just("add_node"),
        st.fixed_dictionaries(
            {
                "node": st.sampled_from(["c2", "c3"]),
                "kind": st.just("clip"),
                "parent": st.sampled_from(SHOTS + CLIPS),
                "props": st.sampled_from([{}, {"title": "x"}, {"title": "new"}]),
            }
        ),
    ),
    st.tuples(
        st.just("move_node"),
        st.fixed_dictionaries(
            {
                "node": st.sampled_from(SHOTS + CLIPS),
                "parent": st.sampled_from(["root", *SHOTS, *CLIPS]),
                "after": st.sampled_from([None, *SHOTS, *CLIPS]),
            }
        ),
    ),
    st.tuples(
        st.just("bind_artifact"),
        st.fixed_dictionaries(
            {
                "node": st.sampled_from(SHOTS),
                "slot": st.just("image"),
                "artifact": st.sampled_from(SHA),
            }
        ),
    ),
)
edits = st.lists(edit, max_size=6)
SETTINGS = settings(
    max_examples=int(os.environ.get("MERGE_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


async def scenario(ours: list[Any], theirs: list[Any], **opts: Any) -> Studio:
    studio = Studio(**opts)
    await studio.act("main", "create_scene", title="t")
    for shot in SHOTS:
        await studio.act("main", "add_node", kind="shot", node=shot)
    for clip, parent in zip(CLIPS[:2], SHOTS, strict=False):
        await studio.act("main", "add_node", kind="clip", node=clip, parent=parent)
    await studio.act("main", "bind_artifact", node="s0", slot="image", artifact=SHA[0])
    await studio.fork("alt")
    await apply_edits(studio, "main", ours)
    await apply_edits(studio, "alt", theirs)
    return studio


async def apply_edits(studio: Studio, branch: str, ops: list[Any]) -> None:
    for name, args in ops:
        with contextlib.suppress(InvalidIntent, NotFound):
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
        )
    )
    return (side.present, side.value, side.order, image)


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
def test_swapping_source_and_target_swaps_ours_and_theirs(
    ours: list[Any], theirs: list[Any]
) -> None:
    async def check() -> None:
        one = await scenario(ours, theirs)
        two = await scenario(ours, theirs)
        await one.merge("alt", into="main")
        await two.merge("main", into="alt")
        assert conflict_keys(await one.state()) == conflict_keys(await two.state("alt"), swap=True)

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
        for side in (main, alt):
            for change in await studio.service.diff(base, side):
                assert survives(change, merged) or _named(change, named), (change, named)

    run(check())


def survives(change: Change, merged: SceneState) -> bool:
    node = merged.nodes.get(change.node)
    if change.field == "node":
        return (node is None) == (change.new is None)
    if node is None:
        return False
    if change.field == "parent":
        return node.parent == change.new
    if change.field == "order":
        return node.order == change.new
    if change.field.startswith("slot:"):
        held = [b.artifact for b in node.slots.get(change.field[5:], ())]
        old = change.old if isinstance(change.old, list) else []
        new = change.new if isinstance(change.new, list) else []
        return set(new) - set(old) <= set(held) and not (set(old) - set(new)) & set(held)
    held = node.props.get(change.field[5:])
    return (held.value if held else None) == change.new


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
