"""A local copywriter: lines of UI copy (headline, tagline, button, body, alt text,
caption) from a brief, offline, by a small grammar.

Deterministic from the brief, tone, seed and take. Like a real text model it is not
always right: now and then a line runs past its slot's limit, or comes back with a
hole in it (an unfilled `{...}`), so the checks that guard a surface are exercised.
"""

from __future__ import annotations

import re

import msgspec

from adapters.providers.local._determinism import generator_for

MODEL = "local-copy-1"
TOO_LONG, HOLED = 0.18, 0.28  # how often a take overruns its slot, or leaves a hole
_STOP_WORDS = """a an the of to for and or with about from into onto over under in on at by
short film films visitor describe invite two sentence sentences synopsis picture opening
shot wide close medium establishing it its this that"""
_STOP = frozenset(_STOP_WORDS.split())
_GRAMMAR: dict[str, tuple[str, ...]] = {
    "headline": ("{Topic}, from dusk to dawn.", "One night with {topic}.", "Where {topic} waits."),
    "tagline": ("{Topic}, kept through the night.", "One light. {Topic}.", "Stay for {topic}."),
    "button": ("Watch the film", "Play the film", "Watch now", "See the film"),
    "body": (
        "A short film about {topic}. Over one night, {second} holds steady.",
        "{Topic}, in three quiet shots. What stays when {second} is all there is?",
        "This is a film about {topic}. It follows {second} from dusk until the day returns.",
    ),
    "alt": ("A still of {scene}.", "The opening picture: {scene}.", "{Scene}, in the last light."),
    "caption": ("{Topic}.", "Then, {topic}.", "And {topic} again."),
}
_TAIL = (
    ", told slowly, frame by frame, with the wind against the glass and the lamp turning over "
    "the water while the night goes on and on and nobody comes"
)


class Line(msgspec.Struct, frozen=True):
    text: str
    role: str


def write_line(role: str, brief: str, tone: str, seed: int, take: int) -> Line:
    """One line of copy for `role`, written from `brief`."""
    pick = generator_for("copy", role, brief, tone, seed, take)
    forms = _GRAMMAR.get(role, _GRAMMAR["body"])
    form = forms[int(pick.integers(len(forms)))]
    topic, second = _topics(brief)
    scene = _scene(brief)
    fault = float(pick.random())
    if fault < TOO_LONG:
        form = form.rstrip(".") + _TAIL * (2 if role == "body" else 1) + "."
    elif fault < HOLED and "opic}" in form:
        form = form.replace("{topic}", "{subject}").replace("{Topic}", "{Subject}")
    elif fault < HOLED:
        form = "{cta}: " + form
    fill = {
        "topic": topic,
        "Topic": _capital(topic),
        "second": second,
        "scene": scene,
        "Scene": _capital(scene),
    }
    text = re.sub(r"\{(\w+)\}", lambda m: fill.get(m.group(1), m.group(0)), form)
    return Line(text, role)


def _topics(brief: str) -> tuple[str, str]:
    """What the brief is about ("a lighthouse keeper") and a second thing in it."""
    about = re.search(r"\babout (.+?)(?:[,.:;]|$)", brief, re.IGNORECASE)
    words = [w for w in re.findall(r"[A-Za-z'-]+", brief) if w.lower() not in _STOP]
    topic = about.group(1).strip() if about else " ".join(words[:2]) or "this film"
    last = topic.split()[-1] if topic.split() else "film"
    return topic, f"the {last}"


def _scene(brief: str) -> str:
    """The picture an alt text describes: what follows the brief's colon, without its
    framing words."""
    _, _, after = brief.partition(":")
    parts = [p.strip() for p in (after or brief).split(",")]
    kept = [p for p in parts if not re.search(r"\bshot\b", p)]
    return ", ".join(kept) or "the film's first picture"


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]
