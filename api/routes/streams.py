"""Live streams over Server-Sent Events and WebSocket: a scene (every branch, or one)
and one execution. Every message's id is its event's global position; reconnect
with `Last-Event-ID` (or `?after=`) to get exactly what was missed.

SSE frames: `id: <position>`, `event: scene|task|execution|result`, `data: <JSON>`;
a comment line every `heartbeat` seconds keeps proxies from closing a quiet stream.
WebSocket messages are the same JSON as `{"id", "event", "data"}`. Browsers, which
cannot set headers on an EventSource or a WebSocket, pass a stream token as
`?token=` (POST /streams/tokens makes one; an API key never goes in a URL). A refused
handshake gets the HTTP status and error body a GET of the same stream would get.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Header, Query, WebSocket, WebSocketDisconnect
from fastapi.responses import StreamingResponse

from api import stream_tokens
from api.auth import Principal
from api.bootstrap import Api
from api.deps import (
    ApiDep,
    BranchQuery,
    CurrentStudio,
    ItemId,
    SceneId,
    StreamedScene,
    StreamReader,
    StreamToken,
)
from api.errors import ERROR_RESPONSES, ApiError, as_api_error, error_response
from api.schemas.common import BRANCH_PATTERN
from api.schemas.stream_tokens import StreamTokenCreate, StreamTokenPublic
from api.schemas.streams import EXECUTION
from api.services import executions
from api.stream_tokens import StreamScope
from api.streaming import StreamFilter
from engine.errors import ScenestateError
from engine.events import ExecutionFinished
from engine.ports import StreamId
from projections.as_of import LARGEST_VERSION

router = APIRouter(tags=["streams"], responses=ERROR_RESPONSES)
T = TypeVar("T")

SSE_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/event-stream": {}}, "description": "An event stream."}
}
LastEventId = Annotated[
    str | None, Header(alias="Last-Event-ID", max_length=32, description="Resume after this id.")
]
After = Annotated[
    int | None,
    Query(ge=0, le=LARGEST_VERSION, description="Start after this global position."),
]
View = Annotated[
    Literal["draft"] | None, Query(description="Add the branch's draft timeline to messages.")
]
Until = Annotated[
    Literal["finished"] | None,
    Query(description="`finished`: end the stream after the execution finishes."),
]
OptionalBranch = Annotated[
    str | None, Query(pattern=BRANCH_PATTERN, description="Only this branch (default: all).")
]


@router.post(
    "/streams/tokens",
    status_code=201,
    response_model=StreamTokenPublic,
    summary="Mint a short-lived token that opens one stream (for EventSource and WebSocket)",
)
async def mint_stream_token(
    body: StreamTokenCreate, principal: CurrentStudio, api: ApiDep
) -> StreamTokenPublic:
    services = api.services
    await services.tenancy.require_scene(principal.caller.studio, body.scene)
    events, query = f"/scenes/{body.scene}/events", ""
    execution = None
    if body.execution is not None:
        run, _ = await executions.execution(services, body.scene, body.execution, body.branch)
        execution = run.id
        events = f"/scenes/{body.scene}/executions/{execution}/events"
        query = f"branch={body.branch}&"
    key = await api.keys.key(principal.key_id)
    assert key is not None  # it authenticated this very request
    token, expires = stream_tokens.mint(key.id, key.secret_hash, body.scene, execution)
    return StreamTokenPublic(
        token=token,
        expires_at=datetime.fromtimestamp(expires, UTC),
        events=f"{events}?{query}token={token}",
    )


@router.get(
    "/scenes/{scene}/events",
    responses=SSE_RESPONSE,
    summary="A scene's live events (SSE)",
)
async def scene_events(
    scene: StreamedScene,
    principal: StreamReader,
    api: ApiDep,
    branch: OptionalBranch = None,
    after: After = None,
    view: View = None,
    last_event_id: LastEventId = None,
    token: StreamToken = None,
) -> StreamingResponse:
    if principal.stream is not None and principal.stream.execution is not None:
        raise ApiError(403, "this stream token opens one execution's stream only")
    wanted = StreamFilter(scene, branch, None, view == "draft")
    return _sse(api, principal, wanted, resume_point(last_event_id, after), None)


@router.get(
    "/scenes/{scene}/executions/{execution}/events",
    responses=SSE_RESPONSE,
    summary="An execution's live progress, task events and results (SSE)",
)
async def execution_events(
    scene: StreamedScene,
    execution: ItemId,
    principal: StreamReader,
    api: ApiDep,
    branch: BranchQuery = "main",
    after: After = None,
    until: Until = None,
    last_event_id: LastEventId = None,
    token: StreamToken = None,
) -> StreamingResponse:
    resumed = resume_point(last_event_id, after)
    first, execution = await execution_start(api, scene, branch, execution)
    if principal.stream is not None and principal.stream.execution not in (None, execution):
        raise ApiError(403, "this stream token opens another execution's stream")
    start = first if resumed is None else resumed
    wanted = StreamFilter(scene, branch, execution)
    return _sse(api, principal, wanted, start, execution if until == "finished" else None)


def resume_point(last_event_id: str | None, after: int | None) -> int | None:
    """Where a stream starts: after `Last-Event-ID` (a reconnect), else after `after`."""
    if last_event_id is None or not last_event_id.strip():
        return after
    try:
        position = int(last_event_id)
    except ValueError:
        position = -1
    if not 0 <= position <= LARGEST_VERSION:
        raise ApiError(
            422,
            f"Last-Event-ID {last_event_id!r} is not an event id (0 to {LARGEST_VERSION})",
            field="Last-Event-ID",
        )
    return position


async def execution_start(api: Api, scene: str, branch: str, execution: str) -> tuple[int, str]:
    """The position just before the execution's first event, and its whole id (it may
    be given by a unique start); 404 if there is no such execution on the branch."""
    services = api.services
    run = (await executions.record(services, scene, execution, branch)).execution
    stream = StreamId(scene, run.started.branch)
    version = run.started.version
    first, _ = await services.store.positions_of(stream, version, version)
    return first - 1, run.id


def _sse(
    api: Api, principal: Principal, wanted: StreamFilter, after: int | None, until: str | None
) -> StreamingResponse:
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    body = _frames(api, principal, wanted, after, until)
    return StreamingResponse(body, media_type="text/event-stream", headers=headers)


async def _frames(
    api: Api, principal: Principal, wanted: StreamFilter, after: int | None, until: str | None
) -> AsyncIterator[bytes]:
    yield b"retry: 2000\n\n"
    heartbeat = api.services.settings.http.heartbeat
    with api.keys.revocation(principal.key_id) as revoked:
        batches = until_set(api.hub.stream_batches(wanted, after, heartbeat), revoked)
        async for batch in batches:
            if batch is None:
                yield b": keep-alive\n\n"
                continue
            frames: list[bytes] = []
            for message in batch:
                frames.append(message.sse(wanted.view))
                if until is not None and _finishes(message.kind, message.data, until):
                    yield b"".join(frames)
                    return
            yield b"".join(frames)
        if revoked.is_set():
            yield b'event: revoked\ndata: {"reason":"the API key was revoked"}\n\n'


async def until_set(source: AsyncIterator[T], stop: asyncio.Event) -> AsyncIterator[T]:
    """The items of `source` until it ends or `stop` is set, whichever comes first."""
    stopping = asyncio.create_task(stop.wait())
    try:
        while True:
            taking = asyncio.ensure_future(anext(source))
            done, _ = await asyncio.wait({taking, stopping}, return_when="FIRST_COMPLETED")
            if taking not in done:
                taking.cancel()
                with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                    await taking
                return
            try:
                item = taking.result()
            except StopAsyncIteration:
                return
            yield item
    finally:
        stopping.cancel()


def _finishes(kind: str, data: dict[str, object], execution: str) -> bool:
    return (
        kind == EXECUTION
        and data.get("type") == ExecutionFinished.__name__
        and (data.get("execution_id") == execution)
    )


@router.websocket("/scenes/{scene}/ws")
async def scene_socket(
    websocket: WebSocket,
    scene: SceneId,
    branch: OptionalBranch = None,
    after: After = None,
    view: View = None,
    token: StreamToken = None,
) -> None:
    api: Api = websocket.app.state.api
    try:
        key_id, opened = await _authorize(websocket, api, scene, token)
        if opened is not None and opened.execution is not None:
            raise ApiError(403, "this stream token opens one execution's stream only")
    except ApiError as exc:
        await refuse_socket(websocket, exc)
        return
    except ScenestateError as exc:
        await refuse_socket(websocket, as_api_error(exc))
        return
    await websocket.accept()
    wanted = StreamFilter(scene, branch, None, view == "draft")
    await _pump(websocket, api, key_id, wanted, after)


@router.websocket("/scenes/{scene}/executions/{execution}/ws")
async def execution_socket(
    websocket: WebSocket,
    scene: SceneId,
    execution: ItemId,
    branch: BranchQuery = "main",
    after: After = None,
    token: StreamToken = None,
) -> None:
    api: Api = websocket.app.state.api
    try:
        key_id, opened = await _authorize(websocket, api, scene, token)
        start, execution = await execution_start(api, scene, branch, execution)
        if opened is not None and opened.execution not in (None, execution):
            raise ApiError(403, "this stream token opens another stream")
    except ApiError as exc:
        await refuse_socket(websocket, exc)
        return
    except ScenestateError as exc:
        await refuse_socket(websocket, as_api_error(exc))
        return
    await websocket.accept()
    wanted = StreamFilter(scene, branch, execution)
    await _pump(websocket, api, key_id, wanted, start if after is None else after)


async def refuse_socket(websocket: WebSocket, error: ApiError) -> None:
    """Refuse the handshake with the HTTP status and error body a GET would get, where
    the server can send one; otherwise close with 4000 + the status."""
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        await websocket.send_denial_response(error_response(error))
    else:
        await websocket.close(code=4000 + error.detail.status, reason=error.detail.message[:120])


async def _authorize(
    websocket: WebSocket, api: Api, scene: str, token: str | None
) -> tuple[str, StreamScope | None]:
    """What the HTTP routes' dependencies check: the key (a header, or a stream token
    in the URL; never an API key there), its rate, the scene's studio, and a token's
    scene; the key's id, and what a token opens (its execution is the caller's to
    check, once the id given is whole)."""
    header = websocket.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        token = header[7:].strip()
    elif token is not None and not token.startswith("sst_"):
        raise ApiError(401, "only a stream token goes in the URL; POST /streams/tokens makes one")
    client = websocket.client.host if websocket.client else "unknown"
    api.failures.check(client)
    try:
        principal = await api.keys.principal(token)
    except ApiError as refusal:
        if refusal.detail.status == 401:
            api.failures.failed(client)
        raise
    api.limiter.take(principal)
    if principal.admin:
        raise ApiError(403, "use a studio's key for streams")
    opened = principal.stream
    if opened is not None and opened.scene != scene:
        raise ApiError(403, "this stream token opens another stream")
    await api.services.tenancy.require_scene(principal.caller.studio, scene)
    return principal.key_id, opened


async def _pump(
    websocket: WebSocket, api: Api, key_id: str, wanted: StreamFilter, after: int | None
) -> None:
    async def send() -> None:
        async for message in api.hub.stream(wanted, after, api.services.settings.http.heartbeat):
            if message is None:
                await websocket.send_text('{"event":"heartbeat"}')
            else:
                await websocket.send_text(message.json(wanted.view).decode())

    async def receive() -> None:
        with contextlib.suppress(WebSocketDisconnect):
            while True:
                await websocket.receive_text()

    with api.keys.revocation(key_id) as revoked:
        tasks = [
            asyncio.create_task(send()),
            asyncio.create_task(receive()),
            asyncio.create_task(revoked.wait()),
        ]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            if revoked.is_set():
                await websocket.close(code=4401, reason="the API key was revoked")
        finally:
            for task in tasks:
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
                await asyncio.gather(*tasks)
