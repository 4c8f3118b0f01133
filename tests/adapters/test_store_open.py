"""Opening a store: which URL selects which adapter, and what is refused."""

from __future__ import annotations

import pytest

import adapters.store
from adapters.store import PostgresEventStore, SqliteEventStore, open_store


def test_the_public_surface() -> None:
    assert sorted(adapters.store.__all__) == [
        "ConnectionBudget",
        "PostgresEventStore",
        "SqlEventStore",
        "SqlTenancyStore",
        "SqliteEventStore",
        "migrate",
        "open_store",
        "open_tenancy_store",
    ]


@pytest.mark.parametrize(
    ("url", "adapter"),
    [
        ("sqlite+aiosqlite:///scenestate.db", SqliteEventStore),
        ("sqlite:///scenestate.db", SqliteEventStore),
        ("postgresql+asyncpg://user@db.example/scenestate", PostgresEventStore),
        ("postgresql://user@db.example/scenestate", PostgresEventStore),
    ],
)
async def test_the_url_scheme_picks_the_adapter(url: str, adapter: type) -> None:
    store = open_store(url)
    try:
        assert isinstance(store, adapter)
    finally:
        await store.close()


@pytest.mark.parametrize(
    "url",
    [
        "mysql://user@db.example/scenestate",
        "postgresql+psycopg://user@db.example/scenestate",
        "sqlite://",
        "sqlite+aiosqlite:///:memory:",
    ],
)
def test_unsupported_urls_are_refused_with_the_reason(url: str) -> None:
    with pytest.raises(ValueError, match=r"SQLite|unsupported"):
        open_store(url)


@pytest.mark.parametrize("schema", ["Mixed", "1st", "a;drop", "x" * 64])
def test_a_schema_name_must_be_a_plain_identifier(schema: str) -> None:
    with pytest.raises(ValueError, match="schema"):
        open_store("postgresql://user@db.example/scenestate", schema=schema)


def test_an_unknown_option_is_refused() -> None:
    with pytest.raises(TypeError):
        open_store("sqlite:///scenestate.db", schema="public")
