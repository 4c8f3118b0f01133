"""Configuration from the environment, and the clear errors bad values get."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.store import ConnectionBudget
from api.config import (
    MINIMUM_POOL_SIZE,
    ConfigError,
    ProviderLimits,
    load_settings,
    parse_provider_limits,
)


def test_no_configuration_means_embedded(tmp_path: Path) -> None:
    settings = load_settings({"SCENESTATE_DATA_DIR": str(tmp_path)})
    assert settings.embedded and settings.nats_url is None
    assert settings.database_url.endswith(f"{tmp_path}/scenestate.db")


def test_provider_limits_parse() -> None:
    assert parse_provider_limits("replicate=2/1.5, local=4") == {
        "replicate": ProviderLimits(2, 1.5),
        "local": ProviderLimits(4, 0.0),
    }


@pytest.mark.parametrize("text", ["replicate", "replicate=0", "x=two", "=3", "a=1/-2"])
def test_bad_provider_limits_name_the_variable(text: str) -> None:
    with pytest.raises(ConfigError, match="SCENESTATE_PROVIDER_LIMITS"):
        parse_provider_limits(text)


def test_a_bad_number_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="SCENESTATE_SNAPSHOT_EVERY"):
        load_settings({"SCENESTATE_SNAPSHOT_EVERY": "often"})


@pytest.mark.parametrize(
    "url", ["garbage", "mysql://x/y", "postgresql://", "mysql://ana:s3cret@db/x"]
)
def test_a_database_url_no_store_opens_names_the_variable(url: str) -> None:
    with pytest.raises(ConfigError, match="SCENESTATE_DATABASE_URL") as refused:
        load_settings({"SCENESTATE_DATABASE_URL": url})
    assert "s3cret" not in str(refused.value)


def test_bus_settings_come_from_the_environment() -> None:
    bus = load_settings(
        {
            "SCENESTATE_BUS_PREFIX": "studio_a",
            "SCENESTATE_ACK_WAIT": "12",
            "SCENESTATE_MAX_DELIVER": "3",
            "SCENESTATE_DUPLICATE_WINDOW": "60",
        }
    ).bus
    assert (bus.prefix, bus.ack_wait, bus.max_deliver, bus.duplicate_window) == (
        "studio_a",
        12,
        3,
        60,
    )
    assert bus.heartbeat == 4.0  # a third of the ack wait, so two heartbeats may be lost
    assert bus.options(jetstream=False) == {
        "ack_wait": 12,
        "max_deliver": 3,
        "duplicate_window": 60,
    }


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"SCENESTATE_BUS_PREFIX": "a.b"}, "SCENESTATE_BUS_PREFIX"),
        ({"SCENESTATE_ACK_WAIT": "0.2"}, "SCENESTATE_ACK_WAIT"),
        ({"SCENESTATE_ACK_WAIT": "soon"}, "SCENESTATE_ACK_WAIT"),
        ({"SCENESTATE_ACK_WAIT": "10", "SCENESTATE_HEARTBEAT": "10"}, "SCENESTATE_HEARTBEAT"),
        ({"SCENESTATE_MAX_DELIVER": "0"}, "SCENESTATE_MAX_DELIVER"),
        ({"SCENESTATE_DUPLICATE_WINDOW": "0.05"}, "SCENESTATE_DUPLICATE_WINDOW"),
        ({"SCENESTATE_HEARTBEAT": "nan"}, "SCENESTATE_HEARTBEAT"),
    ],
)
def test_bad_bus_settings_name_the_variable(env: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        load_settings(env)


def test_hosted_provider_keys_are_kept_but_never_shown() -> None:
    settings = load_settings({"REPLICATE_API_TOKEN": "r8_do_not_print", "PATH": "/bin"})
    assert settings.hosted == {"REPLICATE_API_TOKEN": "r8_do_not_print"}
    assert "r8_do_not_print" not in repr(settings)


def test_artifacts_in_nats_need_a_nats_url() -> None:
    assert load_settings({}).artifact_store == "filesystem"
    with pytest.raises(ConfigError, match="SCENESTATE_NATS_URL"):
        load_settings({"SCENESTATE_ARTIFACTS": "nats"})
    with pytest.raises(ConfigError, match="SCENESTATE_ARTIFACTS"):
        load_settings({"SCENESTATE_ARTIFACTS": "s3"})
    on_nats = {"SCENESTATE_ARTIFACTS": "nats", "SCENESTATE_NATS_URL": "nats://127.0.0.1:4222"}
    assert load_settings(on_nats).artifact_store == "nats"


def test_settings_keep_every_variable_the_hosted_providers_read() -> None:
    from adapters.operations.hosted import ORDER_VARIABLE
    from adapters.providers.hosted.keys import KEY_VARIABLES, PRICE_VARIABLES, URL_VARIABLES

    read = {*KEY_VARIABLES.values(), *URL_VARIABLES.values(), *PRICE_VARIABLES.values()}
    env = {name: "x" for name in {*read, ORDER_VARIABLE}}
    assert load_settings(env).hosted == env


def test_the_database_pool_size_is_a_whole_number_of_connections_a_budget_can_share() -> None:
    assert load_settings({}).database_pool_size == ConnectionBudget.of().total == 20
    assert load_settings({"SCENESTATE_DATABASE_POOL_SIZE": "9"}).database_pool_size == 9
    assert ConnectionBudget.of(MINIMUM_POOL_SIZE).total == MINIMUM_POOL_SIZE
    for text, said in (("5", "at least 6"), ("many", "not a whole number")):
        with pytest.raises(ConfigError, match=f"SCENESTATE_DATABASE_POOL_SIZE.*{said}"):
            load_settings({"SCENESTATE_DATABASE_POOL_SIZE": text})


@pytest.mark.parametrize("total", [6, 7, 13, 20, 21, 64, 100])
def test_a_budget_gives_every_pool_a_connection_and_spends_exactly_its_total(total: int) -> None:
    budget = ConnectionBudget.of(total)
    assert budget.total == total
    assert min(budget.writes, budget.reads, budget.tenancy, budget.read_models) >= 1
    assert budget.committers >= 1 and budget.listener == 1
    with pytest.raises(ValueError, match="at least 6"):
        ConnectionBudget.of(MINIMUM_POOL_SIZE - 1)
