"""Intents: POST appends and answers 202 at once with where the intent landed; the
generation it sets in motion runs elsewhere and streams its progress.

`submit` is shared by every route that sends an intent on the caller's behalf
(scenes, branches, merges, executions, tasks): the studio and actor always come
from the API key.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response

from api.deps import CurrentStudio, SceneId, Services, ServicesDep, studio_of
from api.errors import ERROR_RESPONSES, ApiError
from api.metrics import add_log_context
from api.schemas.common import BRANCH_PATTERN, Accepted
from api.schemas.intents import IntentCreate, intent_fields
from api.tenancy import Principal
from engine.errors import StoreError
from engine.intents import AnyIntent, BindArtifact, SpeechNote, StructuredAction, parse_intent
from engine.ports import EventStore, StreamId
from engine.service import Receipt

router = APIRouter(tags=["intents"], responses=ERROR_RESPONSES)

# Up to this many events, one read finds both ends of an append.
SMALL_APPEND = 64
# How long an answer waits for the stream hub to see its append before asking the store.
LANDED_WAIT = 1.0

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        description="A retried POST with the same key returns the first answer, appending nothing.",
    ),
]
OptionalBranch = Annotated[
    str | None, Query(pattern=BRANCH_PATTERN, description="The branch (default: main).")
]


@router.post(
    "/scenes/{scene}/intents",
    status_code=202,
    response_model=Accepted,
    summary="Send an intent (enqueue first: answers before any generation runs)",
)
async def post_intent(
    scene: SceneId,
    body: IntentCreate,
    principal: CurrentStudio,
    found: ServicesDep,
    response: Response,
    branch: OptionalBranch = None,
    idempotency_key: IdempotencyKey = None,
) -> Accepted:
    fields = intent_fields(body)
    if body.scene is not None and body.scene != scene:
        raise ApiError(
            422, f"scene: the body names {body.scene!r} but the path {scene!r}", field="scene"
        )
    fields["branch"] = _agreed("branch", fields.get("branch"), branch) or "main"
    key = _agreed("idempotency_key", fields.get("idempotency_key"), idempotency_key)
    if key is not None:
        fields["idempotency_key"] = key
    return await submit(found, principal, scene, fields, response)


def _agreed(name: str, in_body: str | None, outside: str | None) -> str | None:
    if in_body is not None and outside is not None and in_body != outside:
        raise ApiError(
            422, f"{name}: the body says {in_body!r} but the request {outside!r}", field=name
        )
    return in_body if in_body is not None else outside


async def submit(
    found: Services,
    principal: Principal,
    scene: str,
    fields: dict[str, Any],
    response: Response | None = None,
    *,
    claim: bool = True,
) -> Accepted:
    """Check, append and describe one intent of the caller's studio."""
    studio = studio_of(principal)
    scenes = found.engine.scenes
    intent = parse_intent(
        {**fields, "scene": scene},
        now=scenes.clock.now,
        new_id=scenes.ids.new_id,
        defaults={"studio": studio, "actor": principal.actor},
    )
    if claim:
        await found.tenancy.claim_scene(studio, scene)
    else:
        await found.tenancy.require_scene(studio, scene)
    await _check_artifacts(found, studio, intent)
    started = time.perf_counter()
    receipt = await scenes.submit(intent)
    found.metrics.append_seconds.observe(time.perf_counter() - started)
    add_log_context(execution_id=receipt.execution_id)
    first, last = await landed(found, receipt)
    state = await scenes.load(receipt.scene, receipt.branch, receipt.last_version)
    if response is not None and receipt.duplicate:
        response.headers["Idempotent-Replayed"] = "true"
    return Accepted.of(receipt, first, last, receipt.execution_id in state.executions)


async def _check_artifacts(found: Services, studio: str, intent: AnyIntent) -> None:
    """An intent may only name artifacts its studio can read."""
    if isinstance(intent, SpeechNote) and intent.audio is not None:
        await found.tenancy.require_artifact(studio, intent.audio, field="audio")
    if isinstance(intent, StructuredAction) and isinstance(intent.action, BindArtifact):
        await found.tenancy.require_artifact(studio, intent.action.artifact, "action.artifact")


async def landed(found: Services, receipt: Receipt) -> tuple[int, int]:
    """The global positions of the first and last event an intent appended.

    The stream hub reads every new event anyway, so a fresh append's positions are
    learnt from it (on PostgreSQL, events are numbered just after commit); a repeat
    of an old append, or a hub slower than `LANDED_WAIT`, asks the store.
    """
    if not receipt.duplicate:
        hub = found.hub
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(LANDED_WAIT):
                first = await hub.position_of(receipt.scene, receipt.branch, receipt.first_version)
                last = await hub.position_of(receipt.scene, receipt.branch, receipt.last_version)
                return first, last
    return await landed_in_store(found.engine.store, receipt)


async def landed_in_store(store: EventStore, receipt: Receipt) -> tuple[int, int]:
    """The same, from the store: asking for the head position runs PostgreSQL's
    numbering now, so this never waits for the background pass."""
    stream = StreamId(receipt.scene, receipt.branch)
    first_version, last_version = receipt.first_version, receipt.last_version
    for _ in range(3):
        if receipt.position is None:
            await store.head_position()
        if last_version - first_version <= SMALL_APPEND:
            found = await store.read_stream(stream, first_version - 1, last_version)
            first, last = found[:1], found[-1:]
        else:
            first = await store.read_stream(stream, first_version - 1, first_version)
            last = await store.read_stream(stream, last_version - 1, last_version)
        if first and last and first[0].position is not None and last[0].position is not None:
            return first[0].position, last[0].position
        await store.head_position()
    raise StoreError(f"the events of intent {receipt.intent_id} have no global position yet")
