"""Idempotency keys with the semantics payment APIs use, for every way an intent
arrives (HTTP's Idempotency-Key, an intent's `idempotency_key`, the CLI):

- a key is scoped to the studio, and its first request's fingerprint is stored with
  the intent id that request was given and, once accepted, its answer;
- the same key with the same request gets exactly the stored answer, however many
  retries arrive at once; one still in flight is waited for a while, then answered
  409 with Retry-After;
- the same key with a different request is refused (422 `idempotency_key_reused`),
  naming what differs, and writes nothing;
- a refused request leaves no record (nothing was written, so a retry is decided
  anew); a holder that dies mid-request lets its lease lapse, and a retry takes over
  with the same intent id, so the log still gets the intent once;
- keys expire (SCENESTATE_IDEMPOTENCY_TTL, 24 h by default); an expired key may be
  used again.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import msgspec

from api.services import Caller, Services
from api.services.tenancy import now_micros
from engine.errors import InvalidIntent, ScenestateError
from engine.tenancy import IdempotencyRecord

T = TypeVar("T")


class Retry(msgspec.Struct, frozen=True):
    """What a request carries for its retries: its idempotency key (None when it has
    none) and what it was (`POST /scenes/promo/merges`), for the message that refuses
    a key first used for something else."""

    key: str | None
    request: str


LEASE = 30.0  # seconds a request holds its key before a retry may take it over
WAIT = 10.0  # seconds a retry waits for the request in flight under its key
POLL = 0.05  # seconds between looks at a key in flight
# Fields that say who asked and when, not what: they do not make a request differ.
_NOT_WHAT = frozenset({"received_at", "studio", "actor", "idempotency_key"})


class IdempotencyKeyReused(InvalidIntent):
    """The key was first used for another request."""

    def __init__(self, key: str, what: str) -> None:
        super().__init__("idempotency_key", f"the key {key!r} was first used {what}")
        self.key = key


class KeyInFlight(ScenestateError):
    """The first request under this key is still being answered."""

    def __init__(self, key: str, retry_after: float) -> None:
        super().__init__(
            f"a request with the idempotency key {key!r} is still in flight; retry shortly"
        )
        self.retry_after = retry_after


def fingerprint(fields: Mapping[str, Any]) -> str:
    """A digest of what an intent asks for (not who asked or when, nor the key)."""
    what = {name: value for name, value in fields.items() if name not in _NOT_WHAT}
    canonical = msgspec.json.encode(what, order="sorted")
    return "sha256:" + hashlib.sha256(canonical).hexdigest()


async def once(
    services: Services,
    caller: Caller,
    fields: dict[str, Any],
    request: str,
    submit: Callable[[dict[str, Any]], Awaitable[bytes]],
    decode: Callable[[bytes], T],
) -> tuple[T, bool]:
    """Run `submit(fields)` once per (studio, key), keeping its answer (`submit`
    returns it encoded); returns the answer and whether it was replayed."""
    key = str(fields["idempotency_key"])
    for _ in range(3):
        held = await _hold(services, caller, fields, request, key)
        if held is None:
            continue  # the request it waited for was refused: decide this one anew
        if held.answer is not None:
            return decode(held.answer.encode()), True
        store = services.tenancy_store
        try:
            answer = await submit({**fields, "id": held.intent_id})
        except Exception:
            await store.release_key(caller.studio, key, held.intent_id)
            raise
        await store.answer_key(caller.studio, key, held.intent_id, answer.decode())
        return decode(answer), False
    raise KeyInFlight(key, POLL)


async def _hold(
    services: Services, caller: Caller, fields: dict[str, Any], request: str, key: str
) -> IdempotencyRecord | None:
    """The key's record once it is ours to answer or answered; None when the request
    that held it was refused meanwhile."""
    store = services.tenancy_store
    now = now_micros()
    ttl = int(services.settings.idempotency_ttl * 1e6)
    mine = IdempotencyRecord(
        studio=caller.studio,
        key=key,
        request=request,
        fingerprint=fingerprint(fields),
        intent_id=str(fields.get("id") or services.scenes.ids.new_id()),
        created_at=now,
        expires_at=now + ttl,
        lease_until=now + int(LEASE * 1e6),
    )
    held = await store.hold_key(mine, now)
    _check_same(key, held, mine)
    if held.answer is None and held.intent_id != mine.intent_id:
        return await _wait_for(services, held)
    return held


def _check_same(key: str, held: IdempotencyRecord, mine: IdempotencyRecord) -> None:
    if held.request != mine.request:
        raise IdempotencyKeyReused(key, f"for {held.request}, not {mine.request}")
    if held.fingerprint != mine.fingerprint:
        raise IdempotencyKeyReused(key, f"for {held.request} with a different body")


async def _wait_for(services: Services, held: IdempotencyRecord) -> IdempotencyRecord | None:
    """The record once its first request is answered, or taken over here when its
    holder's lease lapsed (it died); None when that request was refused (its record
    is gone); KeyInFlight when none of it happens in time."""
    store = services.tenancy_store
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        await asyncio.sleep(POLL)
        found = await store.find_key(held.studio, held.key)
        if found is None or found.intent_id != held.intent_id:
            return None
        if found.answer is not None:
            return found
        now = now_micros()
        if found.lease_until < now:
            lease = now + int(LEASE * 1e6)
            if await store.take_over_key(held.studio, held.key, held.intent_id, now, lease):
                return msgspec.structs.replace(found, lease_until=lease)
    raise KeyInFlight(held.key, max(held.lease_until - now_micros(), 1e6) / 1e6)


async def forget_expired(services: Services, every: float = 60.0) -> None:
    """Drop expired keys now and then, until cancelled (a key in use replaces its own
    expired record anyway; this keeps the table from growing)."""
    while True:
        await services.tenancy_store.forget_expired_keys(now_micros())
        await asyncio.sleep(every)
