"""Configuration, read once from the environment (prefix SCENESTATE_) and passed in.

With nothing set, everything runs embedded: a SQLite file under the data
directory and the in-process bus.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from engine.errors import ScenestateError


class ConfigError(ScenestateError, ValueError):
    """A SCENESTATE_ variable that cannot be understood; the message names it."""


@dataclass(frozen=True)
class ProviderLimits:
    concurrency: int
    per_second: float = 0.0


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    nats_url: str | None
    snapshot_every: int = 200
    provider_limits: dict[str, ProviderLimits] = field(default_factory=dict)

    @property
    def embedded(self) -> bool:
        return self.database_url.startswith("sqlite")


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    data_dir = Path(env.get("SCENESTATE_DATA_DIR", ".scenestate")).expanduser()
    database_url = env.get("SCENESTATE_DATABASE_URL") or (
        f"sqlite+aiosqlite:///{(data_dir / 'scenestate.db').resolve()}"
    )
    snapshot_every = _integer(env, "SCENESTATE_SNAPSHOT_EVERY", "200")
    return Settings(
        data_dir=data_dir,
        database_url=database_url,
        nats_url=env.get("SCENESTATE_NATS_URL") or None,
        snapshot_every=snapshot_every,
        provider_limits=parse_provider_limits(env.get("SCENESTATE_PROVIDER_LIMITS", "")),
    )


def _integer(env: Mapping[str, str], name: str, default: str) -> int:
    text = env.get(name, default)
    try:
        return int(text)
    except ValueError:
        raise ConfigError(f"{name}={text!r} is not a whole number") from None


def parse_provider_limits(text: str) -> dict[str, ProviderLimits]:
    """`replicate=2/1.5,local=4`: at most 2 calls at once and 1.5 a second to
    replicate, 4 at once to local (SCENESTATE_PROVIDER_LIMITS)."""
    limits: dict[str, ProviderLimits] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, _, spec = item.partition("=")
        concurrency, _, rate = spec.partition("/")
        try:
            limit = ProviderLimits(int(concurrency), float(rate) if rate else 0.0)
        except ValueError:
            limit = ProviderLimits(0)
        if not name or limit.concurrency < 1 or limit.per_second < 0:
            raise ConfigError(
                f"SCENESTATE_PROVIDER_LIMITS: {item!r} is not PROVIDER=CONCURRENCY[/PER_SECOND]"
            )
        limits[name] = limit
    return limits
