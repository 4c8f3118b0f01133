"""What happens when an intent arrives, from any way in (HTTP or the CLI):

1. parse and normalise it (`engine.intents.parse_intent`), the studio and actor
   taken from the caller, never from the body;
2. check tenancy: the scene is the caller's studio's (or an unclaimed id it may
   claim), and every artifact it names is one the studio may read;
3. decide and append it (`engine.service.SceneService.submit`: load, decide, plan,
   append with the expected version, retried on a race), together with the intents
   of this process for the same scene branch (`api.services.editors`);
4. say where it landed: its versions and global positions, and whether it set
   generation in motion. The generation itself runs elsewhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Mapping
from typing import Any

import msgspec

from api.services import Caller, Services, idempotency
from engine.errors import ConcurrencyConflict
from engine.intents import AnyIntent, BindArtifact, SpeechNote, StructuredAction, parse_intent
from engine.ports import StreamId
from engine.service import Receipt, reviewed_against_one_state

# How long an answer waits for the process's position watch before asking the store.
LANDED_WAIT = 1.0
# Seconds an intent that still applies goes on being decided again after races with
# other processes, and the jittered pauses between (doubling from the first).
PATIENCE, FIRST_PAUSE, LAST_PAUSE = 10.0, 0.002, 0.2


class Submission(msgspec.Struct, frozen=True):
    """An accepted intent: its receipt, the global positions of the first and last
    event it appended, and whether it started an execution."""

    receipt: Receipt
    first_position: int
    last_position: int
    execution_started: bool
    append_seconds: float


def make_intent(services: Services, caller: Caller, raw: bytes | Mapping[str, Any]) -> AnyIntent:
    """An intent of `caller` from JSON bytes or fields."""
    scenes = services.scenes
    defaults = {"studio": caller.studio, "actor": caller.actor}
    return parse_intent(raw, now=scenes.clock.now, new_id=scenes.ids.new_id, defaults=defaults)


async def submit(
    services: Services,
    caller: Caller,
    raw: bytes | Mapping[str, Any],
    *,
    claim: bool = True,
    retry: idempotency.Retry | None = None,
) -> Submission:
    """Check, append and describe one intent of the caller's studio. `claim`: the
    intent may claim an unused scene id (creating a scene); otherwise the scene must
    be the studio's already. An intent with an idempotency key (its own, or the
    `retry`'s of the request that carries it) is answered once per key
    (`api.services.idempotency`); the request is named in the message that refuses
    a key used for something else."""
    if retry is not None and retry.key is not None:
        fields = dict(raw) if isinstance(raw, Mapping) else msgspec.json.decode(raw)
        raw = {**fields, "idempotency_key": retry.key}
    intent = make_intent(services, caller, raw)  # refuses bad input before anything
    if intent.idempotency_key is None:
        return await _submit(services, caller, raw, claim)
    fields = dict(raw) if isinstance(raw, Mapping) else msgspec.json.decode(raw)
    fields.setdefault("branch", intent.branch)
    described = retry.request if retry is not None else None
    described = described or f"an intent for {intent.scene}@{intent.branch}"

    async def first(chosen: dict[str, Any]) -> bytes:
        return msgspec.json.encode(await _submit(services, caller, chosen, claim))

    answered, replayed = await idempotency.once(
        services, caller, fields, described, first, _decode_submission
    )
    if replayed:
        receipt = msgspec.structs.replace(answered.receipt, duplicate=True)
        return msgspec.structs.replace(answered, receipt=receipt)
    return answered


async def submit_action(
    services: Services,
    caller: Caller,
    scene: str,
    branch: str,
    action: dict[str, Any],
    retry: idempotency.Retry | None = None,
) -> Submission:
    """`submit` a structured action on a scene the caller's studio holds already."""
    fields = {"kind": "structured_action", "scene": scene, "branch": branch, "action": action}
    return await submit(services, caller, fields, claim=False, retry=retry)


def _decode_submission(data: bytes) -> Submission:
    return msgspec.json.decode(data, type=Submission)


async def _submit(
    services: Services, caller: Caller, raw: bytes | Mapping[str, Any], claim: bool
) -> Submission:
    intent = make_intent(services, caller, raw)
    tenancy = services.tenancy
    claimed = None
    if claim:
        claimed = await tenancy.claim_scene(caller.studio, intent.scene)
    else:
        await tenancy.require_scene(caller.studio, intent.scene)
    try:
        await _check_artifacts(services, caller.studio, intent)
        started = time.perf_counter()
        if reviewed_against_one_state(intent):
            # a merge or resolution races: the loser must be looked at again
            receipt = await services.scenes.submit(intent)
        else:
            receipt = await _appended(services, intent)
        took = time.perf_counter() - started
    except Exception:
        if claimed is not None:  # a refused intent claims nothing
            await tenancy.release_scene(caller.studio, intent.scene, claimed)
        raise
    first, last = await landed(services, receipt)
    started = receipt.execution_started
    if receipt.duplicate:  # a repeat's receipt does not say: its state at the time does
        state = await services.scenes.load(receipt.scene, receipt.branch, receipt.last_version)
        started = receipt.execution_id in state.executions
    return Submission(receipt, first, last, started, took)


async def _appended(services: Services, intent: AnyIntent) -> Receipt:
    """Decide and append, again after a race for as long as the intent still applies:
    a 409 reaches the caller only when it no longer does (the engine refuses it then)."""
    deadline = time.monotonic() + PATIENCE
    pause = FIRST_PAUSE
    while True:
        try:
            return await services.editors.submit(services.scenes, intent)
        except ConcurrencyConflict:
            if time.monotonic() > deadline:
                raise
        await asyncio.sleep(random.uniform(0.0, pause))  # jittered: racers spread out
        pause = min(pause * 2, LAST_PAUSE)


async def _check_artifacts(services: Services, studio: str, intent: AnyIntent) -> None:
    """An intent may only name artifacts its studio can read."""
    tenancy = services.tenancy
    if isinstance(intent, SpeechNote) and intent.audio is not None:
        await tenancy.require_artifact(studio, intent.audio, field="audio")
    if isinstance(intent, StructuredAction) and isinstance(intent.action, BindArtifact):
        await tenancy.require_artifact(studio, intent.action.artifact, "action.artifact")


async def landed(services: Services, receipt: Receipt) -> tuple[int, int]:
    """The global positions of the first and last event an intent appended: from the
    process's position watch when it has one (it sees every event anyway), else, or
    for a repeat of an old append, from the store."""
    watch = services.positions
    if watch is not None and not receipt.duplicate:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(LANDED_WAIT):
                first = await watch.position_of(
                    receipt.scene, receipt.branch, receipt.first_version
                )
                last = await watch.position_of(receipt.scene, receipt.branch, receipt.last_version)
                return first, last
    stream = StreamId(receipt.scene, receipt.branch)
    return await services.store.positions_of(stream, receipt.first_version, receipt.last_version)
