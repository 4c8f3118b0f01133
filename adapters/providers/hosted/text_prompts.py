"""How a surface's text work (a line of copy, a page's code) becomes an instruction to a
hosted language model, and how its answer becomes the bare line or page.

The instructions say what the local models do by construction: copy fits its slot in
one line; the page names copy and media by node (`engine.pages`), declares its size,
and loads nothing from outside. Whatever a model answers is checked all the same.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from engine.pages import ALT_ATTR, COPY_ATTR, MEDIA_ATTR, POSTER_ATTR

_FENCE = re.compile(r"^\s*```[\w-]*\s*\n(?P<body>.*?)\n\s*```\s*$", re.DOTALL)
COPY_SYSTEM = (
    "You write user-interface copy. Answer with the line itself: no quotes, no "
    "explanation, no markdown."
)
PAGE_SYSTEM = (
    "You write one self-contained HTML page (inline CSS, at most a small inline script, "
    "nothing loaded from other sites). Answer with the page only, no explanation."
)


def copy_instruction(params: Mapping[str, Any]) -> str:
    role, limit = str(params.get("role", "body")), int(params.get("limit", 280))
    tone = str(params.get("tone") or "plain")
    return (
        f"Write a {role} for a web page, in a {tone} tone, at most {limit} characters, "
        f"on one line. Brief: {params.get('brief', '')}"
    )


def page_instruction(params: Mapping[str, Any]) -> str:
    width, height = params.get("width", 1280), params.get("height", 800)
    copy = params.get("copy") or []
    media = params.get("media") or []
    lines = [
        f"A {params.get('kind', 'web')} surface of {width}x{height} pixels: {params.get('prompt')}",
        f'Put <meta name="surface" content="{width}x{height}"> in the head; '
        f"no element wider than {width}px.",
        "Leave every text and media address empty; name them by node:",
    ]
    for slot in copy:
        node, role = slot["node"], slot["role"]
        also = f' (or {ALT_ATTR}="{node}" on the main media)' if role == "alt" else ""
        lines.append(
            f"- the {role} (at most {slot['limit']} characters): an element with "
            f'{COPY_ATTR}="{node}"{also}'
        )
    for item in media:
        ref = item["ref"]
        also = f' (or {POSTER_ATTR}="{ref}" on a video)' if item["kind"] == "image" else ""
        lines.append(f'- a {item["kind"]}: an element with {MEDIA_ATTR}="{ref}"{also}')
    return "\n".join(lines)


def bare(answer: str) -> str:
    """The answer without a markdown fence or the quotes models like to add."""
    text = answer.strip()
    fenced = _FENCE.match(text)
    if fenced:
        text = fenced.group("body").strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        text = text[1:-1].strip()
    return text
