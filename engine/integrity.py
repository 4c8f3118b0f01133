"""What makes a scene valid, whichever way it was reached (intents, merges, resolutions).

Every node but the root has a parent that exists and may hold its kind; its props
and slots are ones its kind has; following parents from any node reaches the root
(no cycles). Merges check the nodes they touch with `placement_problem` and
`cycle_through`; tests check whole states with `scene_problems`.
"""

from __future__ import annotations

from collections.abc import Callable

from engine.nodes import KINDS, may_hold
from engine.scene import Node, SceneState

Lookup = Callable[[str], Node | None]


def placement_problem(node: Node, parent: Node | None, root: str) -> str | None:
    """Why `node` cannot sit where it says (under `parent`), or None."""
    if node.id == root:
        return None if node.parent is None else f"the root {root!r} has a parent"
    if node.parent is None:
        return f"{node.id!r} has no parent"
    if parent is None:
        return f"{node.id!r} sits under {node.parent!r}, which does not exist"
    if not may_hold(parent.kind, node.kind):
        return f"{node.id!r} is a {node.kind}, which a {parent.kind} ({parent.id!r}) cannot hold"
    return None


def field_problems(node: Node) -> list[str]:
    """Props and slots that the node's kind does not have."""
    kind = KINDS.get(node.kind)
    if kind is None:
        return [f"{node.id!r} is of unknown kind {node.kind!r}"]
    return [
        *(
            f"a {node.kind} has no prop {p!r} ({node.id!r})"
            for p in node.props
            if p not in kind.props
        ),
        *(
            f"a {node.kind} has no slot {s!r} ({node.id!r})"
            for s in node.slots
            if s not in kind.slots
        ),
    ]


def cycle_through(start: str, lookup: Lookup, root: str, known_good: set[str]) -> list[str]:
    """The nodes of a parent loop that `start` leads into (empty if it reaches the root or
    a missing parent). Nodes found to reach the root are added to `known_good`."""
    path: list[str] = []
    on_path: dict[str, int] = {}
    current: str | None = start
    while current is not None and current != root and current not in known_good:
        if current in on_path:
            return path[on_path[current] :]
        node = lookup(current)
        if node is None:
            return []
        on_path[current] = len(path)
        path.append(current)
        current = node.parent
    if current is not None:
        known_good.update(path)
    return []


def scene_problems(state: SceneState) -> list[str]:
    """Everything that makes `state` an invalid scene (empty when it is valid)."""
    if not state.created:
        return []
    problems: list[str] = []
    root = state.nodes.get(state.root)
    if root is None or root.kind != "scene":
        problems.append(f"the root {state.root!r} is missing or not a scene")
    good: set[str] = set()
    for node in state.nodes.values():
        parent = state.nodes.get(node.parent) if node.parent is not None else None
        problem = placement_problem(node, parent, state.root)
        if problem is not None:
            problems.append(problem)
        problems.extend(field_problems(node))
        loop = cycle_through(node.id, state.nodes.get, state.root, good)
        if loop:
            problems.append(f"parent loop: {' -> '.join(loop)}")
    problems.extend(_index_problems(state))
    return problems


def _index_problems(state: SceneState) -> list[str]:
    """The children index must say exactly what the nodes' parents say."""
    indexed = {
        (parent, child, order)
        for parent, kids in state.children.items()
        for child, order in kids.items()
    }
    actual = {(n.parent, n.id, n.order) for n in state.nodes.values() if n.parent is not None}
    return [f"children index disagrees at {entry}" for entry in sorted(indexed ^ actual)]
