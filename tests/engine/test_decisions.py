"""decide + apply: what a studio user sees happen to the scene graph, and what is refused."""

from __future__ import annotations

import pytest

from engine.errors import InvalidIntent, NotFound, UnknownNode
from engine.events import IntentAccepted, NodeRemoved
from tests.engine.builders import Timeline, action, intent, props, tree

SHA = "ab" * 32


@pytest.fixture
def film() -> Timeline:
    t = Timeline()
    t.act("create_scene", title="Lighthouse")
    t.act("add_node", kind="shot", node="shot-1", props={"prompt": "dawn", "duration": 5})
    t.act("add_node", kind="shot", node="shot-2", props={"prompt": "dusk"})
    t.act("add_node", kind="caption", node="cap-1", parent="shot-1", props={"text": "Hello"})
    return t


def test_scene_tree_keeps_sibling_order_and_insertions(film: Timeline) -> None:
    film.act("add_node", kind="shot", node="shot-1b", after="shot-1")
    assert [n for _, n in tree(film.state)] == ["root", "shot-1", "cap-1", "shot-1b", "shot-2"]
    film.act("move_node", node="shot-2", parent="root", after=None)
    film.act("move_node", node="shot-1", parent="root", after="shot-2")
    assert film.state.child_ids("root") == ["shot-1b", "shot-2", "shot-1"]


def test_every_value_carries_its_provenance(film: Timeline) -> None:
    edit = intent(kind="direct_edit", node="shot-1", prop="duration", value=4.5)
    film.submit(edit)
    held = film.state.nodes["shot-1"].props["duration"]
    assert held.value == 4.5
    assert (held.provenance.intent_id, held.provenance.actor) == (edit.id, "ana")
    assert held.provenance.transform == "intake.direct_edit"
    assert held.provenance.version == film.state.version
    untouched = film.state.nodes["shot-1"].props["prompt"].provenance
    assert untouched.version < held.provenance.version


def test_every_intent_is_recorded_first(film: Timeline) -> None:
    events = film.submit(intent(kind="text_prompt", text="make it moodier"))
    assert isinstance(events[0].payload, IntentAccepted)
    assert events[0].payload.text == "make it moodier"


def test_remove_takes_the_subtree_children_first(film: Timeline) -> None:
    removed = film.act("remove_node", node="shot-1")[1:]
    assert [e.payload for e in removed] == [NodeRemoved("cap-1"), NodeRemoved("shot-1")]
    assert set(film.state.nodes) == {"root", "shot-2"}
    assert "shot-1" not in film.state.children


def test_bind_artifact_into_a_slot(film: Timeline) -> None:
    film.act("bind_artifact", node="shot-1", slot="image", artifact=SHA)
    assert film.state.nodes["shot-1"].artifact("image") == SHA
    assert len(film.act("bind_artifact", node="shot-1", slot="image", artifact=SHA)) == 1


@pytest.mark.parametrize(
    ("name", "args", "field", "reason"),
    [
        (
            "set_property",
            {"node": "ghost", "prop": "title", "value": "x"},
            "action.node",
            "no node",
        ),
        (
            "set_property",
            {"node": "shot-1", "prop": "colour", "value": "x"},
            "action.prop",
            "no prop",
        ),
        (
            "set_property",
            {"node": "shot-1", "prop": "duration", "value": "long"},
            "action.value",
            "expected float",
        ),
        (
            "set_property",
            {"node": "shot-1", "prop": "duration", "value": -1},
            "action.value",
            "below the minimum",
        ),
        (
            "set_property",
            {"node": "shot-1", "prop": "seed", "value": 1.5},
            "action.value",
            "expected int",
        ),
        (
            "set_property",
            {"node": "cap-1", "prop": "text", "value": "x" * 501},
            "action.value",
            "over the limit",
        ),
        ("add_node", {"kind": "dragon"}, "action.kind", "unknown node kind"),
        ("add_node", {"kind": "shot", "node": "shot-1"}, "action.node", "already exists"),
        ("add_node", {"kind": "shot", "parent": "cap-1"}, "action.parent", "cannot hold"),
        ("add_node", {"kind": "shot", "after": "cap-1"}, "action.after", "not a child"),
        ("move_node", {"node": "shot-1", "parent": "shot-1"}, "action.parent", "cycle"),
        ("remove_node", {"node": "root"}, "action.node", "root node"),
        (
            "bind_artifact",
            {"node": "cap-1", "slot": "image", "artifact": SHA},
            "action.slot",
            "no slot",
        ),
        ("create_scene", {"title": "again"}, "scene", "already exists"),
    ],
)
def test_refusals_name_the_field_and_change_nothing(
    film: Timeline, name: str, args: dict[str, object], field: str, reason: str
) -> None:
    before = film.state
    with pytest.raises(InvalidIntent) as caught:
        film.act(name, **args)
    assert (caught.value.field, reason in caught.value.reason) == (field, True)
    assert film.state is before


def test_unknown_node_error_names_the_node(film: Timeline) -> None:
    with pytest.raises(UnknownNode, match="ghost"):
        film.submit(intent(kind="direct_edit", node="ghost", prop="title", value="x"))


def test_actions_on_a_missing_scene_are_not_found() -> None:
    with pytest.raises(NotFound, match="create it first"):
        Timeline().submit(action("add_node", kind="shot"))


def test_move_under_own_descendant_is_refused() -> None:
    t = Timeline()
    t.act("create_scene")
    t.act("add_node", kind="shot", node="a")
    t.act("add_node", kind="clip", node="b", parent="a")
    with pytest.raises(InvalidIntent, match="cycle"):
        t.act("move_node", node="a", parent="b")


def test_text_prompt_on_a_new_scene_creates_it() -> None:
    t = Timeline()
    t.submit(intent(kind="text_prompt", text="A 3-shot film about a lighthouse keeper"))
    assert t.state.created and t.state.title.startswith("A 3-shot film")
    assert props(t.state, "root")["title"] == t.state.title
