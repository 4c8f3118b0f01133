"""The migrations package's declared head is the one Alembic computes."""

from __future__ import annotations

from alembic.config import Config
from alembic.script import ScriptDirectory

import migrations
from adapters.store._migrate import MIGRATIONS_DIR


def test_declared_head_is_alembics_head() -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    assert ScriptDirectory.from_config(config).get_current_head() == migrations.HEAD
