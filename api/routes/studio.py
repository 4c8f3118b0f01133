"""The inspector's page: `/studio` answers the page, and `/studio/assets/<digest>/...`
its scripts and styles (the files of `api/studio/`, shipped with the package).

The digest is a hash of every asset, so an asset's URL changes whenever any of them
does: assets are cached for a year, the page itself never, and a browser can never
mix a new page with old scripts. The page gets a strict Content-Security-Policy: its
own scripts and styles only, no inline code, and connections to this origin only.
The page holds no secret: it signs in with a studio's key and then reads the public
API like any other client.
"""

from __future__ import annotations

import hashlib
import mimetypes
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from fastapi import APIRouter, Response

from api.errors import ApiError

ASSETS = Path(__file__).resolve().parent.parent / "studio"
PAGE = "index.html"
ASSET_ROOT = "{{assets}}"  # where index.html names the assets' folder

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' blob: data:",
        "media-src 'self' blob:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    )
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",  # media URLs carry read tokens
    "X-Frame-Options": "DENY",
}
ASSET_HEADERS = {
    "Cache-Control": "public, max-age=31536000, immutable",
    "X-Content-Type-Options": "nosniff",
}
MEDIA_TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class Bundle:
    """The inspector's files as served: the page, and each asset by its path."""

    digest: str
    page: bytes
    assets: dict[str, bytes]


@cache
def bundle() -> Bundle:
    files = sorted(p for p in ASSETS.rglob("*") if p.is_file() and p.name != PAGE)
    hashing = hashlib.sha256()
    assets: dict[str, bytes] = {}
    for path in files:
        name = path.relative_to(ASSETS).as_posix()
        assets[name] = path.read_bytes()
        hashing.update(name.encode() + b"\0" + assets[name] + b"\0")
    digest = hashing.hexdigest()[:16]
    root = f"/studio/assets/{digest}"
    page = (ASSETS / PAGE).read_text().replace(ASSET_ROOT, root).encode()
    return Bundle(digest, page, assets)


@router.get("/studio")
async def page() -> Response:
    return Response(bundle().page, media_type="text/html; charset=utf-8", headers=PAGE_HEADERS)


@router.get("/studio/assets/{digest}/{name:path}")
async def asset(digest: str, name: str) -> Response:
    shipped = bundle()
    if digest != shipped.digest or name not in shipped.assets:
        raise ApiError(404, f"no inspector asset {name!r} in this version (reload /studio)")
    suffix = Path(name).suffix
    media_type = MEDIA_TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "text/plain"
    return Response(shipped.assets[name], media_type=media_type, headers=ASSET_HEADERS)
