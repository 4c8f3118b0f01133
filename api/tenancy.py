"""Studios and their API keys, and what belongs to which studio.

A key reads `ssk_<id>_<secret>`: the id finds the key's row, and only the sha256 of
the secret is stored (the secrets are 256 random bits, so a slow hash would add
nothing but latency to every request). A key is shown once, when it is made.
Validated keys are kept in memory for `KEY_CACHE_SECONDS`; revoking one through
this process takes effect at once, through another within that time.

Scene ids are global: the first studio to send an intent to an unused id claims
it. Whatever belongs to another studio answers as if it did not exist (404).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import secrets
import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from adapters.store._tenancy_store import Record, TenancyStore
from api.errors import ApiError, not_found
from engine.events import ArtifactBound, RecordedEvent, TaskSucceeded
from engine.ports import EventStore

if TYPE_CHECKING:
    from api.streaming import StreamHub

TOKEN_PREFIX = "ssk"
KEY_CACHE_SECONDS = 10.0
OWNER_CACHE_SIZE = 100_000
ADMIN = "(admin)"


def now_micros() -> int:
    return time.time_ns() // 1000


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class MintedKey:
    key_id: str
    token: str
    secret_hash: str


def mint_key() -> MintedKey:
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    return MintedKey(key_id, f"{TOKEN_PREFIX}_{key_id}_{secret}", hash_secret(secret))


def split_token(token: str) -> tuple[str, str] | None:
    prefix, _, rest = token.partition("_")
    key_id, _, secret = rest.partition("_")
    if prefix != TOKEN_PREFIX or not key_id or not secret:
        return None
    return key_id, secret


@dataclass(frozen=True)
class Principal:
    """Who is asking: a studio's key, or the administrator."""

    key_id: str
    studio: str | None
    actor: str
    rate_per_second: float
    burst: int

    @property
    def admin(self) -> bool:
        return self.studio is None


class KeyRing:
    """Turns bearer tokens into principals, with a short-lived cache of valid keys."""

    def __init__(self, store: TenancyStore, admin_token: str | None, admin_rate: float) -> None:
        self.store = store
        self._admin_token = admin_token
        self._admin = Principal(ADMIN, None, "admin", admin_rate, max(int(admin_rate), 1))
        self._cache: dict[str, tuple[float, Record]] = {}

    async def principal(self, token: str | None) -> Principal:
        if not token:
            raise _unauthenticated("no API key: send `Authorization: Bearer <key>`")
        if self._admin_token is not None and hmac.compare_digest(
            token.encode(), self._admin_token.encode()
        ):
            return self._admin
        parts = split_token(token)
        if parts is None:
            raise _unauthenticated("the API key is malformed (expected ssk_<id>_<secret>)")
        key_id, secret = parts
        row = await self._row(key_id)
        if row is None or not hmac.compare_digest(hash_secret(secret), row["secret_hash"]):
            raise _unauthenticated("the API key is not valid")
        if row["revoked_at"] is not None:
            raise _unauthenticated("the API key was revoked")
        return Principal(
            key_id, row["studio"], row["actor"], float(row["rate_per_second"]), int(row["burst"])
        )

    async def _row(self, key_id: str) -> Record | None:
        cached = self._cache.get(key_id)
        if cached is not None and time.monotonic() - cached[0] < KEY_CACHE_SECONDS:
            return cached[1]
        row = await self.store.key(key_id)
        if row is not None:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[key_id] = (time.monotonic(), row)
        return row

    def forget(self, key_id: str) -> None:
        self._cache.pop(key_id, None)


def _unauthenticated(message: str) -> ApiError:
    return ApiError(401, message, headers={"WWW-Authenticate": "Bearer"})


class RateLimiter:
    """A token bucket per key: `rate_per_second` refill, `burst` capacity."""

    def __init__(self) -> None:
        self._buckets: dict[str, tuple[float, float]] = {}

    def take(self, principal: Principal) -> None:
        """Spend one token, or raise 429 saying when one will be there."""
        rate, burst = principal.rate_per_second, float(principal.burst)
        if rate <= 0:
            return
        now = time.monotonic()
        tokens, since = self._buckets.get(principal.key_id, (burst, now))
        tokens = min(burst, tokens + (now - since) * rate)
        if tokens < 1.0:
            wait = (1.0 - tokens) / rate
            self._buckets[principal.key_id] = (tokens, now)
            raise ApiError(
                429,
                f"rate limit of {rate:g} requests/s (burst {principal.burst}) for this key; "
                f"retry in {wait:.2f} s",
                retry_after=round(wait, 3),
                headers={"Retry-After": str(max(1, int(wait + 0.999)))},
            )
        self._buckets[principal.key_id] = (tokens - 1.0, now)


class Tenancy:
    """Which scenes and artifacts belong to which studio, cached once known."""

    def __init__(self, store: TenancyStore) -> None:
        self.store = store
        self._owners: OrderedDict[str, str] = OrderedDict()
        self._artifacts: set[tuple[str, str]] = set()
        self.grants: ArtifactGrants | None = None

    async def owner(self, scene: str) -> str | None:
        known = self._owners.get(scene)
        if known is not None:
            return known
        found = await self.store.scene_owner(scene)
        if found is not None:
            self._remember(scene, found)
        return found

    def _remember(self, scene: str, studio: str) -> None:
        self._owners[scene] = studio
        if len(self._owners) > OWNER_CACHE_SIZE:
            self._owners.popitem(last=False)

    async def require_scene(self, studio: str, scene: str) -> None:
        """404 unless the scene belongs to `studio`."""
        if await self.owner(scene) != studio:
            raise not_found(f"no scene {scene!r}")

    async def claim_scene(self, studio: str, scene: str) -> None:
        """Let `studio` write to `scene`: its own, or an id no one has claimed yet."""
        owner = await self.owner(scene)
        if owner is None:
            owner = await self.store.claim_scene(scene, studio, now_micros())
            self._remember(scene, owner)
        if owner != studio:
            raise not_found(f"no scene {scene!r}")

    async def require_artifact(self, studio: str, artifact: str, field: str | None = None) -> None:
        """404 (422 naming `field`, for an input) unless the studio may read the artifact."""
        if (studio, artifact) in self._artifacts:
            return
        granted = await self.store.has_artifact(studio, artifact)
        if not granted and self.grants is not None:
            # A result streamed a moment ago may not be indexed yet: catch up once.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(2.0):
                    await self.grants.catch_up()
            granted = await self.store.has_artifact(studio, artifact)
        if not granted:
            if field is not None:
                raise ApiError(422, f"{field}: no artifact {artifact} in this studio", field=field)
            raise not_found(f"no artifact {artifact}")
        self._artifacts.add((studio, artifact))

    async def grant(self, studio: str, artifact: str) -> None:
        await self.store.grant_artifacts([(studio, artifact)])
        self._artifacts.add((studio, artifact))


def artifact_grants(events: Iterable[RecordedEvent]) -> list[tuple[str, str]]:
    """(studio, artifact) for every artifact a studio's task made or its intent bound."""
    found = []
    for event in events:
        payload: Any = event.payload
        if isinstance(payload, TaskSucceeded | ArtifactBound) and payload.artifact:
            found.append((event.metadata.studio, payload.artifact))
    return found


class ArtifactGrants:
    """Follows the log (through the process's stream hub) from its checkpoint and
    records which studio may read which artifact, so that reading one needs no walk
    through scene state. Granting is idempotent, so the checkpoint is saved now and
    then rather than per batch: a restart repeats a little work, nothing more."""

    CHECKPOINT = "api.artifact_grants"
    SAVE_EVERY = 1.0  # seconds

    def __init__(self, store: EventStore, tenancy: TenancyStore, hub: StreamHub) -> None:
        self.events = store
        self.tenancy = tenancy
        self.hub = hub
        self.position = -1
        self._advanced = asyncio.Event()

    async def run(self) -> None:
        position = await self.events.load_checkpoint(self.CHECKPOINT)
        self._advance(position)
        saved = time.monotonic()
        async for batch in self.hub.follow(position):
            grants = artifact_grants(batch)
            if grants:
                await self.tenancy.grant_artifacts(grants)
            last = batch[-1].position
            assert last is not None
            self._advance(last)
            if time.monotonic() - saved >= self.SAVE_EVERY:
                await self.events.save_checkpoint(self.CHECKPOINT, last)
                saved = time.monotonic()

    def _advance(self, position: int) -> None:
        self.position = position
        advanced, self._advanced = self._advanced, asyncio.Event()
        advanced.set()

    async def catch_up(self) -> None:
        """Wait until everything in the log now has been indexed."""
        target = await self.events.head_position()
        while self.position < target:
            await self._advanced.wait()
