"""Stream tokens: what a browser's EventSource (or WebSocket) passes as `?token=`,
since it cannot send an Authorization header, so that the API key itself never goes
into a URL.

A token opens one stream, read only, for a few minutes: one scene's events, or one
execution's, or one artifact's bytes (for a page's player, which cannot send a header
either and asks for byte ranges as it plays). It is minted by an authenticated POST and reads
`sst_<key id>.<payload>.<mac>`: the payload (scene, execution, expiry) is signed with
HMAC-SHA256 keyed by the stored hash of its API key's secret, so every server of a
deployment can check it without a shared secret of its own, and revoking the key
ends the token too.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

import msgspec

from api.errors import ApiError

PREFIX = "sst_"
LIFETIME = 300.0  # seconds a token opens its stream for (a stream already open goes on)


class StreamScope(msgspec.Struct, frozen=True, array_like=True):
    """What a token opens: one scene (every branch), or one execution of it; or, with
    `artifact` set (and no scene), one artifact's bytes, for a page's <video> or <img>
    that cannot send a header either."""

    scene: str
    execution: str | None
    expires: float
    artifact: str | None = None


def _encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret_hash: str, payload: str) -> str:
    digest = hmac.new(secret_hash.encode(), payload.encode(), hashlib.sha256).digest()
    return _encode(digest)


def mint(
    key_id: str,
    secret_hash: str,
    scene: str,
    execution: str | None,
    *,
    artifact: str | None = None,
) -> tuple[str, float]:
    """A token for the key `key_id` opening `scene` (or one execution of it), or with
    `artifact` (and scene "") one artifact's bytes, and when it expires (unix seconds)."""
    expires = time.time() + LIFETIME
    scope = StreamScope(scene, execution, expires, artifact)
    payload = _encode(msgspec.msgpack.encode(scope))
    return f"{PREFIX}{key_id}.{payload}.{_mac(secret_hash, payload)}", expires


def key_of(token: str) -> str | None:
    """The API key id a token claims, or None for what is not a stream token."""
    if not token.startswith(PREFIX) or token.count(".") != 2:
        return None
    return token[len(PREFIX) :].split(".", 1)[0] or None


def check(token: str, secret_hash: str) -> StreamScope:
    """The scope of a token whose signature is right and whose time has not run out."""
    _, payload, mac = token[len(PREFIX) :].split(".")
    if not hmac.compare_digest(mac, _mac(secret_hash, payload)):
        raise _refused("the stream token is not valid")
    try:
        scope = msgspec.msgpack.decode(_decode(payload), type=StreamScope)
    except (msgspec.DecodeError, ValueError):
        raise _refused("the stream token is not valid") from None
    if scope.expires < time.time():
        raise _refused("the stream token has expired: mint another (POST /streams/tokens)")
    return scope


def _refused(message: str) -> ApiError:
    return ApiError(401, message, headers={"WWW-Authenticate": "Bearer"})
