"""Studios and their API keys: the admin key makes both; a key is shown once."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from api.schemas.common import CreateModel
from engine.tenancy import STUDIO_ID_PATTERN, ApiKey, Studio
from projections.times import from_micros


class StudioCreate(CreateModel):
    id: str = Field(pattern=STUDIO_ID_PATTERN, examples=["acme"])
    name: str = Field("", max_length=200)


class StudioPublic(BaseModel):
    id: str
    name: str
    created_at: datetime

    @classmethod
    def of(cls, studio: Studio) -> StudioPublic:
        return cls(id=studio.id, name=studio.name, created_at=from_micros(studio.created_at))


class KeyCreate(CreateModel):
    name: str = Field(min_length=1, max_length=100, examples=["front end"])
    actor: str | None = Field(
        None,
        min_length=1,
        max_length=200,
        description="Who intents sent with this key are recorded as (default: key:<name>).",
    )
    rate_per_second: float = Field(50.0, ge=0, le=100_000, description="0: no limit.")
    burst: int = Field(100, ge=1, le=1_000_000)


class KeyPublic(BaseModel):
    id: str
    studio: str
    name: str
    actor: str
    rate_per_second: float
    burst: int
    created_at: datetime
    revoked_at: datetime | None

    @classmethod
    def of(cls, key: ApiKey) -> KeyPublic:
        revoked = key.revoked_at
        return cls(
            id=key.id,
            studio=key.studio,
            name=key.name,
            actor=key.actor,
            rate_per_second=key.rate_per_second,
            burst=key.burst,
            created_at=from_micros(key.created_at),
            revoked_at=None if revoked is None else from_micros(revoked),
        )


class KeyCreated(KeyPublic):
    token: str = Field(description="The key itself: shown this once, stored only as a hash.")


class Me(BaseModel):
    studio: str
    key_id: str
    actor: str
    rate_per_second: float
    burst: int
