"""The API's tenancy tables on SQLite or PostgreSQL, through SQLAlchemy Core.

    open_tenancy_store(url) -> TenancyStore    same URLs as `open_store`

Nothing here is on the event store's hot path: keys are looked up once and cached
by the API, scene owners are cached once known, and webhook deliveries are a few
rows per finished execution. Writes on SQLite take the write lock up front
(`BEGIN IMMEDIATE`), so they queue behind the event store's writer instead of
deadlocking against it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import Table, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters.store._tables import streams
from adapters.store._tenancy_tables import (
    api_keys,
    scene_owners,
    studio_artifacts,
    studios,
    webhook_attempts,
    webhook_deliveries,
    webhooks,
)
from adapters.store._url import Backend, parse_store_url
from adapters.store.postgres import create_postgres_engine
from adapters.store.sqlite import create_sqlite_engine

Record = dict[str, Any]


def open_tenancy_store(url: str) -> TenancyStore:
    """The tenancy tables of the database at `url` (migrated to 0004 or later)."""
    backend, parsed = parse_store_url(url)
    if backend == "sqlite":
        return TenancyStore(create_sqlite_engine(parsed), backend)
    engine = create_postgres_engine(parsed, None, autocommit=False, pool_size=8)
    return TenancyStore(engine, backend)


class TenancyStore:
    def __init__(self, engine: AsyncEngine, backend: Backend) -> None:
        self._engine = engine
        self._backend = backend

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[AsyncConnection]:
        async with self._engine.connect() as conn:
            if self._backend == "sqlite":
                await conn.execution_options(sqlite_begin="IMMEDIATE")
            async with conn.begin():
                yield conn

    async def _rows(self, query: Any) -> list[Record]:
        async with self._engine.connect() as conn:
            return [_record(row) for row in (await conn.execute(query)).all()]

    async def _first(self, query: Any) -> Record | None:
        found = await self._rows(query.limit(1))
        return found[0] if found else None

    def _insert_new(self, table: Table) -> Any:
        """An INSERT that leaves an existing row with the same key alone."""
        dialect = sqlite if self._backend == "sqlite" else postgresql
        return dialect.insert(table).on_conflict_do_nothing()

    async def _insert_rows(self, table: Table, rows: Sequence[Record]) -> int:
        if not rows:
            return 0
        async with self._transaction() as conn:
            result = await conn.execute(self._insert_new(table), list(rows))
        return max(result.rowcount, 0)

    # Studios

    async def create_studio(self, studio: str, name: str, now: int) -> bool:
        """False when a studio with this id exists already."""
        row = {"id": studio, "name": name, "created_at": now}
        return await self._insert_rows(studios, [row]) == 1

    async def studio(self, studio: str) -> Record | None:
        return await self._first(select(studios).where(studios.c.id == studio))

    async def list_studios(self) -> list[Record]:
        return await self._rows(select(studios).order_by(studios.c.id))

    # API keys

    async def create_key(self, row: Record) -> None:
        async with self._transaction() as conn:
            await conn.execute(api_keys.insert().values(**row))

    async def key(self, key_id: str) -> Record | None:
        return await self._first(select(api_keys).where(api_keys.c.id == key_id))

    async def list_keys(self, studio: str) -> list[Record]:
        query = select(api_keys).where(api_keys.c.studio == studio).order_by(api_keys.c.created_at)
        return await self._rows(query)

    async def revoke_key(self, studio: str, key_id: str, now: int) -> bool:
        """False when the studio has no such key, or it was revoked already."""
        async with self._transaction() as conn:
            result = await conn.execute(
                update(api_keys)
                .where(api_keys.c.id == key_id, api_keys.c.studio == studio)
                .where(api_keys.c.revoked_at.is_(None))
                .values(revoked_at=now)
            )
        return result.rowcount == 1

    # Scenes

    async def scene_owner(self, scene: str) -> str | None:
        """The studio a scene belongs to: its claim, or else (scenes made outside the
        API) the studio of its events; None for a scene no one has."""
        claim = await self._first(
            select(scene_owners.c.studio).where(scene_owners.c.scene == scene)
        )
        if claim is not None:
            return str(claim["studio"])
        found = await self._rows(
            select(streams.c.studio).distinct().where(streams.c.scene == scene)
        )
        return str(found[0]["studio"]) if len(found) == 1 else None

    async def claim_scene(self, scene: str, studio: str, now: int) -> str:
        """Claim a scene id for `studio` unless someone holds it; returns the owner."""
        row = {"scene": scene, "studio": studio, "claimed_at": now}
        await self._insert_rows(scene_owners, [row])
        owner = await self.scene_owner(scene)
        assert owner is not None  # the row exists now, whoever wrote it
        return owner

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
        return await self._first(query) is not None

    # Webhooks

    async def create_webhook(self, row: Record) -> None:
        async with self._transaction() as conn:
            await conn.execute(webhooks.insert().values(**row))

    async def webhook(self, studio: str, webhook_id: str) -> Record | None:
        query = (
            select(webhooks)
            .where(webhooks.c.id == webhook_id, webhooks.c.studio == studio)
            .where(webhooks.c.deleted_at.is_(None))
        )
        return await self._first(query)

    async def list_webhooks(self, studio: str | None = None) -> list[Record]:
        """Live webhooks of `studio` (of every studio when None), oldest first."""
        query = select(webhooks).where(webhooks.c.deleted_at.is_(None))
        if studio is not None:
            query = query.where(webhooks.c.studio == studio)
        return await self._rows(query.order_by(webhooks.c.created_at, webhooks.c.id))

    async def delete_webhook(self, studio: str, webhook_id: str, now: int) -> bool:
        async with self._transaction() as conn:
            result = await conn.execute(
                update(webhooks)
                .where(webhooks.c.id == webhook_id, webhooks.c.studio == studio)
                .where(webhooks.c.deleted_at.is_(None))
                .values(deleted_at=now)
            )
        return result.rowcount == 1

    async def add_deliveries(self, rows: Sequence[Record]) -> int:
        """Record deliveries to make; one per webhook and event position, however often
        the same event is seen."""
        return await self._insert_rows(webhook_deliveries, rows)

    async def claim_due(self, now: int, lease_until: int, limit: int) -> list[Record]:
        """Pending deliveries whose time has come and that no sender holds, each leased
        to the caller until `lease_until` (a sender that dies lets its lease lapse)."""
        due = (
            select(webhook_deliveries.c.id)
            .where(webhook_deliveries.c.status == "pending")
            .where(webhook_deliveries.c.next_attempt_at <= now)
            .where(
                or_(
                    webhook_deliveries.c.lease_until.is_(None),
                    webhook_deliveries.c.lease_until < now,
                )
            )
            .order_by(webhook_deliveries.c.next_attempt_at)
            .limit(limit)
        )
        claimed: list[Record] = []
        async with self._transaction() as conn:
            for (delivery,) in (await conn.execute(due)).all():
                taken = await conn.execute(
                    update(webhook_deliveries)
                    .where(webhook_deliveries.c.id == delivery)
                    .where(webhook_deliveries.c.status == "pending")
                    .where(
                        or_(
                            webhook_deliveries.c.lease_until.is_(None),
                            webhook_deliveries.c.lease_until < now,
                        )
                    )
                    .values(lease_until=lease_until)
                    .returning(*webhook_deliveries.c)
                )
                row = taken.first()
                if row is not None:
                    claimed.append(_record(row))
        return claimed

    async def record_attempt(self, attempt: Record, outcome: Record) -> None:
        """Log one attempt of a delivery and move the delivery on (`outcome`: its new
        status, attempts, next_attempt_at, delivered_at, last_status_code, last_error)."""
        async with self._transaction() as conn:
            await conn.execute(self._insert_new(webhook_attempts), [attempt])
            await conn.execute(
                update(webhook_deliveries)
                .where(webhook_deliveries.c.id == attempt["delivery"])
                .values(**outcome, lease_until=None)
            )

    async def list_deliveries(
        self, studio: str, webhook_id: str, limit: int = 100
    ) -> list[tuple[Record, list[Record]]]:
        """The newest deliveries of a webhook with every attempt of each, newest first."""
        query = (
            select(webhook_deliveries)
            .where(webhook_deliveries.c.studio == studio)
            .where(webhook_deliveries.c.webhook == webhook_id)
            .order_by(webhook_deliveries.c.position.desc())
            .limit(limit)
        )
        deliveries = await self._rows(query)
        if not deliveries:
            return []
        ids = [d["id"] for d in deliveries]
        attempts = await self._rows(
            select(webhook_attempts)
            .where(webhook_attempts.c.delivery.in_(ids))
            .order_by(webhook_attempts.c.delivery, webhook_attempts.c.attempt)
        )
        by_delivery: dict[str, list[Record]] = {}
        for row in attempts:
            by_delivery.setdefault(row["delivery"], []).append(row)
        return [(d, by_delivery.get(d["id"], [])) for d in deliveries]

    async def pending_deliveries(self) -> int:
        query = (
            select(func.count())
            .select_from(webhook_deliveries)
            .where(webhook_deliveries.c.status == "pending")
        )
        async with self._engine.connect() as conn:
            return int((await conn.execute(query)).scalar_one())

    async def ping(self) -> None:
        """One round trip to the database (readiness checks)."""
        async with self._engine.connect() as conn:
            await conn.execute(select(1))

    async def close(self) -> None:
        await self._engine.dispose()


def _record(row: Row[Any]) -> Record:
    return {str(key): value for key, value in row._mapping.items()}
