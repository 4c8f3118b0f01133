"""Who is asking the HTTP API: bearer tokens become principals (a studio's key, or the
administrator), each held to its rate limit.

Validated keys are kept in memory for `KEY_CACHE_SECONDS`; revoking one through this
process takes effect at once, through another within `REVOCATION_POLL` seconds, and
ends the streams the key holds open.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import time
from collections.abc import Iterator
from dataclasses import dataclass

from api import stream_tokens
from api.errors import ApiError
from api.services import Caller
from api.services.studios import hash_secret, split_token
from api.services.tenancy import now_micros
from api.stream_tokens import StreamScope
from engine.ports import TenancyStore
from engine.tenancy import ApiKey

KEY_CACHE_SECONDS = 10.0
REVOCATION_POLL = 1.0  # seconds between looks for keys other processes revoked
KEY_CACHE_SIZE = 10_000
ADMIN = "(admin)"


@dataclass(frozen=True)
class Principal:
    """Who is asking: a studio's key, or the administrator. `stream` is set when the
    key came as a stream token, which opens that stream and nothing else."""

    key_id: str
    studio: str | None
    actor: str
    rate_per_second: float
    burst: int
    stream: StreamScope | None = None

    @property
    def admin(self) -> bool:
        return self.studio is None

    @property
    def caller(self) -> Caller:
        assert self.studio is not None  # the routes' dependencies refuse the admin here
        return Caller(self.studio, self.actor)


class KeyRing:
    """Turns bearer tokens into principals, with a short-lived cache of valid keys, and
    tells the streams a key keeps open when the key is revoked (through this process
    at once; through another within `REVOCATION_POLL` seconds, see `watch`)."""

    def __init__(self, store: TenancyStore, admin_token: str | None, admin_rate: float) -> None:
        self.store = store
        self._admin_token = admin_token
        self._admin = Principal(ADMIN, None, "admin", admin_rate, max(int(admin_rate), 1))
        self._cache: dict[str, tuple[float, ApiKey]] = {}
        self._streams: dict[str, set[asyncio.Event]] = {}

    async def principal(self, token: str | None) -> Principal:
        if not token:
            raise _unauthenticated("no API key: send `Authorization: Bearer <key>`")
        if self._admin_token is not None and hmac.compare_digest(
            token.encode(), self._admin_token.encode()
        ):
            return self._admin
        if stream_tokens.key_of(token) is not None:
            return await self._stream_principal(token)
        if token.startswith(stream_tokens.PREFIX):
            raise _unauthenticated(
                "the stream token is malformed (cut short?): POST /streams/tokens or "
                "/artifacts/{artifact}/tokens makes a whole one"
            )
        parts = split_token(token)
        if parts is None:
            if self._admin_token is None:
                raise _unauthenticated(
                    "the API key is not a studio's key (ssk_<id>_<secret>), and this server "
                    "has no admin key: start it with SCENESTATE_ADMIN_KEY set to use one"
                )
            raise _unauthenticated("the API key is malformed (expected ssk_<id>_<secret>)")
        key_id, secret = parts
        key = await self._key(key_id)
        if key is None or not hmac.compare_digest(hash_secret(secret), key.secret_hash):
            raise _unauthenticated("the API key is not valid")
        if key.revoked_at is not None:
            raise _unauthenticated("the API key was revoked")
        return Principal(key_id, key.studio, key.actor, key.rate_per_second, key.burst)

    async def _stream_principal(self, token: str) -> Principal:
        key_id = stream_tokens.key_of(token)
        key = None if key_id is None else await self._key(key_id)
        if key is None:
            raise _unauthenticated("the stream token is not valid")
        if key.revoked_at is not None:
            raise _unauthenticated("the API key behind this stream token was revoked")
        scope = stream_tokens.check(token, key.secret_hash)
        return Principal(
            key.id, key.studio, key.actor, key.rate_per_second, key.burst, stream=scope
        )

    async def key(self, key_id: str) -> ApiKey | None:
        """A key's record (cached like the keys that authenticate)."""
        return await self._key(key_id)

    async def _key(self, key_id: str) -> ApiKey | None:
        cached = self._cache.get(key_id)
        if cached is not None and time.monotonic() - cached[0] < KEY_CACHE_SECONDS:
            return cached[1]
        key = await self.store.key(key_id)
        if key is not None:
            if len(self._cache) > KEY_CACHE_SIZE:
                self._cache.clear()
            self._cache[key_id] = (time.monotonic(), key)
        return key

    def forget(self, key_id: str) -> None:
        """A key was revoked: drop it from the cache and end the streams it holds open."""
        self._cache.pop(key_id, None)
        for revoked in self._streams.get(key_id, ()):
            revoked.set()

    @contextlib.contextmanager
    def revocation(self, key_id: str) -> Iterator[asyncio.Event]:
        """An event set when the key is revoked, for a stream held open with it."""
        revoked = asyncio.Event()
        self._streams.setdefault(key_id, set()).add(revoked)
        try:
            yield revoked
        finally:
            held = self._streams.get(key_id)
            if held is not None:
                held.discard(revoked)
                if not held:
                    del self._streams[key_id]

    async def watch(self) -> None:
        """Follow revocations made by any process, until cancelled."""
        since = now_micros()
        while True:
            await asyncio.sleep(REVOCATION_POLL)
            checked = now_micros()
            for key in await self.store.revoked_since(since):
                self.forget(key.id)
            since = checked - int(REVOCATION_POLL * 1e6)  # overlap: clocks and commits lag


def _unauthenticated(message: str) -> ApiError:
    return ApiError(401, message, headers={"WWW-Authenticate": "Bearer"})


class FailedAuthentications:
    """Addresses that keep sending keys that are not valid are slowed down: each may
    fail `burst` times, then once per 1/`rate` seconds; past that, 429 without the key
    even being looked at."""

    def __init__(self, rate: float = 1.0, burst: int = 20, addresses: int = 10_000) -> None:
        self.rate, self.burst, self.addresses = rate, float(burst), addresses
        self._buckets: dict[str, tuple[float, float]] = {}

    def _tokens(self, client: str) -> float:
        tokens, since = self._buckets.get(client, (self.burst, time.monotonic()))
        return min(self.burst, tokens + (time.monotonic() - since) * self.rate)

    def check(self, client: str) -> None:
        tokens = self._tokens(client)
        if tokens < 1.0:
            wait = (1.0 - tokens) / self.rate
            raise ApiError(
                429,
                f"too many failed authentications from this address; retry in {wait:.1f} s",
                retry_after=round(wait, 3),
                headers={"Retry-After": str(max(1, int(wait + 0.999)))},
            )

    def failed(self, client: str) -> None:
        if len(self._buckets) > self.addresses:
            self._buckets.clear()
        self._buckets[client] = (self._tokens(client) - 1.0, time.monotonic())


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
