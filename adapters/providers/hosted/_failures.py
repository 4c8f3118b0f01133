"""How a hosted provider's refusal becomes an engine TaskFailure: which ErrorKind, a
message made of the provider's own detail (never the key), and how long it asked us
to wait. Pure decisions; `_http` does the I/O."""

from __future__ import annotations

import email.utils
import json
from collections.abc import Mapping
from typing import Any

from adapters.providers.hosted.keys import ApiKey
from engine.errors import TaskFailure
from engine.tasks import ErrorKind

TRANSIENT = frozenset({ErrorKind.TIMEOUT, ErrorKind.UNAVAILABLE, ErrorKind.RATE_LIMITED})
_REFUSAL_WORDS = ("nsfw", "content policy", "content_policy", "sensitive", "safety", "moderation")
_MAX_DETAIL = 400


def is_refusal(text: str) -> bool:
    """True when a provider's words say the content itself was refused."""
    lowered = text.lower()
    return any(word in lowered for word in _REFUSAL_WORDS)


def retry_after(value: str | None, now: float) -> float | None:
    """Seconds a `retry-after` header asks for: delta seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - now, 0.0)


def provider_detail(body: bytes) -> str:
    """The provider's own explanation in an error body, whatever shape it has:
    Replicate's problem+json `detail`, fal's and ElevenLabs' `detail` as a string,
    an object {status, message} or a list of {loc, msg, type}."""
    try:
        payload: Any = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return body.decode("utf-8", "replace").strip()[:_MAX_DETAIL]
    if not isinstance(payload, dict):
        return str(payload)[:_MAX_DETAIL]
    # fal's request errors name their category beside the detail
    category = f" ({payload['error_type']})" if payload.get("error_type") else ""
    for field in ("detail", "error", "message", "title"):
        if payload.get(field):
            return (_describe(payload[field]) + category)[:_MAX_DETAIL]
    return json.dumps(payload)[:_MAX_DETAIL]


def _describe(detail: Any) -> str:
    if isinstance(detail, list):
        return "; ".join(_describe(item) for item in detail)
    if isinstance(detail, dict):
        if "msg" in detail:
            where = ".".join(str(part) for part in detail.get("loc", ()))
            kind = f" ({detail['type']})" if detail.get("type") else ""
            return f"{where}: {detail['msg']}{kind}" if where else f"{detail['msg']}{kind}"
        if "message" in detail:
            status = detail.get("status")
            return f"{status}: {detail['message']}" if status else str(detail["message"])
        return json.dumps(detail)
    return str(detail)


def failure_for_answer(
    provider: str,
    key: ApiKey,
    key_variable: str,
    action: str,
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    now: float,
) -> TaskFailure:
    """The failure an HTTP error answer means; `action` says what we were doing
    ("creating a prediction of black-forest-labs/flux-schnell")."""
    detail = key.scrub(provider_detail(body)) or "no detail given"
    wait = retry_after(headers.get("retry-after"), now)
    said = f"(HTTP {status}): {detail}"
    if status == 429:
        message = f"{provider} is rate limiting us while {action} {said}"
        return TaskFailure(ErrorKind.RATE_LIMITED, message, wait)
    if status in (401, 403):
        message = f"{provider} refused the API key from {key_variable} while {action} {said}"
        return TaskFailure(ErrorKind.INVALID_INPUT, message)
    if status in (408, 504):
        return TaskFailure(ErrorKind.TIMEOUT, f"{provider} timed out while {action} {said}", wait)
    if status >= 500:
        message = f"{provider} is unavailable while {action} {said}"
        return TaskFailure(ErrorKind.UNAVAILABLE, message, wait)
    if is_refusal(detail):
        message = f"{provider} refused the content while {action} {said}"
        return TaskFailure(ErrorKind.CONTENT_REFUSED, message)
    return TaskFailure(ErrorKind.INVALID_INPUT, f"{provider} rejected {action} {said}")
