"""Webhook signatures: Replicate's scheme with good, bad, rotated, expired and future
signatures, and the plain HMAC-SHA256 check."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable

import pytest

from adapters.providers.hosted.replicate import prediction_status
from adapters.providers.hosted.webhooks import (
    WebhookRejected,
    verify_hmac_sha256,
    verify_replicate_webhook,
)
from engine.tasks import TaskStatus

Tamper = Callable[[bytes, dict[str, str]], tuple[bytes, dict[str, str]]]
SIGNING_KEY = b"scenestate webhook signing key 32"
SECRET = "whsec_" + base64.b64encode(SIGNING_KEY).decode()
NOW = 1_760_000_000.0
BODY = json.dumps(
    {
        "id": "gm3qorzdhgbfurvjtvhg6dckhu",
        "status": "succeeded",
        "output": ["https://replicate.delivery/pbxt/out-0.png"],
        "metrics": {"predict_time": 1.5},
    }
).encode()


def sign(body: bytes, webhook_id: str, timestamp: str, key: bytes = SIGNING_KEY) -> str:
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    return base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def headers(signature: str, timestamp: float = NOW, webhook_id: str = "msg_1") -> dict[str, str]:
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(timestamp)),
        "webhook-signature": signature,
    }


def test_a_well_signed_fresh_webhook_passes_and_reads_as_a_status() -> None:
    signature = sign(BODY, "msg_1", str(int(NOW)))

    verify_replicate_webhook(headers(f"v1,{signature}"), BODY, SECRET, now=NOW + 30)

    status = prediction_status(json.loads(BODY))
    assert status.state == TaskStatus.SUCCEEDED
    assert status.outputs == ("https://replicate.delivery/pbxt/out-0.png",)


def test_header_names_are_matched_whatever_their_case() -> None:
    signature = sign(BODY, "msg_1", str(int(NOW)))
    shouted = {name.upper(): value for name, value in headers(f"v1,{signature}").items()}

    verify_replicate_webhook(shouted, BODY, SECRET, now=NOW)


def test_one_good_signature_among_several_is_enough() -> None:
    good = sign(BODY, "msg_1", str(int(NOW)))
    stale = sign(BODY, "msg_1", str(int(NOW)), key=b"the previous key")

    verify_replicate_webhook(headers(f"v1,{stale} v2,abc v1,{good}"), BODY, SECRET, now=NOW)


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        (lambda body, h: (body + b" ", h), "no v1 signature"),
        (lambda body, h: (body, {**h, "webhook-id": "msg_2"}), "no v1 signature"),
        (lambda body, h: (body, {**h, "webhook-signature": "v1,bm90IGEgc2lnbmF0dXJl"}), "no v1"),
        (lambda body, h: (body, {k: v for k, v in h.items() if k != "webhook-id"}), "missing"),
        (lambda body, h: (body, {**h, "webhook-timestamp": "yesterday"}), "not Unix seconds"),
    ],
)
def test_a_tampered_webhook_is_rejected(tamper: Tamper, reason: str) -> None:
    good = headers(f"v1,{sign(BODY, 'msg_1', str(int(NOW)))}")
    body, changed = tamper(BODY, good)

    with pytest.raises(WebhookRejected, match=reason):
        verify_replicate_webhook(changed, body, SECRET, now=NOW)


@pytest.mark.parametrize("age", [-301.0, 301.0, 86_400.0])
def test_a_webhook_outside_the_tolerance_is_rejected_even_if_well_signed(age: float) -> None:
    sent = NOW - age
    signature = sign(BODY, "msg_1", str(int(sent)))

    with pytest.raises(WebhookRejected, match="outside"):
        verify_replicate_webhook(headers(f"v1,{signature}", sent), BODY, SECRET, now=NOW)


def test_a_secret_that_is_not_base64_is_a_configuration_error() -> None:
    signature = sign(BODY, "msg_1", str(int(NOW)))

    with pytest.raises(ValueError, match="whsec_"):
        verify_replicate_webhook(headers(f"v1,{signature}"), BODY, "whsec_***", now=NOW)


def test_plain_hmac_sha256_in_hex_and_base64() -> None:
    digest = hmac.new(b"key", BODY, hashlib.sha256).digest()

    verify_hmac_sha256(BODY, digest.hex(), b"key")
    verify_hmac_sha256(BODY, base64.b64encode(digest).decode(), b"key", encoding="base64")
    with pytest.raises(WebhookRejected, match="does not match"):
        verify_hmac_sha256(BODY, digest.hex(), b"another key")
