"""One error body for every refusal of the HTTP API, and which status each error gets.

    {"error": {"status": 409, "code": "conflict", "message": "...", "field": null,
               "problems": [], "current_version": 7, "retry_after": null}}

engine.errors map as: InvalidIntent -> 422 (naming the field), NotFound -> 404,
AlreadyExists -> 409 (naming the field), ConcurrencyConflict -> 409 (with the stream's
current version), PayloadTooLarge -> 413, a byte range outside an artifact -> 416,
Unavailable (a database, task bus or artifact store that failed; the adapters
translate their drivers' errors into it) -> 503 with Retry-After; a request the
framework cannot read is 400 (bad JSON, with where it broke), 415 (a body sent without
a JSON Content-Type) or 422 (which field and why); routes raise
`ApiError` for the rest (401, 403, 429, ...).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request, WebSocket
from fastapi.exceptions import RequestValidationError, WebSocketRequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException

from api.services.artifacts import RangeNotSatisfiable
from api.services.idempotency import IdempotencyKeyReused, KeyInFlight
from engine.errors import (
    AlreadyExists,
    ConcurrencyConflict,
    IntentIdTaken,
    InvalidIntent,
    NotFound,
    PayloadTooLarge,
    ScenestateError,
    StoreError,
    Unavailable,
)
from engine.intents import INTENT_KINDS

log = logging.getLogger("scenestate.api")

UNAVAILABLE_RETRY = 1  # seconds


class FieldProblem(BaseModel):
    field: str = Field(description="Dotted path of the input that was wrong.")
    reason: str


class ErrorDetail(BaseModel):
    status: int
    code: str = Field(description="A stable word for the kind of error: not_found, conflict...")
    message: str = Field(description="What was wrong, for a person.")
    field: str | None = Field(None, description="The input at fault, when there is one.")
    problems: list[FieldProblem] = Field(default_factory=list)
    current_version: int | None = Field(
        None, description="On a concurrency conflict: the stream's version now."
    )
    retry_after: float | None = Field(
        None, description="On 429 and 503: seconds until a retry may pass."
    )


class ErrorBody(BaseModel):
    error: ErrorDetail


_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    416: "range_not_satisfiable",
    422: "invalid",
    429: "rate_limited",
    503: "unavailable",
}

# Declared on every router, so the OpenAPI schema says what each refusal looks like.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": HTTPStatus(status).phrase}
    for status in (400, 401, 403, 404, 409, 413, 415, 422, 429, 503)
}


class ApiError(Exception):
    """A refusal with its status; the handler turns it into the one error body."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        field: str | None = None,
        problems: Sequence[FieldProblem] = (),
        current_version: int | None = None,
        retry_after: float | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.detail = ErrorDetail(
            status=status,
            code=code or _CODES.get(status, "error"),
            message=message,
            field=field,
            problems=list(problems),
            current_version=current_version,
            retry_after=retry_after,
        )
        self.headers = dict(headers or {})


def not_found(message: str) -> ApiError:
    return ApiError(404, message)


def error_response(error: ApiError) -> JSONResponse:
    body = ErrorBody(error=error.detail).model_dump(mode="json")
    return JSONResponse(body, status_code=error.detail.status, headers=error.headers)


def as_api_error(exc: ScenestateError) -> ApiError:
    """The HTTP form of an engine error."""
    if isinstance(exc, InvalidIntent):
        problem = FieldProblem(field=exc.field, reason=exc.reason)
        code = "idempotency_key_reused" if isinstance(exc, IdempotencyKeyReused) else None
        return ApiError(422, str(exc), code=code, field=exc.field, problems=[problem])
    if isinstance(exc, KeyInFlight):
        wait = max(1, round(exc.retry_after + 0.499))
        return ApiError(
            409,
            str(exc),
            code="idempotency_key_in_flight",
            retry_after=exc.retry_after,
            headers={"Retry-After": str(wait)},
        )
    if isinstance(exc, NotFound):
        return ApiError(404, str(exc))
    if isinstance(exc, AlreadyExists):
        code = "intent_id_taken" if isinstance(exc, IntentIdTaken) else None
        return ApiError(409, str(exc), code=code, field=exc.field)
    if isinstance(exc, RangeNotSatisfiable):
        return ApiError(416, str(exc), headers={"Content-Range": f"bytes */{exc.size}"})
    if isinstance(exc, Unavailable):
        return unavailable(exc)
    if isinstance(exc, ConcurrencyConflict):
        current = exc.actual if exc.actual >= 0 else None
        return ApiError(409, str(exc), current_version=current)
    if isinstance(exc, PayloadTooLarge):
        return ApiError(413, str(exc))
    if isinstance(exc, StoreError):
        log.error("store error: %s", exc)
        return ApiError(  # with Retry-After, as every 503
            503,
            f"the store could not answer: {exc}; retry shortly",
            retry_after=UNAVAILABLE_RETRY,
            headers={"Retry-After": str(UNAVAILABLE_RETRY)},
        )
    return ApiError(400, str(exc))


def unavailable(exc: Exception) -> ApiError:
    message = (
        f"{exc}; retry shortly"
        if isinstance(exc, Unavailable)
        else ("a backend (database, task bus or artifact store) could not answer; retry shortly")
    )
    return ApiError(
        503,
        message,
        retry_after=UNAVAILABLE_RETRY,
        headers={"Retry-After": str(UNAVAILABLE_RETRY)},
    )


def validation_error(exc: RequestValidationError, content_type: str | None = None) -> ApiError:
    """The one error body for a request that does not fit its schema. `content_type`
    is the request's: a body sent without JSON's is never read as JSON, which the
    caller is told instead of a puzzling 'not an object'."""
    problems: list[FieldProblem] = []
    errors = exc.errors()
    for error in errors:
        if error.get("type") == "json_invalid":
            return ApiError(400, _json_problem(error, exc.body))
    if content_type is not None and _body_unread(errors, content_type):
        sent = content_type or "none"
        return ApiError(
            415,
            f"the body must be JSON: send it with Content-Type: application/json (was: {sent})",
        )
    for error in errors:
        location = [str(part) for part in error.get("loc", ())]
        if location[:1] == ["body"]:
            # A tagged union (the intent kinds) puts its tag in the path: leave it out.
            location = (
                location[2:] if location[1:2] and location[1] in INTENT_KINDS else location[1:]
            )
        where = ".".join(location[1:] if location[:1] in (["query"], ["path"]) else location)
        problems.append(FieldProblem(field=where or "(body)", reason=str(error.get("msg", ""))))
    first = problems[0] if problems else FieldProblem(field="(body)", reason="invalid")
    summary = "; ".join(f"{p.field}: {p.reason}" for p in problems) or "invalid request"
    return ApiError(422, summary, field=first.field, problems=problems)


def _json_problem(error: Mapping[str, Any], body: object) -> str:
    """`the body is not valid JSON: Expecting value at line 1, column 23`, as the
    CLI says it (the decoder's reason and where it gave up)."""
    context = error.get("ctx") or {}
    reason = str(context.get("error") or error.get("msg") or "invalid")
    location = error.get("loc") or ()
    position = location[-1] if location and isinstance(location[-1], int) else None
    if position is None or not isinstance(body, str | bytes):
        return f"the body is not valid JSON: {reason}"
    text = body if isinstance(body, str) else body.decode("utf-8", "replace")
    line = text.count("\n", 0, position) + 1
    column = position - (text.rfind("\n", 0, position) + 1) + 1
    return f"the body is not valid JSON: {reason} at line {line}, column {column}"


def _body_unread(errors: Sequence[Mapping[str, Any]], content_type: str) -> bool:
    """True when the body's model was given no object because the request did not
    say it sent JSON (FastAPI then leaves the body unparsed)."""
    media = content_type.split(";", 1)[0].strip().lower()
    if media == "application/json" or media.endswith("+json"):
        return False
    return any(tuple(e.get("loc", ())) == ("body",) and e.get("type") != "missing" for e in errors)


def install_error_handlers(app: FastAPI) -> None:
    async def on_api_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return error_response(exc)

    async def on_engine_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ScenestateError)
        if isinstance(exc, Unavailable):
            log.warning("%s %s: %s", request.method, request.url.path, exc)
        return error_response(as_api_error(exc))

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return error_response(validation_error(exc, request.headers.get("content-type", "")))

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        message = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
        return error_response(ApiError(exc.status_code, message, headers=exc.headers))

    async def on_socket_validation(websocket: WebSocket, exc: Exception) -> None:
        assert isinstance(exc, WebSocketRequestValidationError)
        refusal = validation_error(RequestValidationError(exc.errors()))
        if "websocket.http.response" in websocket.scope.get("extensions", {}):
            await websocket.send_denial_response(error_response(refusal))
        else:
            await websocket.close(
                code=4000 + refusal.detail.status, reason=refusal.detail.message[:120]
            )

    async def on_lost_connection(request: Request, exc: Exception) -> JSONResponse:
        # A socket or disk error an adapter did not translate: still nothing wrong
        # with the request.
        log.warning("%s %s: a backend failed: %r", request.method, request.url.path, exc)
        return error_response(unavailable(exc))

    async def on_anything(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(ApiError(500, "internal error; the server logged it"))

    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(ScenestateError, on_engine_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(WebSocketRequestValidationError, on_socket_validation)
    app.add_exception_handler(HTTPException, on_http)
    app.add_exception_handler(OSError, on_lost_connection)
    app.add_exception_handler(Exception, on_anything)
