"""The real clock and id source behind the engine's `Clock` and `IdSource` ports."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class RandomIds:
    def new_id(self) -> str:
        return str(uuid.uuid4())
