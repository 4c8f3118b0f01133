"""Configuration, read once from the environment (prefix SCENESTATE_) and passed in.

With nothing set, everything runs embedded: a SQLite file under the data
directory and the in-process bus.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    nats_url: str | None
    snapshot_every: int = 200

    @property
    def embedded(self) -> bool:
        return self.database_url.startswith("sqlite")


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    data_dir = Path(env.get("SCENESTATE_DATA_DIR", ".scenestate")).expanduser()
    database_url = env.get("SCENESTATE_DATABASE_URL") or (
        f"sqlite+aiosqlite:///{(data_dir / 'scenestate.db').resolve()}"
    )
    snapshot_every = int(env.get("SCENESTATE_SNAPSHOT_EVERY", "200"))
    return Settings(
        data_dir=data_dir,
        database_url=database_url,
        nats_url=env.get("SCENESTATE_NATS_URL") or None,
        snapshot_every=snapshot_every,
    )
