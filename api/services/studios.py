"""Studios and their API keys. A key reads `ssk_<id>_<secret>`: the id finds the key's
record, and only the sha256 of the secret is stored (the secrets are 256 random bits,
so a slow hash would add nothing but latency to every request). A key is shown once,
when it is made."""

from __future__ import annotations

import hashlib
import re
import secrets

import msgspec

from api.services import Services
from api.services.tenancy import now_micros
from engine.errors import AlreadyExists, InvalidIntent, NotFound
from engine.tenancy import STUDIO_ID_PATTERN, ApiKey, Studio

TOKEN_PREFIX = "ssk"
STUDIO_ID = re.compile(STUDIO_ID_PATTERN)  # what POST /studios accepts


class StudioExists(AlreadyExists):
    def __init__(self, studio: str) -> None:
        super().__init__("id", f"a studio {studio!r} exists already")


class MintedKey(msgspec.Struct, frozen=True):
    """A new key: its record, and its token (shown this once, stored only as a hash)."""

    key: ApiKey
    token: str


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def split_token(token: str) -> tuple[str, str] | None:
    """(key id, secret) of a well-formed token, else None."""
    prefix, _, rest = token.partition("_")
    key_id, _, secret = rest.partition("_")
    if prefix != TOKEN_PREFIX or not key_id or not secret:
        return None
    return key_id, secret


async def create_studio(services: Services, studio_id: str, name: str) -> Studio:
    studio = Studio(studio_id, name, now_micros())
    if not await services.tenancy_store.create_studio(studio):
        raise StudioExists(studio_id)
    return studio


async def list_studios(services: Services) -> list[Studio]:
    return await services.tenancy_store.list_studios()


async def _existing(services: Services, studio: str) -> None:
    if await services.tenancy_store.studio(studio) is None:
        raise NotFound(f"no studio {studio!r}")


async def create_key(
    services: Services,
    studio: str,
    name: str,
    actor: str | None = None,
    rate_per_second: float = 50.0,
    burst: int = 100,
) -> MintedKey:
    """A new API key of `studio`; requests made with it act as `actor` (default
    `key:<name>`), at most `rate_per_second` (0: no limit) with bursts of `burst`."""
    await _existing(services, studio)
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    key = ApiKey(
        id=key_id,
        studio=studio,
        name=name,
        actor=actor or f"key:{name}",
        secret_hash=hash_secret(secret),
        rate_per_second=rate_per_second,
        burst=burst,
        created_at=now_micros(),
    )
    await services.tenancy_store.create_key(key)
    return MintedKey(key, f"{TOKEN_PREFIX}_{key_id}_{secret}")


async def key_for_operator(
    services: Services, studio: str, name: str, actor: str | None = None
) -> MintedKey:
    """A new key of `studio` made at the machine itself (`scenestate key`), making the
    studio first if it is not there yet: the embedded default's scenes belong to the
    studio `local`, which no one has had to create."""
    if not STUDIO_ID.match(studio):
        raise InvalidIntent(
            "studio", f"{studio!r} is not a studio id (letters, digits, _.:- up to 64)"
        )
    if not 1 <= len(name) <= 100:
        raise InvalidIntent("name", "a key's name has 1 to 100 characters")
    if await services.tenancy_store.studio(studio) is None:
        await services.tenancy_store.create_studio(Studio(studio, studio, now_micros()))
    return await create_key(services, studio, name, actor)


async def list_keys(services: Services, studio: str, *, check: bool = True) -> list[ApiKey]:
    if check:
        await _existing(services, studio)
    return await services.tenancy_store.list_keys(studio)


async def revoke_key(services: Services, studio: str, key_id: str) -> None:
    if not await services.tenancy_store.revoke_key(studio, key_id, now_micros()):
        raise NotFound(f"no live key {key_id!r} in studio {studio!r}")
