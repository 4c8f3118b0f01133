"""UI copy: the length each slot allows, the checks a line of copy must pass, and the
text a caption or voice-over speaks when it speaks a copy node.

Copy that a film and a page share is one `copy` node: a caption or voice-over whose
`copy` prop names it speaks its text, so an edit to the copy reaches both, and the
two can never drift apart.
"""

from __future__ import annotations

from engine.errors import InvalidIntent
from engine.scene import Node, SceneState

# The longest line each role's slot holds; a copy node's own `limit` wins.
ROLE_LIMITS: dict[str, int] = {
    "headline": 60,
    "tagline": 70,
    "button": 24,
    "body": 280,
    "alt": 125,
    "caption": 90,
}
DEFAULT_ROLE = "body"


def role_of(node: Node) -> str:
    return str(node.value("role", DEFAULT_ROLE) or DEFAULT_ROLE)


def limit_of(node: Node) -> int:
    """The longest text the copy's slot holds, in characters."""
    own = node.value("limit", None)
    return int(own) if isinstance(own, int) else ROLE_LIMITS.get(role_of(node), 280)


def copy_problem(text: str, role: str, limit: int) -> str | None:
    """Why `text` cannot fill a `role` slot of `limit` characters, or None when it can."""
    line = text.strip()
    if not line:
        return f"the {role} is empty"
    if len(line) > limit:
        return f"the {role} is {len(line)} characters, over its slot's limit of {limit}"
    if role != "body" and "\n" in line:
        return f"the {role} must be one line"
    if "{" in line or "}" in line:
        return f"the {role} holds an unfilled template: {line!r}"
    return None


def spoken_text(state: SceneState, node: Node) -> str:
    """What a caption or voice-over says: the text of the copy node it names, when it
    names one that has text, else its own text."""
    linked = shared_copy(state, node)
    if linked is not None:
        return str(linked.value("text", "") or "")
    return str(node.value("text", "") or "")


def shared_copy(state: SceneState, node: Node) -> Node | None:
    """The copy node that a caption or voice-over speaks, if it names one."""
    name = node.value("copy", None)
    if not isinstance(name, str) or not name:
        return None
    found = state.nodes.get(name)
    return found if found is not None and found.kind == "copy" else None


def check_names(state: SceneState, kind: str, prop: str, value: object, field: str) -> None:
    """Refuse a prop that names nodes the scene does not have as what it needs: a
    caption's or voice-over's `copy` a copy node; a surface's `copy` copy nodes and its
    `media` nodes (`root` is the film)."""
    if not isinstance(value, str) or not value.strip():
        return
    if prop == "copy" and kind in ("caption", "voiceover", "surface"):
        names = value.split() if kind == "surface" else [value]
        for name in names:
            found = state.nodes.get(name)
            if found is None or found.kind != "copy":
                have = ", ".join(sorted(n for n, v in state.nodes.items() if v.kind == "copy"))
                raise InvalidIntent(
                    field, f"{name!r} is not a copy node of the scene; its copy: {have or 'none'}"
                )
    if prop == "media" and kind == "surface":
        for name in value.split():
            node = name.partition("/")[0]
            if node != "root" and node not in state.nodes:
                raise InvalidIntent(field, f"{node!r} is not a node of the scene")


def written(node: Node) -> str | None:
    """The copy's text when a person (or the structure planner) wrote it; None when
    it is to be generated from its brief."""
    text = node.value("text", None)
    return text if isinstance(text, str) and text.strip() else None
