"""The tenancy tables (`engine.ports.TenancyStore`) on SQLite or PostgreSQL, through
SQLAlchemy Core.

    open_tenancy_store(url) -> SqlTenancyStore    same URLs as `open_store`

Nothing here is on the event store's hot path: keys are looked up once and cached
by the API, scene owners are cached once known, and webhook deliveries are a few
rows per finished execution. Writes on SQLite take the write lock up front
(`BEGIN IMMEDIATE`), so they queue behind the event store's writer instead of
deadlocking against it. Driver errors leave as `engine.errors.Unavailable`.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import msgspec
from sqlalchemy import Table, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters.store._failures import translates_failures
from adapters.store._tables import streams
from adapters.store._tenancy_tables import (
    api_keys,
    idempotency_keys,
    scene_owners,
    studio_artifacts,
    studio_models,
    studios,
    webhook_attempts,
    webhook_deliveries,
    webhooks,
)
from adapters.store._url import Backend, parse_store_url
from adapters.store.postgres import create_postgres_engine
from adapters.store.sqlite import create_sqlite_engine
from engine.models import LOCAL_CHOICES, ModelChoice, ModelChoices
from engine.tenancy import (
    ApiKey,
    DeliveryAttempt,
    DeliveryOutcome,
    IdempotencyRecord,
    Studio,
    Webhook,
    WebhookDelivery,
)

Record = dict[str, Any]
INSERT_CHUNK = 500  # rows per statement: well under SQLite's limit of bound values
R = TypeVar("R", bound=msgspec.Struct)


def open_tenancy_store(url: str, *, pool_size: int = 8) -> SqlTenancyStore:
    """The tenancy tables of the database at `url` (migrated to 0004 or later), on at
    most `pool_size` connections (PostgreSQL)."""
    backend, parsed = parse_store_url(url)
    if backend == "sqlite":
        return SqlTenancyStore(create_sqlite_engine(parsed), backend)
    database = create_postgres_engine(parsed, None, autocommit=False, pool_size=pool_size)
    return SqlTenancyStore(database, backend)


@translates_failures("database")
class SqlTenancyStore:
    def __init__(self, database: AsyncEngine, backend: Backend) -> None:
        self._db = database
        self._backend = backend

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[AsyncConnection]:
        async with self._db.connect() as conn:
            if self._backend == "sqlite":
                await conn.execution_options(sqlite_begin="IMMEDIATE")
            async with conn.begin():
                yield conn

    async def _rows(self, query: Any) -> list[Record]:
        async with self._db.connect() as conn:
            return [_record(row) for row in (await conn.execute(query)).all()]

    async def _all(self, kind: type[R], query: Any) -> list[R]:
        return [_struct(kind, row) for row in await self._rows(query)]

    async def _first(self, kind: type[R], query: Any) -> R | None:
        found = await self._all(kind, query.limit(1))
        return found[0] if found else None

    def _insert_new(self, table: Table) -> Any:
        """An INSERT that leaves an existing row with the same key alone."""
        dialect = sqlite if self._backend == "sqlite" else postgresql
        return dialect.insert(table).on_conflict_do_nothing()

    async def _insert_rows(self, table: Table, rows: Sequence[Record]) -> int:
        """Insert the rows whose key is new, in one statement; returns how many were new
        (counted from RETURNING: an executemany's row count is not reliable)."""
        if not rows:
            return 0
        key = next(iter(table.primary_key.columns))
        new = 0
        async with self._transaction() as conn:
            for start in range(0, len(rows), INSERT_CHUNK):
                chunk = list(rows[start : start + INSERT_CHUNK])
                statement = self._insert_new(table).values(chunk).returning(key)
                new += len((await conn.execute(statement)).all())
        return new

    # Studios

    async def create_studio(self, studio: Studio) -> bool:
        """False when a studio with this id exists already."""
        return await self._insert_rows(studios, [msgspec.structs.asdict(studio)]) == 1

    async def studio(self, studio_id: str) -> Studio | None:
        return await self._first(Studio, select(studios).where(studios.c.id == studio_id))

    async def list_studios(self) -> list[Studio]:
        return await self._all(Studio, select(studios).order_by(studios.c.id))

    # API keys

    async def create_key(self, key: ApiKey) -> None:
        async with self._transaction() as conn:
            await conn.execute(api_keys.insert().values(**msgspec.structs.asdict(key)))

    async def key(self, key_id: str) -> ApiKey | None:
        return await self._first(ApiKey, select(api_keys).where(api_keys.c.id == key_id))

    async def list_keys(self, studio: str) -> list[ApiKey]:
        query = select(api_keys).where(api_keys.c.studio == studio).order_by(api_keys.c.created_at)
        return await self._all(ApiKey, query)

    async def revoke_key(self, studio: str, key_id: str, now: int) -> bool:
        async with self._transaction() as conn:
            result = await conn.execute(
                update(api_keys)
                .where(api_keys.c.id == key_id, api_keys.c.studio == studio)
                .where(api_keys.c.revoked_at.is_(None))
                .values(revoked_at=now)
            )
        return result.rowcount == 1

    async def revoked_since(self, since: int) -> list[ApiKey]:
        query = select(api_keys).where(api_keys.c.revoked_at >= since)
        return await self._all(ApiKey, query.order_by(api_keys.c.revoked_at))

    # Scenes

    async def scene_owner(self, scene: str) -> str | None:
        claim = await self._rows(
            select(scene_owners.c.studio).where(scene_owners.c.scene == scene).limit(1)
        )
        if claim:
            return str(claim[0]["studio"])
        found = await self._rows(
            select(streams.c.studio).distinct().where(streams.c.scene == scene)
        )
        return str(found[0]["studio"]) if len(found) == 1 else None

    async def claim_scene(self, scene: str, studio: str, now: int) -> str:
        row = {"scene": scene, "studio": studio, "claimed_at": now}
        await self._insert_rows(scene_owners, [row])
        owner = await self.scene_owner(scene)
        assert owner is not None  # the row exists now, whoever wrote it
        return owner

    async def release_scene(self, scene: str, studio: str, claimed_at: int) -> bool:
        has_events = select(streams.c.scene).where(streams.c.scene == scene).exists()
        async with self._transaction() as conn:
            result = await conn.execute(
                delete(scene_owners)
                .where(scene_owners.c.scene == scene, scene_owners.c.studio == studio)
                .where(scene_owners.c.claimed_at == claimed_at)
                .where(~has_events)
            )
        return result.rowcount == 1

    async def list_scenes(self, studio: str) -> list[str]:
        """Scenes of `studio` that have events, without those another studio claimed."""
        claimed_elsewhere = select(scene_owners.c.scene).where(scene_owners.c.studio != studio)
        query = (
            select(streams.c.scene)
            .distinct()
            .where(streams.c.studio == studio, streams.c.scene.not_in(claimed_elsewhere))
            .order_by(streams.c.scene)
        )
        return [str(row["scene"]) for row in await self._rows(query)]

    # Artifacts

    async def grant_artifacts(self, grants: Iterable[tuple[str, str]]) -> int:
        rows = [{"studio": s, "artifact": a} for s, a in dict.fromkeys(grants)]
        return await self._insert_rows(studio_artifacts, rows)

    async def has_artifact(self, studio: str, artifact: str) -> bool:
        query = select(studio_artifacts.c.artifact).where(
            studio_artifacts.c.studio == studio, studio_artifacts.c.artifact == artifact
        )
        return bool(await self._rows(query.limit(1)))

    async def artifacts_starting(self, studio: str, start: str, limit: int = 10) -> list[str]:
        column = studio_artifacts.c.artifact
        query = (
            select(column)
            .where(studio_artifacts.c.studio == studio, column >= start, column < start + "g")
            .order_by(column)
            .limit(limit)
        )
        return [str(row["artifact"]) for row in await self._rows(query)]

    # Webhooks

    async def create_webhook(self, webhook: Webhook) -> None:
        row = {**msgspec.structs.asdict(webhook), "events": json.dumps(list(webhook.events))}
        async with self._transaction() as conn:
            await conn.execute(webhooks.insert().values(**row))

    async def webhook(self, studio: str, webhook_id: str) -> Webhook | None:
        query = (
            select(webhooks)
            .where(webhooks.c.id == webhook_id, webhooks.c.studio == studio)
            .where(webhooks.c.deleted_at.is_(None))
        )
        found = await self._rows(query.limit(1))
        return _webhook(found[0]) if found else None

    async def list_webhooks(self, studio: str | None = None) -> list[Webhook]:
        query = select(webhooks).where(webhooks.c.deleted_at.is_(None))
        if studio is not None:
            query = query.where(webhooks.c.studio == studio)
        rows = await self._rows(query.order_by(webhooks.c.created_at, webhooks.c.id))
        return [_webhook(row) for row in rows]

    async def delete_webhook(self, studio: str, webhook_id: str, now: int) -> bool:
        async with self._transaction() as conn:
            result = await conn.execute(
                update(webhooks)
                .where(webhooks.c.id == webhook_id, webhooks.c.studio == studio)
                .where(webhooks.c.deleted_at.is_(None))
                .values(deleted_at=now)
            )
        return result.rowcount == 1

    async def add_deliveries(self, deliveries: Sequence[WebhookDelivery]) -> int:
        rows = [msgspec.structs.asdict(delivery) for delivery in deliveries]
        return await self._insert_rows(webhook_deliveries, rows)

    async def claim_due(self, now: int, lease_until: int, limit: int) -> list[WebhookDelivery]:
        unleased = or_(
            webhook_deliveries.c.lease_until.is_(None), webhook_deliveries.c.lease_until < now
        )
        due = (
            select(webhook_deliveries.c.id)
            .where(webhook_deliveries.c.status == "pending")
            .where(webhook_deliveries.c.next_attempt_at <= now)
            .where(unleased)
            .order_by(webhook_deliveries.c.next_attempt_at)
            .limit(limit)
        )
        claimed: list[WebhookDelivery] = []
        async with self._transaction() as conn:
            for (delivery,) in (await conn.execute(due)).all():
                taken = await conn.execute(
                    update(webhook_deliveries)
                    .where(webhook_deliveries.c.id == delivery)
                    .where(webhook_deliveries.c.status == "pending")
                    .where(unleased)
                    .values(lease_until=lease_until)
                    .returning(*webhook_deliveries.c)
                )
                row = taken.first()
                if row is not None:
                    claimed.append(_struct(WebhookDelivery, _record(row)))
        return claimed

    async def record_attempt(self, attempt: DeliveryAttempt, outcome: DeliveryOutcome) -> None:
        async with self._transaction() as conn:
            await conn.execute(
                self._insert_new(webhook_attempts), [msgspec.structs.asdict(attempt)]
            )
            await conn.execute(
                update(webhook_deliveries)
                .where(webhook_deliveries.c.id == attempt.delivery)
                .values(**msgspec.structs.asdict(outcome), lease_until=None)
            )

    async def list_deliveries(
        self, studio: str, webhook_id: str, limit: int = 100
    ) -> list[tuple[WebhookDelivery, list[DeliveryAttempt]]]:
        query = (
            select(webhook_deliveries)
            .where(webhook_deliveries.c.studio == studio)
            .where(webhook_deliveries.c.webhook == webhook_id)
            .order_by(webhook_deliveries.c.position.desc())
            .limit(limit)
        )
        deliveries = await self._all(WebhookDelivery, query)
        if not deliveries:
            return []
        attempts = await self._all(
            DeliveryAttempt,
            select(webhook_attempts)
            .where(webhook_attempts.c.delivery.in_([d.id for d in deliveries]))
            .order_by(webhook_attempts.c.delivery, webhook_attempts.c.attempt),
        )
        by_delivery: dict[str, list[DeliveryAttempt]] = {}
        for attempt in attempts:
            by_delivery.setdefault(attempt.delivery, []).append(attempt)
        return [(d, by_delivery.get(d.id, [])) for d in deliveries]

    async def pending_deliveries(self) -> int:
        query = (
            select(func.count())
            .select_from(webhook_deliveries)
            .where(webhook_deliveries.c.status == "pending")
        )
        async with self._db.connect() as conn:
            return int((await conn.execute(query)).scalar_one())

    # Idempotency keys

    async def hold_key(self, record: IdempotencyRecord, now: int) -> IdempotencyRecord:
        table = idempotency_keys
        row = msgspec.structs.asdict(record)
        dialect = sqlite if self._backend == "sqlite" else postgresql
        statement = (
            dialect.insert(table)
            .values(**row)
            .on_conflict_do_update(
                index_elements=[table.c.studio, table.c.key],
                set_={name: value for name, value in row.items() if name not in ("studio", "key")},
                where=table.c.expires_at <= now,
            )
        )
        async with self._transaction() as conn:
            await conn.execute(statement)
            held = (await conn.execute(self._key_query(record.studio, record.key))).first()
        assert held is not None  # the row is there, ours or the one that was
        return _struct(IdempotencyRecord, _record(held))

    def _key_query(self, studio: str, key: str) -> Any:
        table = idempotency_keys
        return select(table).where(table.c.studio == studio, table.c.key == key)

    async def take_over_key(
        self, studio: str, key: str, intent_id: str, now: int, lease_until: int
    ) -> bool:
        table = idempotency_keys
        async with self._transaction() as conn:
            result = await conn.execute(
                update(table)
                .where(table.c.studio == studio, table.c.key == key)
                .where(table.c.intent_id == intent_id, table.c.answer.is_(None))
                .where(table.c.lease_until < now)
                .values(lease_until=lease_until)
            )
        return result.rowcount == 1

    async def answer_key(self, studio: str, key: str, intent_id: str, answer: str) -> None:
        table = idempotency_keys
        async with self._transaction() as conn:
            await conn.execute(
                update(table)
                .where(table.c.studio == studio, table.c.key == key)
                .where(table.c.intent_id == intent_id)
                .values(answer=answer)
            )

    async def release_key(self, studio: str, key: str, intent_id: str) -> None:
        table = idempotency_keys
        async with self._transaction() as conn:
            await conn.execute(
                delete(table)
                .where(table.c.studio == studio, table.c.key == key)
                .where(table.c.intent_id == intent_id, table.c.answer.is_(None))
            )

    async def find_key(self, studio: str, key: str) -> IdempotencyRecord | None:
        return await self._first(IdempotencyRecord, self._key_query(studio, key))

    async def forget_expired_keys(self, now: int) -> int:
        table = idempotency_keys
        async with self._transaction() as conn:
            result = await conn.execute(delete(table).where(table.c.expires_at <= now))
        return max(result.rowcount, 0)

    # Model choices

    async def model_choices(self, studio: str) -> ModelChoices:
        table = studio_models
        rows = await self._rows(select(table).where(table.c.studio == studio))
        choices = LOCAL_CHOICES
        for row in sorted(rows, key=lambda r: str(r["kind"])):
            choices = choices.with_choice(row["kind"], ModelChoice(row["model"], row["provider"]))
        return choices

    async def choose_model(
        self, studio: str, kind: str, choice: ModelChoice | None, now: int
    ) -> None:
        table = studio_models
        mine = (table.c.studio == studio) & (table.c.kind == kind)
        async with self._transaction() as conn:
            await conn.execute(delete(table).where(mine))
            if choice is not None:
                row = {"studio": studio, "kind": kind, "chosen_at": now}
                await conn.execute(table.insert().values(**row, **msgspec.structs.asdict(choice)))

    async def ping(self) -> None:
        async with self._db.connect() as conn:
            await conn.execute(select(1))

    async def close(self) -> None:
        await self._db.dispose()


def _record(row: Row[Any]) -> Record:
    return {str(key): value for key, value in row._mapping.items()}


def _struct(kind: type[R], row: Record) -> R:
    return msgspec.convert(row, kind, strict=False)


def _webhook(row: Record) -> Webhook:
    return _struct(Webhook, {**row, "events": json.loads(row["events"])})
