"""The gate every HTTP request passes before any route sees it (pure ASGI, so streaming
responses pass straight through).

In this order, each refusal in the one error body and nothing read or written past it:

1. the query string: a parameter holding NUL or a lone surrogate is 422, naming it;
2. the caller: a key is authenticated (401) and held to its rate limit (429) before
   a byte of the body is read; an address that keeps failing to authenticate is
   throttled (429); `/healthz`, `/readyz`, the API's documentation and the inspector's
   page (`/studio`) are public;
3. the body: over the limit is 413 however it is sent (with Content-Length or
   chunked); a body that takes longer than the body timeout to arrive is 408; a
   client that goes away mid-body is logged at info, not as an error.

It also gives each request its log context, logs it as one JSON line and counts it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.auth import Principal
from api.config import HttpSettings
from api.errors import ApiError, error_response
from api.metrics import add_log_context, log_context

log = logging.getLogger("scenestate.api")

PUBLIC_PATHS = frozenset(
    {"/healthz", "/readyz", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc", "/studio"}
)
# the documentation pages' own assets, and the inspector's page and assets (the page
# signs in with a key and reads the API like any client)
PUBLIC_PREFIXES = ("/static-offline-docs/", "/studio/assets/")
UPLOAD = ("POST", "/artifacts")
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


class ClientGone(Exception):
    """The client disconnected before its request was read."""


class RequestGuard:
    def __init__(self, app: ASGIApp, limits: HttpSettings) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await self.app(scope, receive, _denied_with_a_body(scope, send))
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        token = log_context.set({"request_id": uuid.uuid4().hex[:16]})
        started = time.perf_counter()
        status = {"code": 500, "sent": False}

        async def watched(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"], status["sent"] = message["status"], True
                self._count(scope, message["status"], time.perf_counter() - started)
            await send(message)

        try:
            check_query(scope)
            scope.setdefault("state", {})["principal"] = await self._authenticate(scope)
            body = await self._body(scope, receive)
            await self.app(scope, body, watched)
        except ApiError as refusal:
            if not status["sent"]:
                await _refuse(watched, refusal)
        except ClientGone:
            status["code"] = 499
            log.info("the client went away before its request was read")
        finally:
            log.info(
                "%s %s %s",
                scope["method"],
                scope["path"],
                status["code"],
                extra={"duration_ms": round((time.perf_counter() - started) * 1000, 3)},
            )
            log_context.reset(token)

    async def _authenticate(self, scope: Scope) -> Principal | None:
        """The caller of a route that needs one (None for the public ones)."""
        if scope["path"] in PUBLIC_PATHS or scope["path"].startswith(PUBLIC_PREFIXES):
            return None
        api = getattr(scope["app"].state, "api", None)
        if api is None:
            return None  # not started: the routes' own dependencies refuse
        client = (scope.get("client") or ("unknown", 0))[0]
        api.failures.check(client)
        try:
            principal: Principal = await api.keys.principal(_bearer(scope) or _token(scope))
        except ApiError as refusal:
            if refusal.detail.status == 401:
                api.failures.failed(client)
            raise
        api.limiter.take(principal)
        add_log_context(studio=principal.studio or "(admin)", key=principal.key_id)
        return principal

    async def _body(self, scope: Scope, receive: Receive) -> Receive:
        """What the app reads the body from: the whole body, read here and checked, or
        (uploads, which the route reads itself) the client's, counted as it comes."""
        limit = self._limit(scope)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            raise ApiError(
                413, f"the request body of {declared} bytes is over the {limit}-byte limit"
            )
        deadline = time.monotonic() + self.limits.body_timeout
        reader = _BodyReader(receive, limit, deadline, self.limits.body_timeout)
        if (scope["method"], scope["path"]) == UPLOAD:
            return reader.counted
        whole = await reader.whole()
        return _replay(whole, receive)

    def _limit(self, scope: Scope) -> int:
        if (scope["method"], scope["path"]) == UPLOAD:
            return self.limits.max_upload_bytes
        return self.limits.max_body_bytes

    def _count(self, scope: Scope, status: int, seconds: float) -> None:
        api = getattr(scope["app"].state, "api", None)
        if api is None:
            return
        route = scope.get("route")
        template = getattr(route, "path", "(unmatched)")
        labels = {"method": scope["method"], "route": template}
        api.metrics.requests.labels(status=str(status), **labels).inc()
        api.metrics.request_seconds.labels(**labels).observe(seconds)


class _BodyReader:
    def __init__(self, receive: Receive, limit: int, deadline: float, timeout: float) -> None:
        self._receive = receive
        self._limit = limit
        self._deadline = deadline
        self._timeout = timeout
        self._seen = 0

    async def counted(self) -> Message:
        remaining = self._deadline - time.monotonic()
        try:
            async with asyncio.timeout(max(remaining, 0.0)):
                message = await self._receive()
        except TimeoutError:
            raise _too_slow(self._timeout) from None
        if message["type"] == "http.disconnect":
            raise ClientGone()
        if message["type"] == "http.request":
            self._seen += len(message.get("body", b""))
            if self._seen > self._limit:
                raise ApiError(
                    413,
                    f"the request body of {self._seen}+ bytes is over the {self._limit}-byte limit",
                )
        return message

    async def whole(self) -> bytes:
        parts: list[bytes] = []
        while True:
            message = await self.counted()
            parts.append(message.get("body", b""))
            if not message.get("more_body", False):
                return b"".join(parts)


def _denied_with_a_body(scope: Scope, send: Send) -> Send:
    """A WebSocket handshake refused before any route answered it (no such stream) gets
    the 404 and error body a GET would, not an empty 403."""
    answered = False

    async def sending(message: Message) -> None:
        nonlocal answered
        kind = message["type"]
        if kind == "websocket.close" and not answered and _can_deny(scope):
            answered = True
            refusal = ApiError(404, f"no stream at {scope['path']}")
            await _deny(send, refusal)
            return
        if kind in ("websocket.accept", "websocket.http.response.start", "websocket.close"):
            answered = True
        await send(message)

    return sending


def _can_deny(scope: Scope) -> bool:
    return "websocket.http.response" in scope.get("extensions", {})


async def _deny(send: Send, error: ApiError) -> None:
    response = error_response(error)
    await send(
        {
            "type": "websocket.http.response.start",
            "status": response.status_code,
            "headers": response.raw_headers,
        }
    )
    await send({"type": "websocket.http.response.body", "body": response.body})


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # what follows the body: a disconnect, in time

    return replayed


def check_query(scope: Scope) -> None:
    """422 for a query parameter no store could hold (NUL, lone surrogates)."""
    raw = scope.get("query_string", b"").decode("latin-1")
    if "%" not in raw and "\x00" not in raw:
        return
    for name, value in parse_qsl(raw, keep_blank_values=True, errors="surrogateescape"):
        for text in (name, value):
            if _UNSTORABLE.search(text):
                shown = name.encode("unicode_escape", "backslashreplace").decode("ascii")
                raise ApiError(
                    422,
                    f"{shown}: holds a NUL character or bytes that are not UTF-8 text",
                    field=shown,
                )


def _bearer(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            text = value.decode("latin-1")
            scheme, _, credentials = text.partition(" ")
            return credentials.strip() if scheme.lower() == "bearer" else None
    return None


def _token(scope: Scope) -> str | None:
    """A stream token in the query (`?token=`): what a browser's EventSource can send.
    Only stream tokens are taken there; an API key never belongs in a URL."""
    raw = scope.get("query_string", b"").decode("latin-1")
    if "token=" not in raw:
        return None
    for name, value in parse_qsl(raw):
        if name == "token":
            if not value.startswith("sst_"):
                raise ApiError(
                    401,
                    "only a stream token goes in the URL (POST /streams/tokens makes one); "
                    "send an API key as `Authorization: Bearer <key>`",
                    headers={"WWW-Authenticate": "Bearer"},
                )
            return str(value)
    return None


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            with contextlib.suppress(ValueError):
                return int(value)
    return None


def _too_slow(timeout: float) -> ApiError:
    return ApiError(408, f"the request body did not arrive within {timeout:g} s")


async def _refuse(send: Callable[[Message], Any], error: ApiError) -> None:
    response = error_response(error)
    await send(
        {
            "type": "http.response.start",
            "status": response.status_code,
            "headers": response.raw_headers,
        }
    )
    await send({"type": "http.response.body", "body": response.body})
