"""The merge cases of issue 14, one test each: a tree, edits on main and on a branch
forked from it, then a merge; every merge result and resolution must be a valid scene."""

from __future__ import annotations

from typing import Any

import pytest

from engine.errors import InvalidIntent
from engine.integrity import scene_problems
from engine.ports import StoredSnapshot, StreamId
from engine.scene import SceneState
from tests.engine.scenes import Studio

SHA_A, SHA_B = "aa" * 32, "bb" * 32


async def tree(*nodes: tuple[str, str, str], **opts: Any) -> Studio:
    """A scene with (id, kind, parent) nodes added in order."""
    studio = Studio(**opts)
    await studio.act("main", "create_scene", title="t")
    for node, kind, parent in nodes:
        await studio.act("main", "add_node", kind=kind, node=node, parent=parent)
    return studio


async def valid(studio: Studio, branch: str = "main") -> SceneState:
    state = await studio.state(branch)
    assert scene_problems(state) == []
    return state


def fields(state: SceneState) -> set[tuple[str, str]]:
    return {(c.node, c.field) for c in state.conflicts.values()}


async def resolve_all(studio: Studio, choice: str, branch: str = "main") -> SceneState:
    await studio.act(branch, "resolve_all", choice=choice)
    state = await valid(studio, branch)
    assert not state.conflicts
    return state


async def test_case_1_a_node_readded_with_another_kind_is_a_node_conflict() -> None:
    studio = await tree(("sh", "shot", "root"))
    await studio.fork("alt")
    await studio.set("main", "sh", "duration", 2.0)
    await studio.act("alt", "remove_node", node="sh")
    await studio.act("alt", "add_node", kind="caption", node="sh", props={"text": "hi"})
    await studio.merge("alt", into="main")
    main = await valid(studio)
    assert fields(main) == {("sh", "node")}
    assert (main.nodes["sh"].kind, main.nodes["sh"].value("duration")) == ("shot", 2.0)
    main = await resolve_all(studio, "theirs")
    assert (main.nodes["sh"].kind, main.nodes["sh"].value("text")) == ("caption", "hi")


async def test_case_1_a_readded_kind_keeps_no_slot_or_place_it_cannot_have() -> None:
    for choice, kind in (("theirs", "caption"), ("ours", "image")):
        studio = await tree(("sh", "shot", "root"), ("im", "image", "sh"))
        await studio.act("main", "bind_artifact", node="im", slot="image", artifact=SHA_A)
        await studio.fork("alt")
        await studio.set("main", "im", "seed", 3)
        await studio.act("alt", "remove_node", node="im")
        await studio.act("alt", "add_node", kind="caption", node="im", props={"text": "hi"})
        await studio.merge("alt", into="main")
        main = await valid(studio)
        assert fields(main) == {("im", "node")}
        main = await resolve_all(studio, choice)
        assert main.nodes["im"].kind == kind


async def test_case_1_both_readd_an_id_with_different_kinds() -> None:
    studio = await tree(("sh", "shot", "root"))
    await studio.fork("alt")
    await studio.act("main", "add_node", kind="caption", node="x", props={"text": "ours"})
    await studio.act("alt", "add_node", kind="shot", node="x")
    await studio.act("alt", "add_node", kind="image", node="im", parent="x")
    await studio.merge("alt", into="main")
    main = await valid(studio)
    assert fields(main) == {("x", "node"), ("im", "node")}
    assert main.nodes["x"].kind == "caption" and "im" not in main.nodes
    main = await resolve_all(studio, "theirs")
    assert (main.nodes["x"].kind, main.nodes["im"].parent) == ("shot", "x")


async def test_case_2_resolve_all_theirs_brings_back_the_parent_first() -> None:
    studio = await tree(
        ("sh1", "shot", "root"),
        ("sh2", "shot", "root"),
        ("sh3", "shot", "root"),
        ("im", "image", "sh1"),
    )
    await studio.fork("alt")
    await studio.act("main", "move_node", node="im", parent="sh2")
    await studio.act("main", "remove_node", node="sh3")
    await studio.act("alt", "move_node", node="im", parent="sh3")
    await studio.merge("alt", into="main")
    await valid(studio)
    main = await resolve_all(studio, "theirs")
    assert main.nodes["im"].parent == "sh3"


async def test_case_3_resolve_all_theirs_leaves_no_orphan() -> None:
    nodes = (
        ("sh0", "shot", "root"),
        ("cl7", "clip", "sh0"),
        ("sh10", "shot", "root"),
        ("cl29", "clip", "cl7"),
    )
    for choice in ("theirs", "ours"):
        studio = await tree(*nodes)
        await studio.fork("alt")
        await studio.act("main", "move_node", node="cl7", parent="sh10")
        await studio.act("main", "remove_node", node="cl29")
        await studio.set("alt", "cl29", "start", 86400)
        await studio.act("alt", "remove_node", node="sh10")
        await studio.merge("alt", into="main")
        await valid(studio)
        main = await resolve_all(studio, choice)
        if choice == "theirs":
            assert "sh10" not in main.nodes
            assert (main.nodes["cl29"].parent, main.nodes["cl7"].parent) == ("cl7", "sh0")
        else:
            assert "cl29" not in main.nodes and main.nodes["cl7"].parent == "sh10"


async def test_case_4_a_rebind_of_an_older_artifact_survives_the_merge() -> None:
    studio = await tree(("sh", "shot", "root"), ("im", "image", "sh"))
    await studio.act("main", "bind_artifact", node="im", slot="image", artifact=SHA_A)
    await studio.act("main", "bind_artifact", node="im", slot="image", artifact=SHA_B)
    await studio.fork("alt")
    await studio.set("main", "im", "seed", 3)
    await studio.act("alt", "bind_artifact", node="im", slot="image", artifact=SHA_A)
    await studio.merge("alt", into="main")
    main = await valid(studio)
    assert not main.conflicts
    assert (main.nodes["im"].artifact("image"), main.nodes["im"].value("seed")) == (SHA_A, 3)


async def _cycle(hanger: str, source: str, target: str) -> SceneState:
    studio = await tree(
        ("sh1", "shot", "root"),
        ("c1", "clip", "sh1"),
        ("c2", "clip", "sh1"),
        (hanger, "caption", "root"),
    )
    await studio.fork("alt")
    await studio.act("main", "move_node", node="c1", parent="c2")
    await studio.act("alt", "move_node", node="c2", parent="c1")
    await studio.act("alt", "move_node", node=hanger, parent="c2")
    await studio.merge(source, into=target)
    return await valid(studio, target)


def _keys(state: SceneState, swap: bool = False) -> set[tuple[Any, ...]]:
    keys = set()
    for c in state.conflicts.values():
        ours, theirs = (c.theirs, c.ours) if swap else (c.ours, c.theirs)
        keys.add((c.node, c.field, c.base.value, ours.value, theirs.value))
    return keys


async def test_case_5_a_cycle_across_the_sides_gives_the_same_conflicts_either_way() -> None:
    for hanger in ("aa", "zz"):
        into_main = await _cycle(hanger, "alt", "main")
        into_alt = await _cycle(hanger, "main", "alt")
        assert fields(into_main) == {("c1", "parent"), ("c2", "parent")}
        assert _keys(into_main) == _keys(into_alt, swap=True)
        assert into_main.nodes[hanger].parent == "c2"


async def test_case_6_a_prop_conflict_names_no_removed_ancestor() -> None:
    studio = await tree(("sh1", "shot", "root"), ("sh2", "shot", "root"), ("cl", "clip", "sh1"))
    await studio.set("main", "cl", "title", "x")
    await studio.fork("alt")
    await studio.set("main", "cl", "title", "a")
    await studio.act("alt", "move_node", node="cl", parent="sh2")
    await studio.set("alt", "cl", "title", "b")
    await studio.act("alt", "remove_node", node="sh1")
    await studio.merge("alt", into="main")
    main = await valid(studio)
    assert fields(main) == {("cl", "prop:title")}
    main = await resolve_all(studio, "ours")
    assert "sh1" not in main.nodes
    assert (main.nodes["cl"].parent, main.nodes["cl"].value("title")) == ("sh2", "a")


class CountingStudio(Studio):
    """Counts the snapshots the service reads: each costs a decode of the whole scene."""

    def __init__(self, **opts: Any) -> None:
        super().__init__(**opts)
        self.snapshot_reads = 0
        load = self.store.load_snapshot

        async def counted(stream: StreamId, up_to: int | None = None) -> StoredSnapshot | None:
            self.snapshot_reads += 1
            return await load(stream, up_to)

        self.store.load_snapshot = counted  # type: ignore[method-assign]


async def test_case_7_a_warm_merge_reads_what_changed_not_the_whole_scene() -> None:
    studio = CountingStudio(snapshot_every=20)
    await studio.act("main", "create_scene", title="t")
    for n in range(30):
        await studio.act("main", "add_node", kind="shot", node=f"s{n}")
    await studio.fork("alt")
    for round_no in range(3):
        for n in range(10):  # more versions per side than the state cache keeps
            await studio.set("main", f"s{n}", "title", f"main {round_no}")
            await studio.set("alt", f"s{n}", "duration", float(round_no + 1))
        before = studio.snapshot_reads
        await studio.merge("alt", into="main")
        if round_no > 0:
            assert studio.snapshot_reads == before, "the merge base was loaded from a snapshot"
    main = await valid(studio)
    assert not main.conflicts and main.nodes["s3"].value("duration") == 3.0


async def _moved_into_a_removed_parent() -> Studio:
    """Case 2's scene: resolving im theirs needs sh3, which only sh3's conflict restores."""
    studio = await tree(
        ("sh1", "shot", "root"),
        ("sh2", "shot", "root"),
        ("sh3", "shot", "root"),
        ("im", "image", "sh1"),
    )
    await studio.fork("alt")
    await studio.act("main", "move_node", node="im", parent="sh2")
    await studio.act("main", "remove_node", node="sh3")
    await studio.act("alt", "move_node", node="im", parent="sh3")
    await studio.merge("alt", into="main")
    return studio


async def test_a_resolution_the_scene_cannot_take_yet_names_the_one_to_resolve_first() -> None:
    studio = await _moved_into_a_removed_parent()
    ids = {c.field: c.conflict for c in (await studio.state()).conflicts.values()}
    before = await studio.state()
    with pytest.raises(InvalidIntent, match=f"'sh3', which is gone; resolve {ids['node']} first"):
        await studio.act("main", "resolve_conflict", conflict=ids["parent"], choice="theirs")
    assert await studio.state() == before
    await studio.act("main", "resolve_conflict", conflict=ids["node"], choice="theirs")
    await studio.act("main", "resolve_conflict", conflict=ids["parent"], choice="theirs")
    assert (await valid(studio)).nodes["im"].parent == "sh3"


async def test_resolve_all_leaves_open_what_earlier_resolutions_made_impossible() -> None:
    studio = await tree(
        ("sh1", "shot", "root"),
        ("sh2", "shot", "root"),
        ("sh3", "shot", "root"),
        ("im", "image", "sh1"),
        ("k", "caption", "root"),
    )
    await studio.fork("alt")
    await studio.act("main", "move_node", node="im", parent="sh3")
    await studio.act("alt", "move_node", node="im", parent="sh2")
    await studio.act("alt", "remove_node", node="sh3")
    await studio.set("main", "k", "text", "ours")
    await studio.set("alt", "k", "text", "theirs")
    await studio.merge("alt", into="main")
    ids = {(c.node, c.field): c.conflict for c in (await studio.state()).conflicts.values()}
    assert set(ids) == {("im", "parent"), ("sh3", "node"), ("k", "prop:text")}
    # keeping im under sh3 rules out removing sh3 (theirs) for good
    await studio.act("main", "resolve_conflict", conflict=ids[("im", "parent")], choice="ours")
    await studio.act("main", "resolve_all", choice="theirs")
    main = await valid(studio)
    assert list(main.conflicts) == [ids[("sh3", "node")]]
    assert main.nodes["k"].value("text") == "theirs"
    with pytest.raises(InvalidIntent, match=r"removes 'sh3', but 'im' is under it"):
        await studio.act("main", "resolve_all", choice="theirs")
    await studio.act("main", "resolve_all", choice="ours")
    assert not (await valid(studio)).conflicts
