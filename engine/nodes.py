"""The kinds of node a scene graph holds, their typed props and their artifact slots.

This is the schema that intake checks edits against: a prop not listed for a kind,
a value of the wrong type or out of range is refused with the field that was wrong.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from engine.errors import InvalidIntent
from engine.provenance import PropValue

TITLE_LIMIT = 200
PROMPT_LIMIT = 4_000
TEXT_LIMIT = 20_000
SOURCE_LIMIT = 200_000
SEED_MAX = 2**31 - 1


@dataclass(frozen=True)
class PropSpec:
    """What one prop accepts. Numbers are inclusive ranges; ints are accepted for floats."""

    type: type
    minimum: float | None = None
    maximum: float | None = None
    max_length: int | None = None
    choices: tuple[str, ...] | None = None

    def check(self, value: PropValue, field_name: str) -> PropValue:
        """Return the value in its canonical type, or raise InvalidIntent naming the field."""
        if value is None:
            return None
        if self.type is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if type(value) is not self.type:
            raise InvalidIntent(
                field_name, f"expected {self.type.__name__}, got {type(value).__name__}"
            )
        if isinstance(value, float) and not math.isfinite(value):
            raise InvalidIntent(field_name, "must be a finite number")
        if isinstance(value, int | float):
            self._check_range(value, field_name)
        if isinstance(value, str):
            self._check_text(value, field_name)
        return value

    def _check_range(self, value: float, field_name: str) -> None:
        if self.minimum is not None and value < self.minimum:
            raise InvalidIntent(field_name, f"{value} is below the minimum {self.minimum:g}")
        if self.maximum is not None and value > self.maximum:
            raise InvalidIntent(field_name, f"{value} is above the maximum {self.maximum:g}")

    def _check_text(self, value: str, field_name: str) -> None:
        if self.max_length is not None and len(value) > self.max_length:
            raise InvalidIntent(
                field_name,
                f"text of {len(value)} characters is over the limit of {self.max_length}",
            )
        if self.choices is not None and value not in self.choices:
            raise InvalidIntent(field_name, f"{value!r} is not one of: {', '.join(self.choices)}")


@dataclass(frozen=True)
class NodeKind:
    name: str
    props: dict[str, PropSpec]
    slots: tuple[str, ...] = ()
    container: bool = False
    children: frozenset[str] = field(default_factory=frozenset)


def _text(limit: int = TEXT_LIMIT) -> PropSpec:
    return PropSpec(str, max_length=limit)


_TITLE = _text(TITLE_LIMIT)
_PROMPT = _text(PROMPT_LIMIT)
_SEED = PropSpec(int, 0, SEED_MAX)
_DURATION = PropSpec(float, 0.04, 3600.0)
_START = PropSpec(float, 0.0, 86_400.0)
_VOLUME = PropSpec(float, 0.0, 4.0)
_MODEL = _text(200)
_WIDTH = PropSpec(int, 16, 7680)
_HEIGHT = PropSpec(int, 16, 4320)
_FPS = PropSpec(float, 1.0, 240.0)

_NODE_ID = _text(200)  # another node of the scene, by id

# What a line of UI copy is for; each has its slot's length limit (engine.copy).
COPY_ROLES = ("headline", "tagline", "button", "body", "alt", "caption")
SURFACE_KINDS = ("web", "mobile", "video", "social")

_MEDIA = frozenset({"image", "video", "audio", "voiceover", "caption", "clip"})

KINDS: dict[str, NodeKind] = {
    kind.name: kind
    for kind in (
        NodeKind(
            "scene",
            {"title": _TITLE, "style": _PROMPT, "fps": _FPS, "width": _WIDTH, "height": _HEIGHT},
            slots=("render", "preview"),
            container=True,
            children=frozenset(
                {"shot", "audio", "voiceover", "caption", "surface", "copy", "code"}
            ),
        ),
        NodeKind(
            "shot",
            {"title": _TITLE, "prompt": _PROMPT, "duration": _DURATION, "seed": _SEED},
            slots=("image", "video", "preview"),
            container=True,
            children=_MEDIA,
        ),
        NodeKind(
            "clip",
            {"title": _TITLE, "start": _START, "duration": _DURATION},
            slots=("video",),
            container=True,
            children=_MEDIA,
        ),
        NodeKind(
            "image",
            {"prompt": _PROMPT, "seed": _SEED, "width": _WIDTH, "height": _HEIGHT, "model": _MODEL},
            slots=("image",),
        ),
        NodeKind(
            "video",
            {
                "prompt": _PROMPT,
                "duration": _DURATION,
                "fps": _FPS,
                "seed": _SEED,
                "model": _MODEL,
            },
            slots=("video", "thumbnail"),
        ),
        NodeKind(
            "audio",
            {
                "prompt": _PROMPT,
                "start": _START,
                "duration": _DURATION,
                "volume": _VOLUME,
                "model": _MODEL,
            },
            slots=("audio",),
        ),
        NodeKind(
            "voiceover",
            {
                "text": _text(10_000),
                "copy": _NODE_ID,
                "voice": _text(100),
                "start": _START,
                "volume": _VOLUME,
            },
            slots=("audio",),
        ),
        NodeKind("caption", {"text": _text(500), "copy": _NODE_ID, "start": _START, "end": _START}),
        NodeKind(
            "copy",
            {
                "text": _text(),
                "role": PropSpec(str, choices=COPY_ROLES),
                "brief": _PROMPT,
                "limit": PropSpec(int, 1, 2_000),
                "tone": _text(100),
                "locale": _text(35),
                "seed": _SEED,
                "model": _MODEL,
            },
            slots=("text",),
        ),
        NodeKind(
            "code",
            {
                "language": PropSpec(
                    str, choices=("python", "typescript", "javascript", "html", "css", "json")
                ),
                "source": _text(SOURCE_LIMIT),
                "prompt": _PROMPT,
            },
            slots=("bundle",),
        ),
        NodeKind(
            "surface",
            {
                "name": _TITLE,
                "kind": PropSpec(str, choices=SURFACE_KINDS),
                "width": _WIDTH,
                "height": _HEIGHT,
                "prompt": _PROMPT,
                "seed": _SEED,
                "copy": _text(2_000),
                "media": _text(2_000),
                "model": _MODEL,
            },
            slots=("code", "preview", "render"),
            container=True,
            children=frozenset({"copy", "code", "image", "video", "caption"}),
        ),
    )
}


# Every kind counts its regenerations: a new take is new work with a new content key.
for _kind in KINDS.values():
    _kind.props.setdefault("take", PropSpec(int, 0, 1_000_000))


def node_kind(name: str, field_name: str) -> NodeKind:
    kind = KINDS.get(name)
    if kind is None:
        raise InvalidIntent(field_name, f"unknown node kind {name!r}; known: {', '.join(KINDS)}")
    return kind


def may_hold(parent_kind: str, child_kind: str) -> bool:
    """May a node of `parent_kind` have a child of `child_kind`?"""
    kind = KINDS.get(parent_kind)
    return kind is not None and child_kind in kind.children


def check_prop(kind: NodeKind, prop: str, value: PropValue, field_name: str) -> PropValue:
    spec = kind.props.get(prop)
    if spec is None:
        raise InvalidIntent(
            field_name,
            f"a {kind.name} has no prop {prop!r}; its props are: {', '.join(kind.props)}",
        )
    return spec.check(value, field_name)


def check_slot(kind: NodeKind, slot: str, field_name: str) -> None:
    if slot not in kind.slots:
        have = ", ".join(kind.slots) or "none"
        raise InvalidIntent(field_name, f"a {kind.name} has no slot {slot!r}; its slots: {have}")
