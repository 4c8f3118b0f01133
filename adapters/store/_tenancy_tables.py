"""The API's tenancy tables as SQLAlchemy Core objects (DDL: migrations 0004, 0005 and
0007): studios, API keys, scene owners, the artifacts each studio may read, webhooks,
idempotency keys, and the models each studio chose."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Float, Integer, MetaData, Table, Text

metadata = MetaData()


def _text(name: str, nullable: bool = False, key: bool = False) -> Column[str]:
    return Column(name, Text, nullable=nullable, primary_key=key)


def _micros(name: str, nullable: bool = False) -> Column[int]:
    return Column(name, BigInteger, nullable=nullable)


studios = Table(
    "studios",
    metadata,
    _text("id", key=True),
    _text("name"),
    _micros("created_at"),
)

# `secret_hash` is the sha256 of the key's secret part; the secret itself is shown
# once, when the key is made, and never stored.
api_keys = Table(
    "api_keys",
    metadata,
    _text("id", key=True),
    _text("studio"),
    _text("name"),
    _text("actor"),
    _text("secret_hash"),
    Column("rate_per_second", Float, nullable=False),
    Column("burst", Integer, nullable=False),
    _micros("created_at"),
    _micros("revoked_at", nullable=True),
)

# Scene ids are global; the first studio to claim one owns it for good.
scene_owners = Table(
    "scene_owners",
    metadata,
    _text("scene", key=True),
    _text("studio"),
    _micros("claimed_at"),
)

# Artifacts a studio may read: those its tasks made, its intents bound, or it uploaded.
studio_artifacts = Table(
    "studio_artifacts",
    metadata,
    _text("studio", key=True),
    _text("artifact", key=True),
)

webhooks = Table(
    "webhooks",
    metadata,
    _text("id", key=True),
    _text("studio"),
    _text("url"),
    _text("secret"),
    _text("events"),  # JSON list of event names
    _micros("created_at"),
    _micros("deleted_at", nullable=True),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    _text("id", key=True),
    _text("webhook"),
    _text("studio"),
    _text("event"),
    _text("execution"),
    _text("scene"),
    _text("branch"),
    _micros("position"),
    _text("body"),
    _text("status"),  # pending, delivered, failed
    Column("attempts", Integer, nullable=False),
    _micros("created_at"),
    _micros("next_attempt_at"),
    _micros("lease_until", nullable=True),
    _micros("delivered_at", nullable=True),
    Column("last_status_code", Integer, nullable=True),
    _text("last_error", nullable=True),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    _text("studio", key=True),
    _text("key", key=True),
    _text("request"),
    _text("fingerprint"),
    _text("intent_id"),
    _text("answer", nullable=True),
    _micros("created_at"),
    _micros("expires_at"),
    _micros("lease_until"),
)

webhook_attempts = Table(
    "webhook_attempts",
    metadata,
    _text("delivery", key=True),
    Column("attempt", Integer, primary_key=True),
    _micros("at"),
    Column("status_code", Integer, nullable=True),
    _text("error", nullable=True),
    Column("duration_ms", Float, nullable=False),
)

# The model and provider a studio chose for a kind of work (migration 0007); a kind
# with no row is done by the local model.
studio_models = Table(
    "studio_models",
    metadata,
    _text("studio", key=True),
    _text("kind", key=True),
    _text("model"),
    _text("provider"),
    _micros("chosen_at"),
)
