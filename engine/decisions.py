"""Decide what an intent does to a scene: pure validation, then the events to append.

`decide(state, intent)` is the only place that says no. Everything it returns the
reducers can apply without failing. Node ids and order keys it makes are derived
from the intent id, so deciding the same intent on the same state twice gives the
same events.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import msgspec
from fractional_indexing import generate_key_between

from engine.binding import StructureContext, structure_events
from engine.branch_decisions import (
    ForkContext,
    MergeContext,
    decide_fork,
    decide_merge,
    decide_resolve,
    decide_resolve_all,
)
from engine.errors import InvalidIntent, NotFound, UnknownNode
from engine.events import (
    AnyEvent,
    ArtifactBound,
    IntentAccepted,
    NodeAdded,
    NodeMoved,
    NodeRemoved,
    PropertySet,
    RegenerationRequested,
    SceneCreated,
)
from engine.intents import (
    AddNode,
    AnyIntent,
    BindArtifact,
    CancelExecution,
    CancelTask,
    CreateScene,
    Diagnose,
    DirectEdit,
    ForkBranch,
    MergeBranch,
    MoveNode,
    RegenerateNode,
    RemoveNode,
    Render,
    ResolveAll,
    ResolveConflict,
    RetryTask,
    SetProperty,
    SpeechNote,
    StructuredAction,
    TextPrompt,
)
from engine.nodes import check_prop, check_slot, node_kind
from engine.scene import Node, SceneState
from engine.task_decisions import (
    NOTHING_ARCHIVED,
    ArchivedWork,
    decide_cancel_execution,
    decide_cancel_task,
    decide_retry_task,
)
from engine.ui_copy import check_names

_replace = msgspec.structs.replace
SUMMARY_LIMIT = 120


class Decision(msgspec.Struct, frozen=True):
    """The events an intent causes and the transform that decided them."""

    events: tuple[AnyEvent, ...]
    transform: str
    transform_version: int = 1


Context = ForkContext | MergeContext | StructureContext | ArchivedWork | None


def decide(state: SceneState, intent: AnyIntent, context: Context = None) -> Decision:
    """The events `intent` causes on `state`; `context` carries what branch intents need."""
    if isinstance(intent, StructuredAction):
        action = intent.action
        if isinstance(action, ForkBranch):
            if not isinstance(context, ForkContext):
                raise TypeError("fork_branch needs a ForkContext")
            changes = decide_fork(state, action, context)
            return Decision((*changes, _accepted(intent, _summary(action))), "branch.fork")
        if isinstance(action, MergeBranch):
            _require_scene(state)  # first: there is no merge context for a missing scene
            if not isinstance(context, MergeContext):
                raise TypeError("merge_branch needs a MergeContext")
            merged = decide_merge(state, action, context, intent.id)
            return Decision((_accepted(intent, _summary(action)), *merged), "branch.merge")
        archived = context if isinstance(context, ArchivedWork) else NOTHING_ARCHIVED
        return _decide_action(state, intent, archived)
    if isinstance(intent, DirectEdit):
        _require_scene(state)
        node = _existing(state, intent.node, "node")
        changes = _set_property(node, intent.prop, intent.value, "value", "prop")
        check_names(state, node.kind, intent.prop, intent.value, "value")
        accepted = _accepted(intent, f"edit {intent.node}.{intent.prop}")
        return Decision((accepted, *changes), "intake.direct_edit")
    text = intent.text if isinstance(intent, TextPrompt) else intent.transcript
    opening = _create_if_missing(state, text)
    shaped: list[AnyEvent] = []
    if isinstance(context, StructureContext):
        root = state.root if state.created else "root"
        shaped.extend(structure_events(_replace(state, root=root), context.specs))
    transform = "intake.text_prompt" if isinstance(intent, TextPrompt) else "intake.speech_note"
    return Decision((*opening, _accepted(intent, text), *shaped), transform)


def _decide_action(state: SceneState, intent: StructuredAction, archived: ArchivedWork) -> Decision:
    action = intent.action
    if not isinstance(action, CreateScene):
        _require_scene(state)
    summary = _summary(action)
    work = _WORK_ACTIONS.get(type(action))
    if work is not None:
        changes = work(state, action, archived)
    else:
        changes = _ACTIONS[type(action)](state, action, intent.id)
    return Decision((_accepted(intent, summary), *changes), f"action.{_action_name(action)}")


def _summary(action: Any) -> str:
    return msgspec.json.encode(action).decode()


def _require_scene(state: SceneState) -> None:
    if not state.created:
        raise NotFound(f"scene {state.scene!r} has no branch {state.branch!r}; create it first")


def _action_name(action: Any) -> str:
    return str(type(action).__struct_config__.tag)


def _accepted(intent: AnyIntent, summary: str) -> IntentAccepted:
    text = intent.text if isinstance(intent, TextPrompt) else None
    text = intent.transcript if isinstance(intent, SpeechNote) else text
    audio = intent.audio if isinstance(intent, SpeechNote) else None
    kind = str(type(intent).__struct_config__.tag)
    return IntentAccepted(kind=kind, summary=summary[:SUMMARY_LIMIT], text=text, audio=audio)


def _create_if_missing(state: SceneState, text: str) -> tuple[AnyEvent, ...]:
    if state.created:
        return ()
    return (SceneCreated(title=" ".join(text.split())[:80]),)


def _create_scene(state: SceneState, action: CreateScene, intent_id: str) -> list[AnyEvent]:
    if state.created:
        raise InvalidIntent("scene", f"scene {state.scene!r} already exists")
    return [SceneCreated(title=action.title or state.scene)]


def _add_node(state: SceneState, action: AddNode, intent_id: str) -> list[AnyEvent]:
    kind = node_kind(action.kind, "action.kind")
    parent = _existing(state, action.parent, "action.parent")
    _check_can_hold(parent, kind.name, "action.parent")
    node_id = action.node or _derived_id(intent_id, kind.name)
    if node_id in state.nodes:
        raise InvalidIntent("action.node", f"a node {node_id!r} already exists")
    props = {
        name: check_prop(kind, name, value, f"action.props.{name}")
        for name, value in action.props.items()
    }
    for name, value in props.items():
        check_names(state, kind.name, name, value, f"action.props.{name}")
    order = _order_after(state, parent.id, action.after, "action.after", moving=None)
    return [NodeAdded(node=node_id, kind=kind.name, parent=parent.id, order=order, props=props)]


def _remove_node(state: SceneState, action: RemoveNode, intent_id: str) -> list[AnyEvent]:
    node = _existing(state, action.node, "action.node")
    if node.id == state.root:
        raise InvalidIntent("action.node", "the scene's root node cannot be removed")
    doomed = [node.id, *state.descendants(node.id)]
    return [NodeRemoved(node=node_id) for node_id in reversed(doomed)]


def _move_node(state: SceneState, action: MoveNode, intent_id: str) -> list[AnyEvent]:
    node = _existing(state, action.node, "action.node")
    parent = _existing(state, action.parent, "action.parent")
    if node.id == state.root:
        raise InvalidIntent("action.node", "the scene's root node cannot be moved")
    if parent.id == node.id or state.is_ancestor(node.id, parent.id):
        raise InvalidIntent(
            "action.parent", f"moving {node.id!r} under {parent.id!r} would make a cycle"
        )
    _check_can_hold(parent, node.kind, "action.parent")
    order = _order_after(state, parent.id, action.after, "action.after", moving=node.id)
    return [NodeMoved(node=node.id, parent=parent.id, order=order)]


def _set_action(state: SceneState, action: SetProperty, intent_id: str) -> list[AnyEvent]:
    node = _existing(state, action.node, "action.node")
    changes = _set_property(node, action.prop, action.value, "action.value", "action.prop")
    check_names(state, node.kind, action.prop, action.value, "action.value")
    return changes


def _bind(state: SceneState, action: BindArtifact, intent_id: str) -> list[AnyEvent]:
    node = _existing(state, action.node, "action.node")
    check_slot(node_kind(node.kind, "action.node"), action.slot, "action.slot")
    if node.artifact(action.slot) == action.artifact:
        return []
    return [ArtifactBound(node=node.id, slot=action.slot, artifact=action.artifact)]


def _regenerate(state: SceneState, action: RegenerateNode, intent_id: str) -> list[AnyEvent]:
    node = _existing(state, action.node, "action.node")
    return [RegenerationRequested(node=node.id)]


def _set_property(
    node: Node, prop: str, value: Any, value_field: str, prop_field: str
) -> list[AnyEvent]:
    kind = node_kind(node.kind, prop_field)
    if prop not in kind.props:
        check_prop(kind, prop, value, prop_field)
    checked = check_prop(kind, prop, value, value_field)
    held = node.props.get(prop)
    if held is not None and held.value == checked and type(held.value) is type(checked):
        return []
    return [PropertySet(node=node.id, prop=prop, value=checked)]


def _existing(state: SceneState, node_id: str, field_name: str) -> Node:
    node = state.nodes.get(node_id)
    if node is None:
        raise UnknownNode(field_name, node_id)
    return node


def _check_can_hold(parent: Node, kind: str, field_name: str) -> None:
    parent_kind = node_kind(parent.kind, field_name)
    if kind not in parent_kind.children:
        allowed = ", ".join(sorted(parent_kind.children)) or "nothing"
        raise InvalidIntent(
            field_name, f"a {parent.kind} cannot hold a {kind}; it can hold: {allowed}"
        )


def _order_after(
    state: SceneState, parent: str, after: str | None, field_name: str, moving: str | None
) -> str:
    """An order key that places a node right after `after` (or last when None)."""
    siblings = [s for s in state.child_ids(parent) if s != moving]
    if after is None:
        index = len(siblings)
    elif after in siblings:
        index = siblings.index(after) + 1
    else:
        raise InvalidIntent(field_name, f"{after!r} is not a child of {parent!r}")
    before_key = _order_of(state, siblings[index - 1]) if index > 0 else None
    after_key = _order_of(state, siblings[index]) if index < len(siblings) else None
    if before_key is not None and before_key == after_key:
        after_key = None  # equal keys tie-break by id; any key above both keeps the place
    return str(generate_key_between(before_key, after_key))


def _order_of(state: SceneState, node_id: str) -> str:
    return state.nodes[node_id].order


def _derived_id(intent_id: str, kind: str) -> str:
    return f"{kind}-{hashlib.sha256(intent_id.encode()).hexdigest()[:10]}"


def _render(state: SceneState, action: Render) -> list[AnyEvent]:
    """A production render is made only from a branch with no open merge conflict."""
    if action.goal == "production" and state.conflicts:
        nodes = ", ".join(sorted(state.conflicted_nodes()))
        raise InvalidIntent(
            "action.goal",
            f"{len(state.conflicts)} merge conflicts are open on this branch (nodes: {nodes}); "
            "resolve them before a production render, or ask for a preview",
        )
    return []


_ACTIONS: dict[type, Callable[[SceneState, Any, str], list[AnyEvent]]] = {
    CreateScene: _create_scene,
    AddNode: _add_node,
    RemoveNode: _remove_node,
    MoveNode: _move_node,
    SetProperty: _set_action,
    BindArtifact: _bind,
    RegenerateNode: _regenerate,
    ResolveConflict: lambda state, action, intent_id: decide_resolve(state, action),
    ResolveAll: lambda state, action, intent_id: decide_resolve_all(state, action),
    Render: lambda state, action, intent_id: _render(state, action),
    Diagnose: lambda state, action, intent_id: [],
}
# Actions about work, which may name finished executions the state no longer holds.
_WORK_ACTIONS: dict[type, Callable[[SceneState, Any, ArchivedWork], list[AnyEvent]]] = {
    CancelExecution: decide_cancel_execution,
    CancelTask: decide_cancel_task,
    RetryTask: decide_retry_task,
}
