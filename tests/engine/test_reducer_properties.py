"""Property tests: random intent sequences fold to the same state however they are replayed."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.reducers import fold
from engine.scene import SceneState
from engine.snapshots import SNAPSHOT_SCHEMA, decode_snapshot, encode_snapshot
from tests.engine.builders import Timeline, action, intent

NODE_IDS = ["n0", "n1", "n2", "n3", "n4"]
PARENTS = ["root", *NODE_IDS]
# Any text a store can hold (hypothesis leaves out lone surrogates; NUL is refused).
TEXT = st.characters(exclude_characters="\x00", exclude_categories=["Cs"])
SHA = st.sampled_from(["aa" * 32, "bb" * 32, "cc" * 32])

KIND_PROPS = {
    "shot": st.fixed_dictionaries(
        {}, optional={"title": st.text(TEXT, max_size=5), "duration": st.floats(0.04, 9)}
    ),
    "clip": st.fixed_dictionaries({}, optional={"duration": st.floats(0.04, 9)}),
    "caption": st.fixed_dictionaries({}, optional={"text": st.text(TEXT, max_size=5)}),
    "image": st.fixed_dictionaries({}, optional={"prompt": st.text(TEXT, max_size=5)}),
}
add = st.sampled_from(sorted(KIND_PROPS)).flatmap(
    lambda kind: st.builds(
        lambda node, parent, props: (
            "add_node",
            {"node": node, "kind": kind, "parent": parent, "props": props},
        ),
        st.sampled_from(NODE_IDS),
        st.just("root") if kind == "shot" else st.sampled_from(NODE_IDS),
        KIND_PROPS[kind],
    )
)
set_prop = st.builds(
    lambda node, prop, value: ("set_property", {"node": node, "prop": prop, "value": value}),
    st.sampled_from(PARENTS),
    st.sampled_from(["title", "duration", "text", "prompt"]),
    st.one_of(st.text(TEXT, max_size=4), st.floats(-1, 10), st.integers(-2, 5), st.none()),
)
move = st.builds(
    lambda node, parent, after: ("move_node", {"node": node, "parent": parent, "after": after}),
    st.sampled_from(NODE_IDS),
    st.sampled_from(PARENTS),
    st.sampled_from([None, *NODE_IDS]),
)
remove = st.builds(lambda node: ("remove_node", {"node": node}), st.sampled_from(NODE_IDS))
bind = st.builds(
    lambda node, slot, sha: ("bind_artifact", {"node": node, "slot": slot, "artifact": sha}),
    st.sampled_from(NODE_IDS),
    st.sampled_from(["image", "video"]),
    SHA,
)
steps = st.lists(st.one_of(add, add, set_prop, set_prop, move, remove, bind), max_size=40)


def build(ops: list[tuple[str, dict[str, Any]]]) -> Timeline:
    t = Timeline()
    t.act("create_scene", title="p")
    t.act("add_node", kind="shot", node="n0")
    t.act("add_node", kind="shot", node="n1")
    for name, args in ops:
        t.try_submit(action(name, **args))
    return t


def check_invariants(state: SceneState) -> None:
    for node in state.nodes.values():
        if node.id == state.root:
            continue
        assert node.parent in state.nodes, f"{node.id} has a missing parent"
        assert state.children[node.parent][node.id] == node.order
        assert not state.is_ancestor(node.id, node.id)
    linked = {c for kids in state.children.values() for c in kids}
    assert linked == set(state.nodes) - {state.root}


@settings(max_examples=150, deadline=None)
@given(steps)
def test_replaying_the_log_twice_gives_equal_state(ops: list[tuple[str, dict[str, Any]]]) -> None:
    t = build(ops)
    empty = SceneState(scene="s1")
    assert fold(empty, t.events) == t.state
    assert fold(empty, t.events) == fold(empty, list(t.events))
    check_invariants(t.state)


@settings(max_examples=150, deadline=None)
@given(steps, st.data())
def test_snapshot_plus_tail_equals_full_replay(
    ops: list[tuple[str, dict[str, Any]]], data: st.DataObject
) -> None:
    t = build(ops)
    cut = data.draw(st.integers(0, len(t.events)))
    head = fold(SceneState(scene="s1"), t.events[:cut])
    restored = decode_snapshot(encode_snapshot(head), SNAPSHOT_SCHEMA)
    assert restored == head
    assert fold(restored, t.events[cut:]) == t.state


def test_a_snapshot_of_another_schema_or_garbage_is_not_used() -> None:
    t = build([("add_node", {"node": "n2", "kind": "clip", "parent": "n0", "props": {}})])
    data = encode_snapshot(t.state)
    assert decode_snapshot(data, SNAPSHOT_SCHEMA + 1) is None
    assert decode_snapshot(b"\x00garbage", SNAPSHOT_SCHEMA) is None
    assert decode_snapshot(data[:-3], SNAPSHOT_SCHEMA) is None


def test_direct_edits_and_prompts_interleave_with_actions() -> None:
    t = build([("add_node", {"node": "n2", "kind": "clip", "parent": "n0", "props": {}})])
    assert t.try_submit(intent(kind="direct_edit", node="n0", prop="duration", value=3))
    assert t.try_submit(intent(kind="speech_note", transcript="slower please"))
    assert fold(SceneState(scene="s1"), t.events) == t.state
