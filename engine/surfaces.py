"""What work a scene's surfaces need at a fidelity: copy, then code, then the render.

Per surface (a `surface` node: web, mobile, social or video): a line of copy for
each copy node it shows that has a brief and no written text; the page's code,
generated from the surface's layout prompt, kind and size and from the *names* of
the copy and media it lays out (never their contents); and the render, which fills
the names with the copy's text and the media's artifacts at that fidelity. So an
edited line re-runs the renders that show it and not the code; a regenerated video
re-runs the renders; an edited layout prompt re-runs the code and the renders.
Copy shared by two surfaces (or by a surface and the film's captions) is one node
and one task.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from engine.events import TaskTarget
from engine.models import LOCAL, LOCAL_CHOICES, ModelChoices
from engine.planning import Work
from engine.scene import Node, SceneState
from engine.tasks import Lane
from engine.ui_copy import limit_of, role_of, written

MEDIA = "media"
RENDERED = {"preview": "preview", "production": "render"}  # fidelity -> the slot it fills
FILM = "render"  # what a page calls the film: `root/render`, at any fidelity
SURFACE_SIZES = {"web": (1280, 800), "mobile": (390, 844), "social": (1080, 1080)}
SURFACE_SIZES["video"] = (1920, 1080)
_VIDEO_SLOTS = frozenset({"video", "render", "preview"})


def surface_works(
    state: SceneState,
    fidelity: str,
    film: Iterable[Work] = (),
    models: ModelChoices = LOCAL_CHOICES,
) -> list[Work]:
    """The works that make every surface of `state` at `fidelity`, after `film` (the
    film's works at that fidelity, whose outputs the surfaces embed)."""
    made = _made_by(state, film)
    works: list[Work] = []
    planned: set[str] = set()
    for surface in _surfaces(state):
        copies = _copies_of(state, surface)
        for node in copies:
            if written(node) is None and node.id not in planned:
                planned.add(node.id)
                works.append(_write_copy(node, models))
        media = [ref for ref in _media_of(state, surface) if ref in made]
        code = _write_page(surface, copies, media, models)
        works.append(code)
        works.append(_render(surface, copies, {ref: made[ref] for ref in media}, code, fidelity))
    return works


def _surfaces(state: SceneState) -> list[Node]:
    found = [state.nodes[n] for n in state.child_ids(state.root)]
    return [n for n in found if n.kind == "surface"]


def size_of(surface: Node) -> tuple[int, int]:
    kind = str(surface.value("kind", "web") or "web")
    width, height = SURFACE_SIZES.get(kind, SURFACE_SIZES["web"])
    return int(surface.value("width", width) or width), int(
        surface.value("height", height) or height
    )


def _copies_of(state: SceneState, surface: Node) -> list[Node]:
    """The copy the surface shows: the copy nodes it names (shared with the scene), then
    its own; each once, and only copy that has text or a brief to write it from."""
    names = str(surface.value("copy", "") or "").split()
    names += [n for n in state.child_ids(surface.id) if state.nodes[n].kind == "copy"]
    found: dict[str, Node] = {}
    for name in names:
        node = state.nodes.get(name)
        if node is None or node.kind != "copy" or name in found:
            continue
        if written(node) is not None or node.value("brief", None):
            found[name] = node
    return list(found.values())


def _media_of(state: SceneState, surface: Node) -> list[str]:
    """The media the surface shows, as `node/slot`: the film is `root/render`; a node
    named without a slot shows its first slot."""
    refs = []
    for name in str(surface.value("media", "") or "").split():
        node_id, _, slot = name.partition("/")
        node = state.nodes.get(state.root if node_id == "root" else node_id)
        if node is None:
            continue
        if node.id == state.root:
            refs.append(f"{node.id}/{FILM}")
        elif slot:
            refs.append(f"{node.id}/{slot}")
        else:
            refs.append(f"{node.id}/{'image' if node.kind in ('shot', 'image') else 'video'}")
    return list(dict.fromkeys(refs))


def _made_by(state: SceneState, film: Iterable[Work]) -> dict[str, str]:
    """`node/slot` -> the key of the work whose output fills it; the film's render at
    whatever fidelity is being made is `root/render`."""
    made: dict[str, str] = {}
    for work in film:
        for target in work.targets:
            slot = FILM if target.node == state.root else target.slot
            made[f"{target.node}/{slot}"] = work.key
    return made


def media_kind(ref: str) -> str:
    return "video" if ref.rpartition("/")[2] in _VIDEO_SLOTS else "image"


def _write_copy(node: Node, models: ModelChoices) -> Work:
    choice = models.of("text")
    role = role_of(node)
    return Work(
        f"{node.id}/copy",
        "write_copy",
        choice.model,
        choice.provider,
        Lane.INTERACTIVE,
        {
            "role": role,
            "brief": str(node.value("brief", "") or ""),
            "tone": str(node.value("tone", "") or ""),
            "locale": str(node.value("locale", "") or "en"),
            "limit": limit_of(node),
            "seed": int(node.value("seed", 0) or 0),
            "take": int(node.value("take", 0) or 0),
        },
        targets=(TaskTarget(node.id, "text"),),
        description=f"writing the {role} {node.id}",
    )


def _write_page(surface: Node, copies: list[Node], media: list[str], models: ModelChoices) -> Work:
    choice = models.of("code")
    width, height = size_of(surface)
    kind = str(surface.value("kind", "web") or "web")
    return Work(
        f"{surface.id}/code",
        "write_page",
        choice.model,
        choice.provider,
        Lane.INTERACTIVE,
        {
            "prompt": str(surface.value("prompt", "") or ""),
            "title": str(surface.value("name", "") or ""),
            "kind": kind,
            "width": width,
            "height": height,
            "seed": int(surface.value("seed", 0) or 0),
            "take": int(surface.value("take", 0) or 0),
            "copy": [{"node": n.id, "role": role_of(n), "limit": limit_of(n)} for n in copies],
            "media": [{"ref": ref, "kind": media_kind(ref)} for ref in media],
        },
        targets=(TaskTarget(surface.id, "code"),),
        description=f"writing the code of the {kind} surface {surface.id}",
    )


def _render(
    surface: Node, copies: list[Node], media: Mapping[str, str], code: Work, fidelity: str
) -> Work:
    preview = fidelity == "preview"
    width, height = size_of(surface)
    inputs = {"code": code.key}
    inputs |= {f"copy:{n.id}": f"{n.id}/copy" for n in copies if written(n) is None}
    inputs |= {f"media:{ref}": key for ref, key in media.items()}
    return Work(
        f"{surface.id}/{fidelity}",
        "render_surface",
        MEDIA,
        LOCAL,
        Lane.PREVIEW if preview else Lane.PRODUCTION,
        {
            "fidelity": fidelity,
            "width": width,
            "height": height,
            "copy": {n.id: text for n in copies if (text := written(n)) is not None},
            "limits": {n.id: {"role": role_of(n), "limit": limit_of(n)} for n in copies},
        },
        inputs,
        (TaskTarget(surface.id, RENDERED.get(fidelity, "render")),),
        f"rendering the surface {surface.id}" + (" preview" if preview else ""),
    )
