"""Scene graph state: immutable, structurally shared, with provenance on every value.

A `SceneState` is the fold of one stream's events. Nodes live in an
`immutables.Map` (a HAMT), so a new state after one event shares all but a few
paths with the old one and holding many versions or branches at once is cheap.
"""

from __future__ import annotations

from collections.abc import Iterator

import immutables
import msgspec

from engine.events import ConflictRecorded
from engine.executions import ExecutionState, TaskState
from engine.provenance import Binding, Prop, PropValue, Provenance

EMPTY_PROPS: immutables.Map[str, Prop] = immutables.Map()
EMPTY_SLOTS: immutables.Map[str, tuple[Binding, ...]] = immutables.Map()
EMPTY_CHILDREN: immutables.Map[str, str] = immutables.Map()
EMPTY_FAILURES: immutables.Map[str, TaskState] = immutables.Map()


class Node(msgspec.Struct, frozen=True, gc=False):
    """One element of the scene. `placed` is the provenance of its parent and order."""

    id: str
    kind: str
    parent: str | None
    order: str
    created: Provenance
    placed: Provenance
    props: immutables.Map[str, Prop] = EMPTY_PROPS
    slots: immutables.Map[str, tuple[Binding, ...]] = EMPTY_SLOTS

    def value(self, prop: str, default: PropValue = None) -> PropValue:
        held = self.props.get(prop)
        return default if held is None else held.value

    def artifact(self, slot: str) -> str | None:
        """The slot's current artifact: the one bound last. A slot holds its current
        binding only (every binding is in the log and the read models), except while
        a merge conflict on it is open: then the other side's binding stays beside
        it, so that resolving the conflict can take it."""
        bindings = self.slots.get(slot)
        return bindings[-1].artifact if bindings else None


class MergeMark(msgspec.Struct, frozen=True, gc=False, array_like=True):
    """A merge into this branch: `source` at `source_version`, applied as our `version`.
    `kept` lists the nodes where our result differed from the source's state."""

    source: str
    source_version: int
    version: int
    kept: tuple[str, ...] = ()


class SceneState(msgspec.Struct, frozen=True, gc=False):
    """The state of one branch of one scene at `version`.

    `children` maps a parent id to its children's ids and order keys; it is derived
    from `nodes` and kept so that siblings can be listed without a scan.
    `parent`/`fork_version` say where the branch started; `includes` is the newest
    version of each other branch this state contains (the version vector merges
    use to find their base); `merges` lists merges into this branch, oldest first;
    `conflicts` holds the open merge conflicts by id; `executions` and `tasks` hold
    the generation work intents set in motion; `waiting` indexes the tasks not yet
    handed to the bus.
    """

    scene: str
    branch: str = "main"
    version: int = 0
    created: bool = False
    title: str = ""
    root: str = "root"
    nodes: immutables.Map[str, Node] = msgspec.field(default_factory=immutables.Map)
    children: immutables.Map[str, immutables.Map[str, str]] = msgspec.field(
        default_factory=immutables.Map
    )
    parent: str | None = None
    fork_version: int = 0
    includes: immutables.Map[str, int] = msgspec.field(default_factory=immutables.Map)
    merges: tuple[MergeMark, ...] = ()
    conflicts: immutables.Map[str, ConflictRecorded] = msgspec.field(default_factory=immutables.Map)
    executions: immutables.Map[str, ExecutionState] = msgspec.field(default_factory=immutables.Map)
    tasks: immutables.Map[str, TaskState] = msgspec.field(default_factory=immutables.Map)
    waiting: immutables.Map[str, bool] = msgspec.field(default_factory=immutables.Map)
    finished_executions: int = 0
    slot_failures: immutables.Map[str, immutables.Map[str, TaskState]] = msgspec.field(
        default_factory=immutables.Map
    )

    def conflicted_nodes(self) -> set[str]:
        """Nodes with an open merge conflict (a production render refuses them)."""
        return {conflict.node for conflict in self.conflicts.values()}

    def node(self, node_id: str) -> Node | None:
        return self.nodes.get(node_id)

    def child_ids(self, parent: str) -> list[str]:
        """Children in display order: by fractional order key, ties broken by id."""
        kids = self.children.get(parent, EMPTY_CHILDREN)
        return [node_id for order, node_id in sorted((o, n) for n, o in kids.items())]

    def descendants(self, node_id: str) -> Iterator[str]:
        """Every node below `node_id`, parents before their children."""
        stack = list(reversed(self.child_ids(node_id)))
        while stack:
            current = stack.pop()
            yield current
            stack.extend(reversed(self.child_ids(current)))

    def is_ancestor(self, ancestor: str, node_id: str) -> bool:
        current = self.nodes.get(node_id)
        while current is not None and current.parent is not None:
            if current.parent == ancestor:
                return True
            current = self.nodes.get(current.parent)
        return False
