"""Scenes: create one, list a studio's, and read a branch's state with the provenance
of every value."""

from __future__ import annotations

from pydantic import BaseModel, Field

from api.schemas.common import CreateModel, Id, PropValue, ProvenancePublic
from engine.provenance import Binding, Prop
from engine.scene import Node, SceneState


class SceneCreate(CreateModel):
    id: Id
    title: str = Field("", max_length=200)


class SceneList(BaseModel):
    scenes: list[str]


class PropPublic(BaseModel):
    value: PropValue
    provenance: ProvenancePublic

    @classmethod
    def of(cls, prop: Prop) -> PropPublic:
        return cls(value=prop.value, provenance=ProvenancePublic.of(prop.provenance))


class BindingPublic(BaseModel):
    artifact: str
    task: str | None
    provenance: ProvenancePublic

    @classmethod
    def of(cls, binding: Binding) -> BindingPublic:
        return cls(
            artifact=binding.artifact,
            task=binding.task,
            provenance=ProvenancePublic.of(binding.provenance),
        )


class NodePublic(BaseModel):
    id: str
    kind: str
    parent: str | None
    order: str
    children: list[str]
    props: dict[str, PropPublic]
    slots: dict[str, list[BindingPublic]]
    created: ProvenancePublic
    placed: ProvenancePublic

    @classmethod
    def of(cls, node: Node, state: SceneState) -> NodePublic:
        return cls(
            id=node.id,
            kind=node.kind,
            parent=node.parent,
            order=node.order,
            children=state.child_ids(node.id),
            props={name: PropPublic.of(prop) for name, prop in node.props.items()},
            slots={
                name: [BindingPublic.of(b) for b in bindings]
                for name, bindings in node.slots.items()
            },
            created=ProvenancePublic.of(node.created),
            placed=ProvenancePublic.of(node.placed),
        )


class ScenePublic(BaseModel):
    scene: str
    branch: str
    version: int
    title: str
    root: str
    parent_branch: str | None
    fork_version: int
    nodes: list[NodePublic] = Field(description="Parents before their children.")
    open_conflicts: int
    executions: int

    @classmethod
    def of(cls, state: SceneState) -> ScenePublic:
        order = [state.root, *state.descendants(state.root)]
        return cls(
            scene=state.scene,
            branch=state.branch,
            version=state.version,
            title=state.title,
            root=state.root,
            parent_branch=state.parent,
            fork_version=state.fork_version,
            nodes=[NodePublic.of(state.nodes[n], state) for n in order if n in state.nodes],
            open_conflicts=len(state.conflicts),
            executions=len(state.executions) + state.finished_executions,
        )
