"""What an intent costs the database, as a law: on a scene the process has seen, each
kind of intent runs a fixed, small number of SQL statements, the same after 10 and
after 400 versions of history. A new per-intent lookup (a query planning makes for
every intent, say) shows here as a changed count, not months later as a slower
benchmark; raise a budget only knowing why.

Counted on SQLite, where every statement of every connection in the process passes
one trace callback: the event store's writer, the tenancy store and the read models.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from api.bootstrap import open_services
from api.config import load_settings
from api.services import Caller, Services
from api.services.intake import submit

CALLER = Caller("local", "ana")
INTENTS = 20  # measured per kind, after each history length
HISTORIES = (10, 400)

# statements per intent: BEGIN, the idempotency record, the version check, the
# events, the append record, COMMIT; planning adds the work cache's lookup, a task
# its events. Model choices are not asked per intent (api.services.chosen_models).
BUDGETS: dict[str, tuple[dict[str, Any], int]] = {
    "set_property": (
        {"name": "set_property", "node": "sh", "prop": "title", "value": "a title"},
        8,
    ),
    "diagnose": ({"name": "diagnose", "count": 1, "operation": "echo"}, 10),
}
# A snapshot falls due every few hundred versions and costs a few statements once.
SNAPSHOT_SHARE = 0.5


class Statements:
    def __init__(self) -> None:
        self.seen: Counter[str] = Counter()

    def __call__(self, sql: str) -> None:
        self.seen[sql.split(maxsplit=1)[0].upper() if sql.strip() else "?"] += 1

    def take(self) -> Counter[str]:
        seen, self.seen = self.seen, Counter()
        return seen


@pytest.fixture
def statements(monkeypatch: pytest.MonkeyPatch) -> Iterator[Statements]:
    traced = Statements()
    connect = sqlite3.connect

    def traced_connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        connection: sqlite3.Connection = connect(*args, **kwargs)
        connection.set_trace_callback(traced)
        return connection

    monkeypatch.setattr(sqlite3, "connect", traced_connect)
    yield traced


async def act(services: Services, action: dict[str, Any]) -> None:
    await submit(services, CALLER, {"scene": "s", "kind": "structured_action", "action": action})


@pytest.mark.parametrize("kind", sorted(BUDGETS))
async def test_an_intent_costs_the_same_few_statements_however_long_the_history(
    kind: str, statements: Statements, tmp_path: Path
) -> None:
    action, budget = BUDGETS[kind]
    settings = load_settings({"SCENESTATE_DATA_DIR": str(tmp_path)})
    async with open_services(settings) as services:
        await act(services, {"name": "create_scene"})
        await act(services, {"name": "add_node", "kind": "shot", "node": "sh", "parent": "root"})
        per_intent = []
        for history in HISTORIES:
            while (await services.scenes.load("s")).version < history:
                await act(services, {**BUDGETS["set_property"][0], "value": "filler"})
            statements.take()
            for _ in range(INTENTS):
                await act(services, action)
            seen = statements.take()
            per_intent.append(sum(seen.values()) / INTENTS)
            assert per_intent[-1] <= budget + SNAPSHOT_SHARE, (history, dict(seen))
        assert max(per_intent) - min(per_intent) <= SNAPSHOT_SHARE, per_intent
