"""Stage 2, binding: which nodes an intent targets, and the structure a prompt needs.

A text prompt or speech note on a scene with no shots yet asks a
`StructurePlanner` for the shots, captions and narration it implies. The planner
is a port: `LocalStructurePlanner` is deterministic and offline; an LLM planner
can take its place without the engine knowing.
"""

from __future__ import annotations

import re
from typing import Protocol

import msgspec
from fractional_indexing import generate_key_between

from engine.errors import InvalidIntent
from engine.events import NodeAdded
from engine.intents import (
    AnyIntent,
    Diagnose,
    DirectEdit,
    RegenerateNode,
    Render,
    SpeechNote,
    StructuredAction,
    TextPrompt,
)
from engine.nodes import check_prop, node_kind
from engine.provenance import PropValue
from engine.scene import SceneState

MAX_SHOTS = 12
SHOT_SECONDS = 5.0
_NUMBERS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
}  # fmt: skip
_FRAMINGS = (
    "establishing wide shot",
    "close-up, telling detail",
    "closing shot, warm light",
    "medium shot, quiet moment",
    "over-the-shoulder view",
    "aerial view",
)


class NodeSpec(msgspec.Struct, frozen=True):
    """A node the structure needs: added under `parent` in the given order."""

    node: str
    kind: str
    parent: str
    props: dict[str, PropValue] = {}


class StructurePlanner(Protocol):
    async def propose(self, prompt: str, state: SceneState) -> list[NodeSpec]: ...


class LocalStructurePlanner:
    """Reads the shot count, the subject and the asks (narration, captions) from the
    prompt; the same prompt always gives the same structure."""

    async def propose(self, prompt: str, state: SceneState) -> list[NodeSpec]:
        return propose_structure(prompt)


def propose_structure(prompt: str) -> list[NodeSpec]:
    text = " ".join(prompt.split())
    lowered = text.lower()
    count = _shot_count(lowered)
    subject = _subject(text)
    specs: list[NodeSpec] = []
    for n in range(1, count + 1):
        framing = _FRAMINGS[(n - 1) % len(_FRAMINGS)]
        specs.append(
            NodeSpec(
                f"shot-{n}",
                "shot",
                "root",
                {
                    "title": f"Shot {n}",
                    "prompt": f"{subject}, {framing}",
                    "duration": SHOT_SECONDS,
                    "seed": n,
                },
            )
        )
        if re.search(r"caption|subtitle", lowered):
            line = _caption_line(subject, n, count)
            specs.append(
                NodeSpec(
                    f"caption-{n}",
                    "caption",
                    f"shot-{n}",
                    {"text": line, "start": 0.5, "end": SHOT_SECONDS - 0.5},
                )
            )
    if re.search(r"narrat|voice", lowered):
        specs.append(
            NodeSpec(
                "narration",
                "voiceover",
                "root",
                {"text": _narration(subject, count), "voice": "warm", "start": 0.5},
            )
        )
    return specs


def _shot_count(lowered: str) -> int:
    match = re.search(r"\b(\d+|" + "|".join(_NUMBERS) + r")[- ]shots?\b", lowered)
    if match is None:
        return 3
    word = match.group(1)
    count = int(word) if word.isdigit() else _NUMBERS[word]
    return max(1, min(count, MAX_SHOTS))


def _subject(text: str) -> str:
    match = re.search(r"\babout (.+?)(?:,| with\b|\.|$)", text, re.IGNORECASE)
    subject = match.group(1) if match else text
    return subject.strip() or "a quiet place"


def _caption_line(subject: str, n: int, count: int) -> str:
    if n == 1:
        return f"This is {subject}."
    if n == count:
        return "And so the night ends."
    return "The work goes on."


def _narration(subject: str, count: int) -> str:
    return (
        f"This is the story of {subject}. "
        + " ".join("Every night, the light turns." for _ in range(max(count - 2, 0)))
        + " And every morning, someone comes home."
    ).replace("  ", " ")


def bound_nodes(state: SceneState, intent: AnyIntent) -> list[str]:
    """The nodes an intent targets; the whole scene for prompts and notes."""
    if isinstance(intent, DirectEdit):
        return [intent.node]
    if isinstance(intent, StructuredAction):
        node = getattr(intent.action, "node", None)
        return [node] if isinstance(node, str) else []
    if isinstance(intent, TextPrompt | SpeechNote):
        return [state.root]
    return []


def needs_structure(state: SceneState, intent: AnyIntent) -> bool:
    """A prompt on a scene with no shots yet asks for its structure."""
    if not isinstance(intent, TextPrompt | SpeechNote):
        return False
    return not any(state.nodes[n].kind == "shot" for n in state.child_ids(state.root))


def generates(intent: AnyIntent) -> bool:
    """Intents that set generation in motion (structure edits alone do not)."""
    if isinstance(intent, TextPrompt | SpeechNote | DirectEdit):
        return True
    return isinstance(intent, StructuredAction) and isinstance(
        intent.action, RegenerateNode | Render | Diagnose
    )


class StructureContext(msgspec.Struct, frozen=True):
    """The structure a planner proposed for a prompt, handed to decide."""

    specs: tuple[NodeSpec, ...]


def structure_events(state: SceneState, specs: tuple[NodeSpec, ...]) -> list[NodeAdded]:
    """NodeAdded events for the proposed nodes, checked against the node schema and
    placed after any children their parents already have."""
    known = set(state.nodes) | {state.root}
    last_order: dict[str, str | None] = {}
    events: list[NodeAdded] = []
    for spec in specs:
        kind = node_kind(spec.kind, f"structure.{spec.node}.kind")
        if spec.node in known or spec.parent not in known:
            raise InvalidIntent(
                f"structure.{spec.node}", "the structure planner proposed a node that clashes"
            )
        props = {
            name: check_prop(kind, name, value, f"structure.{spec.node}.props.{name}")
            for name, value in spec.props.items()
        }
        if spec.parent not in last_order:
            siblings = state.child_ids(spec.parent)
            last_order[spec.parent] = state.nodes[siblings[-1]].order if siblings else None
        order = str(generate_key_between(last_order[spec.parent], None))
        last_order[spec.parent] = order
        known.add(spec.node)
        events.append(NodeAdded(spec.node, kind.name, spec.parent, order, props))
    return events
