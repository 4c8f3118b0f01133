"""Checking that a webhook really comes from the provider, and is not a replay.

Replicate signs every webhook (replicate.com/docs/topics/webhooks/verify-webhook):
the `webhook-signature` header holds space-separated `v1,<base64>` signatures, each
an HMAC-SHA256 of `<webhook-id>.<webhook-timestamp>.<raw body>` keyed with the bytes
of the base64 secret after `whsec_`; `webhook-timestamp` is Unix seconds, checked
against a tolerance. `verify_hmac_sha256` is the same check for providers that sign
the body alone.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Mapping
from typing import Literal

from engine.errors import ScenestateError

DEFAULT_TOLERANCE = 300.0  # seconds a webhook's timestamp may be off from now


class WebhookRejected(ScenestateError):
    """A webhook whose signature or timestamp does not hold; `reason` says which."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"webhook rejected: {reason}")
        self.reason = reason


def verify_hmac_sha256(
    message: bytes,
    signature: str,
    secret: bytes,
    *,
    encoding: Literal["hex", "base64"] = "hex",
) -> None:
    """Raise WebhookRejected unless `signature` is the HMAC-SHA256 of `message`."""
    digest = hmac.new(secret, message, hashlib.sha256).digest()
    expected = digest.hex() if encoding == "hex" else base64.b64encode(digest).decode()
    if not hmac.compare_digest(expected.encode(), signature.strip().encode()):
        raise WebhookRejected("the signature does not match the body")


def check_timestamp(timestamp: str, now: float, tolerance: float = DEFAULT_TOLERANCE) -> None:
    try:
        sent = float(timestamp)
    except ValueError:
        raise WebhookRejected(f"webhook-timestamp {timestamp!r} is not Unix seconds") from None
    if abs(now - sent) > tolerance:
        raise WebhookRejected(
            f"webhook-timestamp is {now - sent:+.0f} s from now, outside ±{tolerance:g} s"
        )


def verify_replicate_webhook(
    headers: Mapping[str, str],
    body: bytes,
    secret: str,
    *,
    now: float | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
) -> None:
    """Raise WebhookRejected unless `body` with `headers` is a fresh webhook signed with
    `secret` (Replicate's `whsec_...` signing secret)."""
    lowered = {name.lower(): value for name, value in headers.items()}
    missing = [
        h for h in ("webhook-id", "webhook-timestamp", "webhook-signature") if h not in lowered
    ]
    if missing:
        raise WebhookRejected(f"missing header {', '.join(missing)}")
    check_timestamp(lowered["webhook-timestamp"], time.time() if now is None else now, tolerance)
    key = _signing_key(secret)
    signed = f"{lowered['webhook-id']}.{lowered['webhook-timestamp']}.".encode() + body
    for candidate in lowered["webhook-signature"].split():
        version, _, signature = candidate.partition(",")
        if version != "v1":
            continue
        try:
            verify_hmac_sha256(signed, signature, key, encoding="base64")
        except WebhookRejected:
            continue
        return
    raise WebhookRejected("no v1 signature in webhook-signature matches the body")


def _signing_key(secret: str) -> bytes:
    encoded = secret.removeprefix("whsec_")
    try:
        return base64.b64decode(encoded, validate=True)
    except binascii.Error:
        raise ValueError("a Replicate signing secret is whsec_ followed by base64") from None
