"""A surface's page: how its code names the scene's nodes, the checks generated code
must pass, and how a render fills the names in.

Generated code never holds copy or media itself. It names them by node, so that
regenerating a video or editing a line changes the rendered surface and not the code:

- `data-node="tagline"`: the element's text is the copy node's text;
- `data-media="root/preview"`: the element's `src` is that node's artifact in that slot;
- `data-poster="shot-1/image"`: a video's poster frame, likewise;
- `data-alt="alt-copy"`: the element's `alt` (and `aria-label`) is that copy's text.

The checks: the page parses as HTML with balanced elements, names only the nodes
the surface was given and every one it must show, loads nothing from outside, and
fits the surface's declared size.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from html.parser import HTMLParser

import msgspec

COPY_ATTR, MEDIA_ATTR, POSTER_ATTR, ALT_ATTR = "data-node", "data-media", "data-poster", "data-alt"
NAMING = (COPY_ATTR, MEDIA_ATTR, POSTER_ATTR, ALT_ATTR)
VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track"}
    | {"wbr"}
)
_PIXELS = re.compile(r"(?<![-\w])(?:min-)?width\s*:\s*(\d+(?:\.\d+)?)px", re.IGNORECASE)
_OUTSIDE = re.compile(r"^\s*(?:[a-z][a-z0-9+.-]*:|//)", re.IGNORECASE)


class PageSlots(msgspec.Struct, frozen=True):
    """What a surface's page must lay out: its copy nodes and its media (`node/slot`),
    and the size it is declared for."""

    copy: tuple[str, ...]
    media: tuple[str, ...]
    width: int
    height: int


class _Reader(HTMLParser):
    """Collects what the checks need in one pass over the page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.problems: list[str] = []
        self.named: dict[str, set[str]] = {attr: set() for attr in NAMING}
        self.tags: set[str] = set()
        self.styles: list[str] = []
        self.declared: str | None = None
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        values = {name: value or "" for name, value in attrs}
        for attr in NAMING:
            if attr in values:
                self.named[attr].add(values[attr])
        for attr in ("src", "href", "poster"):
            if _OUTSIDE.match(values.get(attr, "")) and not values[attr].startswith("#"):
                self.problems.append(f"<{tag} {attr}> loads {values[attr]!r} from outside")
        if "style" in values:
            self.styles.append(values["style"])
        if tag == "meta" and values.get("name") == "surface":
            self.declared = values.get("content", "")
        self._in_style = tag == "style"
        if tag not in VOID:
            self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID and self.open and self.open[-1] == tag:
            self.open.pop()

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False
        if tag in VOID:
            return
        if not self.open or self.open[-1] != tag:
            top = self.open[-1] if self.open else "nothing"
            self.problems.append(f"</{tag}> closes {top}")
            if tag in self.open:
                del self.open[self.open.index(tag) :]
            return
        self.open.pop()

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.styles.append(data)


def page_problems(page: str, slots: PageSlots) -> list[str]:
    """Why `page` cannot be the surface's code; empty when it can."""
    reader = _Reader()
    try:
        reader.feed(page)
        reader.close()
    except (AssertionError, ValueError) as exc:  # html.parser's own refusals
        return [f"the page does not parse as HTML: {exc}"]
    problems = list(reader.problems)
    if reader.open:
        problems.append("unclosed elements: " + ", ".join(f"<{t}>" for t in reader.open))
    problems += [f"the page has no <{t}>" for t in ("html", "head", "body") if t not in reader.tags]
    problems += _naming_problems(reader.named, slots)
    problems += _size_problems(reader, slots)
    return problems


def _naming_problems(named: Mapping[str, set[str]], slots: PageSlots) -> list[str]:
    copy_names = named[COPY_ATTR] | named[ALT_ATTR]
    media_names = named[MEDIA_ATTR] | named[POSTER_ATTR]
    problems = [
        f"names copy {n!r}, which the surface has not" for n in sorted(copy_names - set(slots.copy))
    ]
    problems += [
        f"names media {n!r}, which the surface has not"
        for n in sorted(media_names - set(slots.media))
    ]
    problems += [f"leaves out the copy {n!r}" for n in slots.copy if n not in copy_names]
    problems += [f"leaves out the media {n!r}" for n in slots.media if n not in media_names]
    return problems


def _size_problems(reader: _Reader, slots: PageSlots) -> list[str]:
    problems = []
    declared = f"{slots.width}x{slots.height}"
    if reader.declared != declared:
        problems.append(f'the page declares size {reader.declared!r}, not "{declared}"')
    widest = max((float(w) for css in reader.styles for w in _PIXELS.findall(css)), default=0.0)
    if widest > slots.width:
        problems.append(f"a width of {widest:g}px overflows the surface's {slots.width}px")
    return problems


class _Filler(HTMLParser):
    """Re-emits the page with every name filled in."""

    def __init__(self, copy: Mapping[str, str], media: Mapping[str, str]) -> None:
        super().__init__(convert_charrefs=False)
        self.copy, self.media = copy, media
        self.out: list[str] = []
        self._skipping: list[str] = []  # the filled element whose old content is dropped

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._skipping:
            if tag not in VOID:
                self._skipping.append(tag)
            return
        self.out.append(self._tag(tag, attrs))
        node = dict(attrs).get(COPY_ATTR)
        if node and node in self.copy and tag not in VOID:
            self.out.append(html.escape(self.copy[node], quote=False))
            self._skipping.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if not self._skipping:
            self.out.append(self._tag(tag, attrs, close=" /"))

    def handle_endtag(self, tag: str) -> None:
        if self._skipping:
            self._skipping.pop()
            if self._skipping:
                return
        self.out.append(f"</{tag}>")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.out.append(data)

    def handle_entityref(self, name: str) -> None:
        self.handle_data(f"&{name};")

    def handle_charref(self, name: str) -> None:
        self.handle_data(f"&#{name};")

    def handle_comment(self, data: str) -> None:
        self.handle_data(f"<!--{data}-->")

    def handle_decl(self, decl: str) -> None:
        self.out.append(f"<!{decl}>")

    def _tag(self, tag: str, attrs: list[tuple[str, str | None]], close: str = "") -> str:
        values: dict[str, str | None] = dict(attrs)
        fills = {MEDIA_ATTR: "src", POSTER_ATTR: "poster"}
        for attr, target in fills.items():
            found = self.media.get(values.get(attr) or "")
            if found is not None:
                values[target] = found
        alt = self.copy.get(values.get(ALT_ATTR) or "")
        if alt is not None:
            values["alt" if tag == "img" else "aria-label"] = alt
        parts = [tag] + [
            name if value is None else f'{name}="{html.escape(value)}"'
            for name, value in values.items()
        ]
        return "<" + " ".join(parts) + close + ">"


def fill_page(page: str, copy: Mapping[str, str], media: Mapping[str, str]) -> str:
    """The page with each named copy's text and each named media's address (`node/slot`
    -> where the render put it) filled in; names not given are left as they are, so a
    draft shows the structure with its placeholders."""
    filler = _Filler(copy, media)
    filler.feed(page)
    filler.close()
    return "".join(filler.out)
