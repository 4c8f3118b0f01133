"""Configuration from the environment, and the clear errors bad values get."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.config import ConfigError, ProviderLimits, load_settings, parse_provider_limits


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
