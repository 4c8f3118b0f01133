"""Surfaces as operations a worker runs: write a line of copy, write a page's code,
and render a surface (its code with the copy and media filled in) as a bundle.

Generated copy and code are checked before they count (`engine.ui_copy`,
`engine.pages`): output that fails is a task failure of kind `invalid_output` with
the reason, and the worker's retry makes another take (`TaskContext.tries`), so a
surface in a view is never a broken one. The render is a zip of `index.html` and its
`assets/`, self-contained, byte for byte the same for the same inputs, with
`thumbnail.png`: the surface at a glance (its first picture and its headline) for
lists and pickers.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import zipfile
from collections.abc import Mapping
from typing import Any

import msgspec
from PIL import Image, ImageDraw, ImageFont

from adapters import task_params as params
from adapters.providers.hosted.text_prompts import bare
from adapters.providers.local.copywriter import write_line
from adapters.providers.local.page_layout import CopySlot, MediaSlot, PageAsk, write_page
from engine.errors import TaskFailure
from engine.pages import PageSlots, fill_page, page_problems
from engine.ports import Operation, TaskContext, TaskOutput
from engine.tasks import ErrorKind, TaskMessage
from engine.ui_copy import copy_problem

BUNDLE = "application/zip"
THUMBNAIL, THUMB_WIDTH = "thumbnail.png", 480
_THUMB_BACKGROUND, _THUMB_INK = (13, 27, 42), (224, 230, 237)
TEXT, HTML = "text/plain; charset=utf-8", "text/html; charset=utf-8"
PAGE = "index.html"
TAKES_PER_ATTEMPT = 1000  # a retry in place starts a fresh run of takes
_EPOCH = (1980, 1, 1, 0, 0, 0)
_SIGNATURES = (
    (b"\x89PNG", ".png", "image/png"),
    (b"\xff\xd8\xff", ".jpg", "image/jpeg"),
    (b"RIFF", ".wav", "audio/wav"),
)


def take_of(task: TaskMessage, context: TaskContext) -> int:
    """The take to make: the asked one, then the next on every try that follows."""
    asked = params.seed(task.params, "take")
    return asked + (task.attempt - 1) * TAKES_PER_ATTEMPT + context.tries


def rejected(what: str, problems: list[str]) -> TaskFailure:
    return TaskFailure(ErrorKind.INVALID_OUTPUT, f"{what}: " + "; ".join(problems))


def checked_copy(task: TaskMessage, text: str) -> TaskOutput:
    """The line as the task's output, or the failure that says why it does not fit."""
    role, limit = params.text(task.params, "role"), params.whole(task.params, "limit", 280)
    problem = copy_problem(text, role, limit)
    if problem is not None:
        raise rejected(f"the {role} written was not usable", [problem])
    line = text.strip()
    return TaskOutput(line.encode(), TEXT, outputs={"text": line})


def checked_page(task: TaskMessage, page: str) -> TaskOutput:
    """The page as the task's output, or the failure that lists what is wrong with it."""
    ask = _page_ask(task, 0)
    slots = PageSlots(
        tuple(c.node for c in ask.copy), tuple(m.ref for m in ask.media), ask.width, ask.height
    )
    problems = page_problems(page, slots)
    if problems:
        raise rejected("the page written was not usable", problems)
    return TaskOutput(page.encode(), HTML, outputs={"bytes": len(page)})


class WriteCopy:
    async def run(self, task: TaskMessage, context: TaskContext) -> TaskOutput:
        p = task.params
        role, brief = params.text(p, "role"), params.text(p, "brief")
        tone = str(p.get("tone") or "")
        line = write_line(role, brief, tone, params.seed(p, "seed"), take_of(task, context))
        return checked_copy(task, line.text)


class WritePage:
    async def run(self, task: TaskMessage, context: TaskContext) -> TaskOutput:
        return checked_page(task, write_page(_page_ask(task, take_of(task, context))))


class CheckedText:
    """A hosted language model writing copy or a page, held to the same checks as the
    local models: its answer without markdown fences or quotes, checked, and on every
    try another take (a new seed)."""

    def __init__(self, operation: str, inner: Operation) -> None:
        self.operation, self.inner = operation, inner

    async def run(self, task: TaskMessage, context: TaskContext) -> TaskOutput:
        take = take_of(task, context)
        asked = msgspec.structs.replace(task, params={**task.params, "take": take})
        answer = await self.inner.run(asked, context)
        text = bare((answer.data or b"").decode("utf-8", errors="replace"))
        if self.operation == "write_page":
            output = checked_page(task, text)
        else:
            output = checked_copy(task, text)
        outputs = {**answer.outputs, **output.outputs}
        return TaskOutput(output.data, output.media_type, outputs=outputs, cost=answer.cost)


CHECKED = ("write_copy", "write_page")


def _page_ask(task: TaskMessage, take: int) -> PageAsk:
    p = task.params
    try:
        copy = msgspec.convert(p.get("copy", []), list[CopySlot])
        media = msgspec.convert(p.get("media", []), list[MediaSlot])
    except msgspec.ValidationError as exc:
        raise params.bad_param("copy/media", f"must list slots: {exc}") from None
    return PageAsk(
        prompt=str(p.get("prompt") or ""),
        title=str(p.get("title") or ""),
        kind=params.text(p, "kind", "web"),
        width=params.whole(p, "width", 1280, at_least=16),
        height=params.whole(p, "height", 800, at_least=16),
        copy=copy,
        media=media,
        seed=params.seed(p, "seed"),
        take=take,
    )


class RenderSurface:
    async def run(self, task: TaskMessage, context: TaskContext) -> TaskOutput:
        p = task.params
        width, height = (
            params.whole(p, "width", at_least=16),
            params.whole(p, "height", at_least=16),
        )
        page = (await context.input("code")).decode("utf-8", errors="replace")
        copy = await _copy_texts(task, context)
        media = {name[6:]: await context.input(name) for name in task.inputs if _is_media(name)}
        slots = PageSlots(tuple(sorted(copy)), tuple(sorted(media)), width, height)
        problems = page_problems(page, slots)
        if problems:  # the code no longer fits what the surface shows
            raise TaskFailure(
                ErrorKind.INVALID_INPUT, "the page cannot be rendered: " + "; ".join(problems)
            )
        assets = {ref: _asset_name(data) for ref, data in media.items()}
        filled = fill_page(page, copy, {ref: f"assets/{name}" for ref, name in assets.items()})
        headline = _headline(task.params, copy)
        picture = next((data for data in media.values() if _is_picture(data)), None)
        thumb = await asyncio.to_thread(thumbnail, picture, headline, width, height)
        bundle = _bundle(filled, {assets[ref]: data for ref, data in media.items()}, thumb)
        facts = {
            "page": PAGE,
            "assets": sorted(assets.values()),
            "copy": copy,
            "thumbnail": THUMBNAIL,
        }
        return TaskOutput(bundle, BUNDLE, outputs=facts)


def _is_media(name: str) -> bool:
    return name.startswith("media:")


async def _copy_texts(task: TaskMessage, context: TaskContext) -> dict[str, str]:
    """Every copy the surface shows, written or generated, each checked against its
    slot (a line written too long for its slot fails here, with the reason)."""
    texts = dict(_mapping(task.params, "copy"))
    for name in task.inputs:
        if name.startswith("copy:"):
            texts[name[5:]] = (await context.input(name)).decode("utf-8", errors="replace")
    limits = _mapping(task.params, "limits")
    problems = []
    for node, text in sorted(texts.items()):
        slot = limits.get(node) or {}
        role = str(slot.get("role", "body")) if isinstance(slot, Mapping) else "body"
        limit = int(slot.get("limit", 280)) if isinstance(slot, Mapping) else 280
        problem = copy_problem(text, role, limit)
        if problem is not None:
            problems.append(f"{node}: {problem}")
    if problems:
        raise TaskFailure(ErrorKind.INVALID_INPUT, "copy does not fit: " + "; ".join(problems))
    return {node: text.strip() for node, text in texts.items()}


def _mapping(p: Mapping[str, Any], name: str) -> dict[str, Any]:
    value = p.get(name, {})
    if not isinstance(value, Mapping):
        raise params.bad_param(name, "must be an object")
    return dict(value)


def _asset_name(data: bytes) -> str:
    digest = hashlib.sha256(data).hexdigest()[:16]
    for signature, extension, _ in _SIGNATURES:
        if data.startswith(signature):
            return digest + extension
    return digest + (".mp4" if data[4:8] == b"ftyp" else ".bin")


def _headline(p: Mapping[str, Any], copy: Mapping[str, str]) -> str:
    """The line a page leads with: its headline or tagline, else any line it shows."""
    limits = _mapping(p, "limits")
    for node, slot in sorted(limits.items()):
        role = slot.get("role") if isinstance(slot, Mapping) else None
        if role in ("headline", "tagline") and node in copy:
            return copy[node]
    return next(iter(sorted(copy.values())), "")


def _is_picture(data: bytes) -> bool:
    pictures = (signature for signature, _, kind in _SIGNATURES if kind.startswith("image/"))
    return any(data.startswith(signature) for signature in pictures)


def thumbnail(picture: bytes | None, headline: str, width: int, height: int) -> bytes:
    """A small PNG of the surface at its aspect: its picture above, its headline below."""
    size = (THUMB_WIDTH, max(2, round(THUMB_WIDTH * height / width)))
    sheet = Image.new("RGB", size, _THUMB_BACKGROUND)
    shown = _decoded(picture) if picture is not None else None
    if shown is not None:
        band = (size[0], min(size[1], round(size[0] * shown.height / max(shown.width, 1))))
        sheet.paste(shown.resize(band), (0, 0))
    draw = ImageDraw.Draw(sheet)
    for points in range(size[0] // 20, 9, -1):  # the largest type the line fits in
        font = ImageFont.load_default(size=points)
        left, top, right, bottom = draw.textbbox((0, 0), headline, font=font)
        if right - left <= size[0] - 24:
            break
    at = ((size[0] - (right - left)) // 2, size[1] - (bottom - top) - size[1] // 12)
    draw.text(at, headline, fill=_THUMB_INK, font=font)
    out = io.BytesIO()
    sheet.save(out, format="PNG")
    return out.getvalue()


def _decoded(picture: bytes) -> Image.Image | None:
    """The picture, or None when it does not decode (the page still shows what a
    browser makes of it; the thumbnail goes without)."""
    try:
        with Image.open(io.BytesIO(picture)) as opened:
            return opened.convert("RGB")
    except (OSError, ValueError, Image.DecompressionBombError):
        return None


def _bundle(page: str, assets: Mapping[str, bytes], thumb: bytes) -> bytes:
    """A zip of the page, its assets and its thumbnail with fixed times, so equal inputs
    give equal bytes (and so one artifact)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        bundle.writestr(zipfile.ZipInfo(PAGE, _EPOCH), page, zipfile.ZIP_DEFLATED)
        bundle.writestr(zipfile.ZipInfo(THUMBNAIL, _EPOCH), thumb)
        for name in sorted(assets):
            bundle.writestr(zipfile.ZipInfo(f"assets/{name}", _EPOCH), assets[name])
    return buffer.getvalue()


def surface_operations() -> dict[tuple[str, str], Operation]:
    return {
        ("local", "write_copy"): WriteCopy(),
        ("local", "write_page"): WritePage(),
        ("local", "render_surface"): RenderSurface(),
    }
