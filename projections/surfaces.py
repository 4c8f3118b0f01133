"""A branch's surfaces (web, mobile, social, video pages) in its views.

The draft shows each surface's structure: the copy it lays out (written text, or the
artifact of generated text, else a `[node]` placeholder) and the media it names with
the best artifact available, and its code when there is some. Preview and production
show whether the surface's render at that fidelity (a bundle of the page and its
assets) is ready, and the works it still lacks; a surface whose code or copy failed
its checks is never shown as ready.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import msgspec

from engine.planning import Work
from engine.scene import Node, SceneState
from engine.surfaces import RENDERED, media_kind, size_of
from engine.ui_copy import limit_of, role_of, written


class CopyPlaceholder(msgspec.Struct, frozen=True, kw_only=True):
    """A line the surface lays out: its text when written, the artifact holding it when
    generated, else shown as `placeholder`."""

    node: str
    role: str
    limit: int
    text: str | None = None
    artifact: str | None = None
    placeholder: str


class MediaPlaceholder(msgspec.Struct, frozen=True, kw_only=True):
    ref: str  # node/slot
    kind: str
    artifact: str | None = None


class SurfaceView(msgspec.Struct, frozen=True, kw_only=True):
    """`status`: draft (the structure), else ready, in_progress, failed or not_rendered;
    `output`: the bundle at the view's fidelity once ready (the draft: the best one
    bound, of any fidelity)."""

    node: str
    name: str
    kind: str
    width: int
    height: int
    status: str
    output: str | None
    code: str | None
    copy: list[CopyPlaceholder]
    media: list[MediaPlaceholder]
    missing: list[str] = []


def draft_surfaces(state: SceneState) -> list[SurfaceView]:
    return [_structure(state, surface, "draft", _best_render(surface)) for surface in _of(state)]


def surface_views(
    state: SceneState,
    fidelity: str,
    works: list[Work],
    keys: Mapping[str, str],
    made: Callable[[str], str | None],
    reason: Callable[[Work], str],
) -> list[SurfaceView]:
    """Each surface at `fidelity`: `works` and `keys` are the scene's works with their
    content keys, `made(key)` the artifact made for a key, `reason(work)` why a work
    has none yet ("not planned", "failed (...)")."""
    by_key = {w.key: w for w in works}
    views = []
    for surface in _of(state):
        render = by_key.get(f"{surface.id}/{fidelity}")
        if render is None:
            continue
        chain = _chain(render, by_key)
        lacking = [w for w in chain if made(keys[w.key]) is None]
        output = made(keys[render.key])
        status = "ready" if output is not None else _status([reason(w) for w in lacking])
        view = _structure(state, surface, status, output)
        missing = [f"{w.key}: {reason(w)}" for w in lacking]
        views.append(msgspec.structs.replace(view, missing=missing))
    return views


def _of(state: SceneState) -> list[Node]:
    found = [state.nodes[n] for n in state.child_ids(state.root)]
    return [n for n in found if n.kind == "surface"]


def _structure(state: SceneState, surface: Node, status: str, output: str | None) -> SurfaceView:
    width, height = size_of(surface)
    return SurfaceView(
        node=surface.id,
        name=str(surface.value("name", "") or surface.id),
        kind=str(surface.value("kind", "web") or "web"),
        width=width,
        height=height,
        status=status,
        output=output,
        code=surface.artifact("code"),
        copy=[_copy(state.nodes[n]) for n in _copy_names(state, surface)],
        media=[_media(state, ref) for ref in _media_refs(surface)],
    )


def _copy_names(state: SceneState, surface: Node) -> list[str]:
    names = str(surface.value("copy", "") or "").split()
    names += [n for n in state.child_ids(surface.id) if state.nodes[n].kind == "copy"]
    return [n for n in dict.fromkeys(names) if n in state.nodes and state.nodes[n].kind == "copy"]


def _copy(node: Node) -> CopyPlaceholder:
    return CopyPlaceholder(
        node=node.id,
        role=role_of(node),
        limit=limit_of(node),
        text=written(node),
        artifact=node.artifact("text"),
        placeholder=f"[{node.id}]",
    )


def _media_refs(surface: Node) -> list[str]:
    refs = []
    for name in str(surface.value("media", "") or "").split():
        node, _, slot = name.partition("/")
        refs.append(f"{node}/{slot or 'render'}" if node == "root" else name)
    return refs


def _media(state: SceneState, ref: str) -> MediaPlaceholder:
    node_id, _, slot = ref.partition("/")
    node = state.nodes.get(state.root if node_id == "root" else node_id)
    artifact = None
    if node is not None:
        slots = [slot] if slot else ["image", "video"]
        if node.id == state.root:
            slots = ["render", "preview"]  # the film: the best one there is
        artifact = next((a for s in slots if (a := node.artifact(s)) is not None), None)
    return MediaPlaceholder(ref=ref, kind=media_kind(ref), artifact=artifact)


def _best_render(surface: Node) -> str | None:
    return surface.artifact(RENDERED["production"]) or surface.artifact(RENDERED["preview"])


def _chain(goal: Work, by_key: Mapping[str, Work]) -> list[Work]:
    """The surface's own works: its render, its code and its generated copy (the film's
    works it embeds are the film's view's business)."""
    return [goal, *(by_key[k] for n, k in goal.inputs.items() if not n.startswith("media:"))]


def _status(reasons: list[str]) -> str:
    if any(r.startswith(("failed", "blocked", "canceled")) for r in reasons):
        return "failed"
    if any(r != "not planned" for r in reasons):
        return "in_progress"
    return "not_rendered"
