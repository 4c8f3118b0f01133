"""The tenancy contract (`engine.ports.TenancyStore`) on every adapter: SQLite and
PostgreSQL, each on a fresh, migrated database."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from adapters.store import migrate, open_store, open_tenancy_store
from engine.events import EventMetadata, NewEvent, SceneCreated
from engine.models import LOCAL_MODELS, ModelChoice
from engine.ports import StreamId, TenancyStore
from engine.tenancy import (
    ApiKey,
    DeliveryAttempt,
    DeliveryOutcome,
    DeliveryStatus,
    Studio,
    Webhook,
    WebhookDelivery,
)
from tests.conftest import fresh_postgres_database

NOW = 1_700_000_000_000_000


@pytest.fixture(params=["sqlite", "postgresql"])
async def url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        found = f"sqlite+aiosqlite:///{tmp_path / 'tenancy.db'}"
        await migrate(found)
        yield found
        return
    async with fresh_postgres_database("tenancy") as found:
        await migrate(found)
        yield found


@pytest.fixture
async def store(url: str) -> AsyncIterator[TenancyStore]:
    opened = open_tenancy_store(url)
    try:
        yield opened
    finally:
        await opened.close()


def key(key_id: str, studio: str = "acme") -> ApiKey:
    return ApiKey(key_id, studio, "web", "key:web", "ab" * 32, 50.0, 100, NOW)


def delivery(delivery_id: str, position: int, webhook: str = "wh_1") -> WebhookDelivery:
    return WebhookDelivery(
        id=delivery_id,
        webhook=webhook,
        studio="acme",
        event="execution.completed",
        execution="e1",
        scene="promo",
        branch="main",
        position=position,
        body="{}",
        status=DeliveryStatus.PENDING,
        attempts=0,
        created_at=NOW,
        next_attempt_at=NOW,
    )


async def test_a_studio_is_created_once_and_the_first_writer_wins(store: TenancyStore) -> None:
    assert await store.create_studio(Studio("acme", "Acme Films", NOW))
    assert not await store.create_studio(Studio("acme", "Someone Else", NOW + 1))
    assert await store.studio("acme") == Studio("acme", "Acme Films", NOW)
    assert await store.studio("nobody") is None
    await store.create_studio(Studio("bolt", "", NOW))
    assert [s.id for s in await store.list_studios()] == ["acme", "bolt"]


async def test_keys_are_listed_per_studio_and_revoked_once(store: TenancyStore) -> None:
    await store.create_key(key("k1"))
    await store.create_key(key("k2", studio="bolt"))
    assert await store.key("k1") == key("k1")
    assert [k.id for k in await store.list_keys("acme")] == ["k1"]
    assert not await store.revoke_key("bolt", "k1", NOW)  # not bolt's key
    assert await store.revoke_key("acme", "k1", NOW + 5)
    assert not await store.revoke_key("acme", "k1", NOW + 6)
    revoked = await store.key("k1")
    assert revoked is not None and revoked.revoked_at == NOW + 5
    assert [k.id for k in await store.revoked_since(NOW)] == ["k1"]
    assert await store.revoked_since(NOW + 6) == []


async def test_a_scene_id_is_claimed_by_the_first_studio_only(store: TenancyStore) -> None:
    claims = await asyncio.gather(
        *(store.claim_scene("promo", studio, NOW) for studio in ("acme", "bolt", "cove"))
    )
    assert len(set(claims)) == 1
    assert await store.scene_owner("promo") == claims[0]
    assert await store.scene_owner("unclaimed") is None


async def test_a_scene_made_outside_the_api_belongs_to_the_studio_of_its_events(
    store: TenancyStore, url: str
) -> None:
    events = open_store(url)
    try:
        meta = EventMetadata("acme", "cli", "i1", "e1", "test", 1)
        new = NewEvent("ev-1", SceneCreated(title="t"), meta, datetime.now(UTC))
        await events.append(StreamId("made-by-cli"), [new], 0)
    finally:
        await events.close()
    assert await store.scene_owner("made-by-cli") == "acme"
    assert await store.list_scenes("acme") == ["made-by-cli"]
    await store.claim_scene("made-by-cli", "bolt", NOW)  # the events' studio holds it
    assert await store.list_scenes("bolt") == []


async def test_artifact_grants_are_per_studio_and_idempotent(store: TenancyStore) -> None:
    sha = "a" * 64
    assert await store.grant_artifacts([("acme", sha), ("acme", sha)]) == 1
    assert await store.grant_artifacts([("acme", sha)]) == 0
    assert await store.has_artifact("acme", sha)
    assert not await store.has_artifact("bolt", sha)
    await store.grant_artifacts([("acme", "ab" * 32)])
    assert await store.artifacts_starting("acme", "aaaa") == [sha]
    assert await store.artifacts_starting("acme", "a") == [sha, "ab" * 32]
    assert await store.artifacts_starting("bolt", "aaaa") == []


async def test_webhooks_are_per_studio_and_deleted_softly(store: TenancyStore) -> None:
    hook = Webhook("wh_1", "acme", "https://example.com/h", "whsec_x", ("execution.failed",), NOW)
    await store.create_webhook(hook)
    assert await store.webhook("acme", "wh_1") == hook
    assert await store.webhook("bolt", "wh_1") is None
    assert await store.list_webhooks() == [hook]
    assert not await store.delete_webhook("bolt", "wh_1", NOW)
    assert await store.delete_webhook("acme", "wh_1", NOW + 1)
    assert await store.webhook("acme", "wh_1") is None
    assert await store.list_webhooks("acme") == []


async def test_one_delivery_per_webhook_and_position(store: TenancyStore) -> None:
    assert await store.add_deliveries([delivery("d1", 7)]) == 1
    assert await store.add_deliveries([delivery("d2", 7), delivery("d3", 8)]) == 1
    assert await store.pending_deliveries() == 2


async def test_a_due_delivery_is_leased_to_one_sender_at_a_time(store: TenancyStore) -> None:
    await store.add_deliveries([delivery("d1", 7), delivery("d2", 8)])
    claims = await asyncio.gather(*(store.claim_due(NOW, NOW + 60, 10) for _ in range(4)))
    claimed = [d.id for batch in claims for d in batch]
    assert sorted(claimed) == ["d1", "d2"]
    assert await store.claim_due(NOW + 61, NOW + 120, 10) != []  # a lapsed lease frees it


async def test_an_attempt_is_logged_and_moves_the_delivery_on(store: TenancyStore) -> None:
    await store.add_deliveries([delivery("d1", 7)])
    (claimed,) = await store.claim_due(NOW, NOW + 60, 10)
    assert claimed.id == "d1"
    await store.record_attempt(
        DeliveryAttempt("d1", 1, NOW, 500, "the receiver answered 500", 12.5),
        DeliveryOutcome(DeliveryStatus.PENDING, 1, NOW + 1_000_000, None, 500, "boom"),
    )
    assert await store.claim_due(NOW + 10, NOW + 60, 10) == []  # not due yet
    [(found, attempts)] = await store.list_deliveries("acme", "wh_1")
    assert found.attempts == 1 and found.lease_until is None and found.last_error == "boom"
    assert attempts == [DeliveryAttempt("d1", 1, NOW, 500, "the receiver answered 500", 12.5)]
    assert await store.list_deliveries("bolt", "wh_1") == []


async def test_a_studio_chooses_a_model_per_kind_of_work_and_can_go_back_to_local(
    store: TenancyStore,
) -> None:
    assert (await store.model_choices("acme")).of("text") == ModelChoice(LOCAL_MODELS["text"])
    llama = ModelChoice("llama-3-8b-instruct", "replicate")
    await store.choose_model("acme", "text", llama, NOW)
    await store.choose_model("acme", "code", ModelChoice("llama-3-8b-instruct", "fal"), NOW)
    await store.choose_model("acme", "text", llama, NOW + 1)  # the same again: one row

    chosen = await store.model_choices("acme")
    assert chosen.of("text") == llama and chosen.of("code").provider == "fal"
    assert chosen.of("image") == ModelChoice(LOCAL_MODELS["image"])
    assert (await store.model_choices("other")).chosen == {}

    await store.choose_model("acme", "text", None, NOW + 2)
    assert set((await store.model_choices("acme")).chosen) == {"code"}


async def test_ping_answers(store: TenancyStore) -> None:
    await store.ping()
