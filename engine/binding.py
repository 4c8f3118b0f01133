"""Stage 2, binding: which nodes an intent targets, and the structure a prompt needs.

A text prompt or speech note on a scene with no shots yet asks a
`StructurePlanner` for the shots, captions, narration and music bed it implies. The
planner is a port: `LocalStructurePlanner` is deterministic and offline (it tells
one small story, from dusk through a night to dawn); an LLM planner can take its
place without the engine knowing.
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
CAPTION_SPAN = (0.5, SHOT_SECONDS - 0.5)  # seconds into its shot a caption shows
NARRATION_LEAD = 0.3  # seconds into its shot a line of narration starts
SCORE_VOLUME = 0.35  # the music bed under the voices, before any ducking
_NUMBERS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
}  # fmt: skip


class Beat(msgspec.Struct, frozen=True):
    """One moment of the story: how the shot is framed, what it shows, and its line.

    `scene` and `line` name `{subject}` (the prompt's subject) and `{who}` (its short
    name: "the keeper"); the line is the caption and what the narrator says, short
    enough to be spoken within a shot. The words are chosen so a picture model reads
    the right time of day and weather from the prompt and the line together.
    """

    framing: str
    scene: str
    line: str


# The story of a night: dusk, dark, a storm, its end, dawn and day. A lighthouse
# subject gets the lighthouse's own lines.
_LIGHTHOUSE_BEATS = {
    "dusk": Beat(
        "establishing wide shot", "{subject} at dusk", "At dusk, {who} walks out to the lighthouse."
    ),
    "night": Beat(
        "wide shot", "{subject} on a starry night", "Night falls. The lamp turns over a starry sea."
    ),
    "storm": Beat(
        "close-up",
        "{subject} in a storm at night, {who} at the window",
        "A storm at night. {Who} at the lighthouse window.",
    ),
    "lull": Beat(
        "medium shot",
        "{subject} late at night under the moon",
        "Late at night, the wind drops and the moon comes out.",
    ),
    "dawn": Beat(
        "medium shot",
        "{subject} at dawn, {who} on the gallery",
        "At dawn, {who} steps onto the gallery.",
    ),
    "day": Beat(
        "wide shot",
        "{subject} on a sunny day, calm sea",
        "By day, the lighthouse rests in the sun.",
    ),
}
_BEATS = {
    "dusk": Beat(
        "establishing wide shot", "{subject} at dusk", "At dusk, {who} watches the light fade."
    ),
    "night": Beat(
        "wide shot", "{subject} on a starry night", "Night falls, and the stars come out."
    ),
    "storm": Beat(
        "close-up", "{subject} in a storm at night", "A storm at night. {Who} at the window."
    ),
    "lull": Beat(
        "medium shot",
        "{subject} late at night under the moon",
        "Late at night, the wind drops and the moon comes out.",
    ),
    "dawn": Beat("medium shot", "{subject} at dawn", "At dawn, all is calm again."),
    "day": Beat("wide shot", "{subject} on a sunny day", "By day, all is quiet in the sun."),
}
_ARCS = {
    1: ("dusk",),
    2: ("dusk", "dawn"),
    3: ("dusk", "storm", "dawn"),
    4: ("dusk", "night", "storm", "dawn"),
    5: ("dusk", "night", "storm", "dawn", "day"),
    6: ("dusk", "night", "storm", "lull", "dawn", "day"),
}
_PAGE = re.compile(r"landing page|web ?page|web ?site|\bpage\b")
TAGLINE, LANDING_PAGE = "tagline", "landing-page"
TAGLINE_SPAN = (2.9, SHOT_SECONDS - 0.2)  # the closing caption, in the last shot
_LEADING_WORDS = re.compile(r"^(?:a|an|the|one|some|my|our)\s+", re.IGNORECASE)
_CLAUSE = re.compile(r"\s+(?:who|that|which|and|with|in|on|at|of|from)\s+", re.IGNORECASE)


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
    prompt, and tells the subject's story in that many shots; the same prompt always
    gives the same structure."""

    async def propose(self, prompt: str, state: SceneState) -> list[NodeSpec]:
        return propose_structure(prompt)


def propose_structure(prompt: str) -> list[NodeSpec]:
    """Shots that tell a small story about the prompt's subject (from dusk, through the
    night, to dawn), each with its caption and line of narration when the prompt asks
    for them, and a music bed under the whole film."""
    text = " ".join(prompt.split())
    lowered = text.lower()
    subject = _subject(text)
    captions = re.search(r"caption|subtitle", lowered) is not None
    narrated = re.search(r"narrat|voice", lowered) is not None
    page = _PAGE.search(lowered) is not None
    beats = _story(subject, _shot_count(lowered))
    specs: list[NodeSpec] = []
    if page:
        specs.append(NodeSpec(TAGLINE, "copy", "root", _tagline(subject)))
    for n, (scene, line) in enumerate(beats, start=1):
        shot = f"shot-{n}"
        props: dict[str, PropValue] = {
            "title": f"Shot {n}",
            "prompt": scene,
            "duration": SHOT_SECONDS,
            "seed": n,
        }
        specs.append(NodeSpec(shot, "shot", "root", props))
        if captions:
            closing = page and n == len(beats)
            start, end = CAPTION_SPAN
            end = round(TAGLINE_SPAN[0] - 0.2, 2) if closing else end
            specs.append(
                NodeSpec(
                    f"caption-{n}", "caption", shot, {"text": line, "start": start, "end": end}
                )
            )
            if closing:  # the film closes on the line its page opens with: one node
                first, last = TAGLINE_SPAN
                closing_props: dict[str, PropValue] = {"copy": TAGLINE, "start": first, "end": last}
                specs.append(NodeSpec("caption-tagline", "caption", shot, closing_props))
    if narrated:
        for n, (_, line) in enumerate(beats, start=1):
            start = (n - 1) * SHOT_SECONDS + NARRATION_LEAD
            props = {"text": line, "voice": "warm", "start": start}
            specs.append(NodeSpec(f"narration-{n}", "voiceover", "root", props))
    specs.append(
        NodeSpec("score", "audio", "root", {"prompt": _score(subject), "volume": SCORE_VOLUME})
    )
    if page:
        specs.extend(_landing_page(subject, beats[0][0]))
    return specs


def _tagline(subject: str) -> dict[str, PropValue]:
    """The film's tagline, written here rather than generated: the closing caption and
    the page's headline say it, so it is known before anything is made."""
    who = _short_name(subject)
    light = "one light" if "lighthouse" in subject.lower() else "one place"
    text = f"One night, {light}, and {who} who keeps it."
    return {"text": text, "role": "tagline", "tone": "quiet"}


def _landing_page(subject: str, opening: str) -> list[NodeSpec]:
    """A web page for the film: the film as its hero (its first picture as the poster),
    the tagline as headline, then copy written from briefs."""
    page = LANDING_PAGE
    surface: dict[str, PropValue] = {
        "name": f"{subject[:1].upper()}{subject[1:]}: the film",
        "kind": "web",
        "prompt": "a quiet landing page: the film as the hero, the tagline as its headline, "
        "a short synopsis and a button to watch",
        "copy": TAGLINE,
        "media": "root shot-1/image",
    }
    briefs = (
        ("synopsis", "body", f"a two-sentence synopsis of a short film about {subject}"),
        ("watch-button", "button", "invite the visitor to watch the film"),
        ("poster-alt", "alt", f"describe the film's opening picture: {opening}"),
    )
    specs = [NodeSpec(page, "surface", "root", surface)]
    for node, role, brief in briefs:
        specs.append(NodeSpec(node, "copy", page, {"role": role, "brief": brief, "tone": "quiet"}))
    return specs


def _story(subject: str, count: int) -> list[tuple[str, str]]:
    """(shot prompt, line) for each of `count` shots; past six the night begins again."""
    beats = _LIGHTHOUSE_BEATS if "lighthouse" in subject.lower() else _BEATS
    arc = _ARCS.get(count, _ARCS[6])
    who = _short_name(subject)
    story = []
    for n in range(count):
        beat = beats[arc[n % len(arc)]]
        fill = {"subject": subject, "who": who, "Who": who[:1].upper() + who[1:]}
        story.append((f"{beat.scene.format(**fill)}, {beat.framing}", beat.line.format(**fill)))
    return story


def _short_name(subject: str) -> str:
    """What a line calls the subject: "a lighthouse keeper" -> "the keeper"."""
    head = _CLAUSE.split(_LEADING_WORDS.sub("", subject.strip()), maxsplit=1)[0]
    words = head.split()
    return f"the {words[-1]}" if words else "the place"


def _score(subject: str) -> str:
    """What the music bed is asked for: slow and melancholy, over the sea's sound when
    the subject lives by the sea."""
    by_sea = re.search(r"lighthouse|sea|ocean|coast|harbou?r|beach|island", subject, re.IGNORECASE)
    return "a slow melancholy score" + (" over the sound of the sea" if by_sea else "")


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
