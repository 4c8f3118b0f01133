"""The projection commands driven end to end through the real `scenestate` command, on
SQLite and on PostgreSQL: history filters, show --as-of, lineage, views, projections
and rebuild. Commands that do not depend on each other run at once (each one also
catches the read models up, so they double as concurrent runners)."""

from __future__ import annotations

import json
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from tests.api.conftest import Cli


def intent(cli: Cli, action: dict[str, object], *extra: str) -> str:
    body = {"kind": "structured_action", "scene": "ops", "action": action}
    return cli("intent", "-", "--actor", "ana", *extra, input=json.dumps(body)).stdout


def at_once(cli: Cli, *commands: tuple[str, ...]) -> list[subprocess.CompletedProcess[str]]:
    """Run the commands side by side; each may fail (the caller checks)."""
    with ThreadPoolExecutor(len(commands)) as pool:
        return list(pool.map(lambda args: cli(*args, ok=False), commands))


def test_queries_views_and_rebuild_through_the_cli(cli: Cli) -> None:
    intent(cli, {"name": "create_scene", "title": "Ops"})
    shot = {"title": "Opening", "prompt": "a harbour at dawn", "duration": 2}
    intent(cli, {"name": "add_node", "kind": "shot", "node": "shot-1", "props": shot})
    between = datetime.now(UTC).isoformat()
    ran = intent(cli, {"name": "diagnose", "count": 2, "chain": True}, "--wait")
    assert "2 of 2 tasks done" in ran
    execution = re.search(r"→ execution (\S+);", ran)
    assert execution is not None

    log, before, shown, draft, production = (
        run.stdout
        for run in at_once(
            cli,
            ("history", "ops", "--node", "shot-1", "--actor", "ana"),
            ("show", "ops", "--as-of", between),
            ("show", "ops", "--json"),
            ("view", "ops"),
            ("view", "ops", "--fidelity", "production", "--json"),
        )
    )
    assert "NodeAdded" in log and "TaskPlanned" not in log and "SceneCreated" not in log
    assert "shot shot-1" in before and "diagnose" not in before
    assert "shot-1" in draft and "Opening" in draft and "0 tasks pending" in draft
    made = json.loads(production)
    assert made["status"] == "not_rendered" and made["output"] is None
    assert {g["status"] for g in made["missing"]} == {"not planned"}

    assert not json.loads(shown)["executions"]  # finished: only its record remains
    finished = json.loads(cli("execution", "ops", execution.group(1), "--json").stdout)
    last = max(finished["tasks"], key=lambda t: t["params"]["n"])
    traced, refused = at_once(
        cli, ("lineage", last["artifact"]), ("show", "ops", "--as-of", "yesterday")
    )
    assert traced.stdout.count("made by task") == 2 and "echo · model diagnostic" in traced.stdout
    assert '"name":"diagnose"' in traced.stdout and execution.group(1) in traced.stdout
    assert refused.returncode == 2 and "nor an ISO 8601 time" in refused.stderr

    rebuilt = cli("projections", "rebuild", "lineage").stdout
    assert "projection lineage rebuilt as generation 2 up to" in rebuilt
    listed = json.loads(cli("projections", "--json").stdout)
    assert [(p["name"], p["active"], p["lag"]) for p in listed] == [
        ("history", 1, 0),
        ("lineage", 2, 0),
        ("executions", 1, 0),
    ]
