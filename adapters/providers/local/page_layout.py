"""A local code model: a surface's page (HTML, CSS and a small script) from its layout
prompt, kind and size and the names of the copy and media it lays out, offline.

The page names copy and media by node (see `engine.pages`); it never holds them.
Deterministic from the prompt, seed and take. Like a real model it is not always
right: now and then it leaves out an element it was asked for, or sets a width wider
than the surface, so the checks that guard a surface are exercised.
"""

from __future__ import annotations

import html

import msgspec

from adapters.providers.local._determinism import generator_for

MODEL = "local-page-1"
LEAVES_OUT, TOO_WIDE = 0.14, 0.24  # how often a take drops an element, or overflows
LAYOUTS = ("hero", "split", "stacked")
_PALETTES = {
    "quiet": ("#0d1b2a", "#e0e6ed", "#f4b942"),
    "bright": ("#fdfbf7", "#1d2630", "#e4572e"),
    "bold": ("#141414", "#ffffff", "#ff3366"),
    "calm": ("#16302b", "#e8f1ee", "#8fd694"),
}


class CopySlot(msgspec.Struct, frozen=True):
    node: str
    role: str
    limit: int


class MediaSlot(msgspec.Struct, frozen=True):
    ref: str  # node/slot
    kind: str  # video or image


class PageAsk(msgspec.Struct, frozen=True):
    prompt: str
    title: str
    kind: str
    width: int
    height: int
    copy: list[CopySlot]
    media: list[MediaSlot]
    seed: int = 0
    take: int = 0


def write_page(ask: PageAsk) -> str:
    """The page's source."""
    pick = generator_for("page", ask.prompt, ask.kind, ask.width, ask.height, ask.seed, ask.take)
    layout = _layout(ask, int(pick.integers(len(LAYOUTS))))
    background, ink, accent = _palette(ask.prompt)
    fault = float(pick.random())
    copy, media = list(ask.copy), list(ask.media)
    if fault < LEAVES_OUT and (copy or media):
        dropped = int(pick.integers(len(copy) + len(media)))
        if dropped < len(copy):
            del copy[dropped]
        else:
            del media[dropped - len(copy)]
    wide = ask.width + 240 if LEAVES_OUT <= fault < TOO_WIDE else None
    body = _body(copy, media)
    css = _css(ask, layout, (background, ink, accent), wide)
    return _document(ask, layout, css, body)


def _layout(ask: PageAsk, choice: int) -> str:
    words = ask.prompt.lower()
    for layout in LAYOUTS:
        if layout in words:
            return layout
    if ask.kind == "mobile" or ask.width < 600:
        return "stacked"
    return LAYOUTS[choice]


def _palette(prompt: str) -> tuple[str, str, str]:
    words = prompt.lower()
    for mood, colours in _PALETTES.items():
        if mood in words:
            return colours
    return _PALETTES["quiet"]


def _body(copy: list[CopySlot], media: list[MediaSlot]) -> str:
    alt = next((c.node for c in copy if c.role == "alt"), None)
    videos = [m for m in media if m.kind == "video"]
    images = [m for m in media if m.kind == "image"]
    poster = images.pop(0) if videos and images else None
    figures = []
    for number, video in enumerate(videos):
        names = f' data-media="{video.ref}"'
        if number == 0 and poster is not None:
            names += f' data-poster="{poster.ref}"'
        if number == 0 and alt is not None:
            names += f' data-alt="{alt}"'
        figures.append(f'<video{names} controls muted playsinline preload="auto"></video>')
    for number, image in enumerate(images):
        label = f' data-alt="{alt}"' if alt is not None and not videos and number == 0 else ""
        figures.append(f'<img data-media="{image.ref}"{label} alt="">')
    if alt is not None and not figures:
        figures.append(f'<p class="alt" data-node="{alt}">[{alt}]</p>')
    words = _words(copy)
    return (
        '<main class="surface">\n<section class="media">\n'
        + "\n".join(figures)
        + '\n</section>\n<section class="words">\n'
        + "\n".join(words)
        + "\n</section>\n</main>"
    )


def _words(copy: list[CopySlot]) -> list[str]:
    lines, headed = [], False
    for slot in copy:
        placeholder = f"[{html.escape(slot.node)}]"
        if slot.role in ("headline", "tagline"):
            tag = "h2" if headed else "h1"
            headed = True
            lines.append(f'<{tag} data-node="{slot.node}">{placeholder}</{tag}>')
        elif slot.role == "button":
            lines.append(f'<button type="button" data-node="{slot.node}">{placeholder}</button>')
        elif slot.role == "caption":
            lines.append(f'<p class="caption" data-node="{slot.node}">{placeholder}</p>')
        elif slot.role == "body":
            lines.append(f'<p class="body" data-node="{slot.node}">{placeholder}</p>')
    return lines


def _css(ask: PageAsk, layout: str, colours: tuple[str, str, str], wide: int | None) -> str:
    background, ink, accent = colours
    columns = "3fr 2fr" if layout == "split" else "1fr"
    headline = max(24, min(64, ask.width // 22))
    rules = [
        "*{box-sizing:border-box;margin:0}",
        f"html,body{{background:{background};color:{ink};"
        "font-family:Georgia,'DejaVu Serif',serif}",
        f".surface{{width:100%;max-width:{ask.width}px;min-height:{ask.height}px;margin:0 auto;"
        f"display:grid;grid-template-columns:{columns};gap:32px;padding:40px;"
        "align-content:center}",
        ".media video,.media img{width:100%;border-radius:6px;background:#000;display:block}",
        ".words{display:flex;flex-direction:column;gap:20px;justify-content:center}",
        f"h1{{font-size:{headline}px;line-height:1.15;font-weight:normal}}",
        f"h2{{font-size:{headline * 2 // 3}px;font-weight:normal}}",
        ".body{font-size:19px;line-height:1.6;opacity:.85}",
        ".caption{font-size:15px;opacity:.7}",
        f"button{{align-self:flex-start;background:{accent};color:{background};border:0;"
        "padding:14px 28px;font-size:18px;border-radius:999px;cursor:pointer}",
    ]
    if layout == "hero":
        rules.append(
            ".words{text-align:center;align-items:center} .words button{align-self:center}"
        )
    if wide is not None:
        rules.append(f".media{{min-width:{wide}px}}")
    return "\n".join(rules)


_SCRIPT = """
document.querySelectorAll('button').forEach(function (button) {
  button.addEventListener('click', function () {
    var video = document.querySelector('video');
    if (video) { video.scrollIntoView({behavior: 'smooth'}); video.play(); }
  });
});
document.documentElement.dataset.ready = 'yes';
""".strip()


def _document(ask: PageAsk, layout: str, css: str, body: str) -> str:
    title = html.escape(ask.title or "A surface")
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta name="surface" content="{ask.width}x{ask.height}">\n'
        f"<title>{title}</title>\n<style>\n{css}\n</style>\n</head>\n"
        f'<body class="layout-{layout} surface-{html.escape(ask.kind)}">\n{body}\n'
        f"<script>\n{_SCRIPT}\n</script>\n</body>\n</html>\n"
    )
