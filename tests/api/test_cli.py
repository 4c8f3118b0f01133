"""The `scenestate` command line driven end to end, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import subprocess
import uuid

import pytest

from adapters.bus import JetStreamTaskBus
from tests.api.conftest import SCENESTATE, Cli


def intent(cli: Cli, body: dict[str, object], ok: bool = True) -> str:
    run = cli("intent", "-", "--actor", "ana", input=json.dumps(body), ok=ok)
    return run.stdout + run.stderr


def action(scene: str, name: str, branch: str = "main", **args: object) -> dict[str, object]:
    return {
        "kind": "structured_action",
        "scene": scene,
        "branch": branch,
        "action": {"name": name, **args},
    }


def test_intents_show_and_history(cli: Cli) -> None:
    cli("migrate")
    assert "accepted intent" in intent(cli, action("promo", "create_scene", title="Teaser"))
    intent(
        cli,
        action(
            "promo",
            "add_node",
            kind="shot",
            node="shot-1",
            props={"title": "Opening", "duration": 4},
        ),
    )
    intent(
        cli,
        {
            "kind": "direct_edit",
            "scene": "promo",
            "node": "shot-1",
            "prop": "duration",
            "value": 6.5,
        },
    )
    intent(cli, {"kind": "text_prompt", "scene": "promo", "text": "make it punchier"})
    shown = cli("show", "promo").stdout
    assert "shot shot-1" in shown and "duration = 6.5" in shown
    assert "by ana via intake.direct_edit@1" in shown
    early = cli("show", "promo", "--version", "4").stdout
    assert "duration = 4.0" in early and "6.5" not in early
    state = json.loads(cli("show", "promo", "--json").stdout)
    assert state["nodes"]["shot-1"]["props"]["duration"][0] == 6.5
    log = cli("history", "promo").stdout
    assert "PropertySet" in log and "NodeAdded" in log and "intake.text_prompt@1" in log


def test_bad_input_is_refused_with_the_field_and_nothing_changes(cli: Cli) -> None:
    intent(cli, action("promo", "create_scene", title="Promo"))
    before = cli("history", "promo").stdout
    out = intent(cli, action("promo", "set_property", node="root", prop="fps", value=999), ok=False)
    assert "action.value" in out and "above the maximum" in out
    out = intent(
        cli, action("promo", "set_property", node="ghost", prop="title", value="x"), ok=False
    )
    assert "no node 'ghost'" in out
    run = cli("intent", "-", input="{not json", ok=False)
    assert run.returncode == 2 and "not valid JSON" in run.stderr
    run = cli("show", "nowhere", ok=False)
    assert run.returncode == 4 and "no scene 'nowhere'" in run.stderr
    run = cli("history", "promo", "--branch", "nosuch", ok=False)
    assert run.returncode == 4
    assert "scene 'promo' has no branch 'nosuch' (its branches: main)" in run.stderr
    assert cli("history", "promo").stdout == before


def test_idempotency_key_appends_once(cli: Cli) -> None:
    body = {"kind": "text_prompt", "scene": "promo", "text": "hi", "idempotency_key": "k-1"}
    first, second = intent(cli, body), intent(cli, body)
    assert "repeat: nothing new appended" in second
    assert re.findall(r"execution (\S+);", first) == re.findall(r"execution (\S+);", second)


def test_branch_merge_conflicts_resolve_and_diff(cli: Cli) -> None:
    intent(cli, action("film", "create_scene", title="Film"))
    for n in (1, 2):
        intent(
            cli,
            action("film", "add_node", kind="shot", node=f"shot-{n}", props={"title": f"Shot {n}"}),
        )
    assert "starts at main@" in cli("branch", "film", "alt").stdout
    intent(cli, action("film", "set_property", "alt", node="shot-1", prop="title", value="Storm"))
    intent(cli, action("film", "set_property", "alt", node="shot-2", prop="title", value="Calm"))
    intent(cli, action("film", "set_property", node="shot-1", prop="title", value="Dawn"))
    listed = cli("branches", "film").stdout
    assert "alt" in listed and "main@" in listed
    diff = cli("diff", "film", "main", "alt").stdout
    assert "prop:title" in diff and "'Storm'" in diff
    merged = cli("merge", "film", "alt").stdout
    assert "1 conflict" in merged and "1 conflicts" not in merged
    table = cli("conflicts", "film").stdout
    conflict_id = re.search(r"(c-[0-9a-f]{12})", table)
    assert conflict_id is not None and "'Dawn'" in table and "'Storm'" in table
    run = cli("merge", "film", "ghost", ok=False)
    assert run.returncode == 4 and "ghost" in run.stderr
    cli("resolve", "film", conflict_id.group(1), "--theirs")
    assert "no open conflicts" in cli("conflicts", "film").stdout
    shown = cli("show", "film").stdout
    assert "title = 'Storm'" in shown and "title = 'Calm'" in shown
    assert "Merge" in cli("history", "film").stdout


def test_a_diagnostic_execution_runs_and_reports_its_tasks(cli: Cli) -> None:
    intent(cli, action("ops", "create_scene", title="Ops"))
    body = action("ops", "diagnose", count=4, operation="echo")
    run = cli("intent", "-", "--wait", input=json.dumps(body))
    assert "4 of 4 tasks done" in run.stdout
    listed = cli("executions", "ops").stdout
    execution = re.search(r"accepted intent \S+ → execution\s+(\S+);", run.stdout)
    assert execution is not None and "succeeded" in listed
    shown = cli("execution", "ops", execution.group(1)).stdout
    assert "diagnostic echo 1 of 4" in shown and "succeeded" in shown
    run = cli("execution", "ops", "no-such-execution", ok=False)
    assert run.returncode == 4 and "no execution" in run.stderr


def test_a_worker_needs_nats(cli: Cli) -> None:
    run = cli("worker", ok=False)
    assert run.returncode == 6 and "SCENESTATE_NATS_URL" in run.stderr


def test_an_idempotency_key_answers_once_and_refuses_another_intent(cli: Cli) -> None:
    cli("migrate")
    intent(cli, action("promo", "create_scene"))
    keyed = {**action("promo", "add_node", kind="shot"), "idempotency_key": "add-1"}
    first = intent(cli, keyed)
    again = intent(cli, keyed)
    assert "accepted intent" in first and "repeat: nothing new appended" in again
    assert _intent_id(again) == _intent_id(first)
    other = {**action("promo", "add_node", kind="clip"), "idempotency_key": "add-1"}
    refused = cli("intent", "-", input=json.dumps(other), ok=False)
    assert refused.returncode == 2
    assert "first used for an intent for promo@main with a different body" in refused.stderr
    shots = [line for line in cli("history", "promo").stdout.splitlines() if "NodeAdded" in line]
    assert len(shots) == 1


def _intent_id(output: str) -> str:
    return output.split("accepted intent", 1)[1].split()[0]


def test_ids_can_be_pasted_back_whole_or_by_a_unique_start(cli: Cli) -> None:
    intent(cli, action("ops", "create_scene", title="Ops"))
    assert "→ execution" not in intent(cli, action("ops", "add_node", kind="shot"))
    ran = cli("intent", "-", "--wait", input=json.dumps(action("ops", "diagnose", count=2)))
    execution = _execution(ran.stdout)
    narrow = {**cli.env, "COLUMNS": "80"}
    listed = Cli(narrow, cli.cwd)("executions", "ops").stdout
    assert execution in listed  # whole on one line, even in 80 columns
    shown = cli("execution", "ops", execution[:8]).stdout
    assert "2 of 2 tasks done" in shown
    missing = cli("execution", "ops", "ffffffff", ok=False)
    assert missing.returncode == 4


def test_a_time_history_prints_finds_the_scene_as_of_it(cli: Cli) -> None:
    intent(cli, action("promo", "create_scene", title="Promo"))
    intent(cli, action("promo", "set_property", node="root", prop="title", value="Later"))
    log = cli("history", "promo").stdout
    printed = re.findall(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", log)
    assert printed
    shown = cli("show", "promo", "--as-of", printed[-1]).stdout
    assert "Later" in shown


def _execution(output: str) -> str:
    found = re.search(r"→ execution (\S+);", output)
    assert found is not None, output
    return found.group(1)


def test_waiting_on_a_lane_no_worker_serves_says_so(cli: Cli, nats_url: str) -> None:
    """On NATS with no `run` or `worker` process, `--wait` does not wait in silence."""
    prefix = _prefix()
    env = {**cli.env, "SCENESTATE_NATS_URL": nats_url, "SCENESTATE_BUS_PREFIX": prefix}
    with_nats = Cli(env, cli.cwd)
    intent(with_nats, action("ops", "create_scene"))
    waiting = subprocess.Popen(
        [str(SCENESTATE), "intent", "-", "--wait"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=cli.cwd,
    )
    assert waiting.stdin is not None and waiting.stderr is not None
    waiting.stdin.write(json.dumps(action("ops", "diagnose", count=1)))
    waiting.stdin.close()
    try:
        said = waiting.stderr.readline()  # the first line it writes is the hint
    finally:
        waiting.send_signal(signal.SIGINT)
        waiting.wait(30)
        asyncio.run(JetStreamTaskBus(nats_url, prefix=prefix).close(delete=True))
    assert "no worker is serving lane interactive" in said, said
    assert "scenestate run" in said and "scenestate worker" in said


def _prefix() -> str:
    return f"cli{uuid.uuid4().hex[:8]}"


def test_a_studio_chooses_its_models_at_the_command_line(cli: Cli) -> None:
    chose = cli(
        "model", "text", "llama-3-8b-instruct", "--provider", "replicate", "--studio", "acme"
    )
    assert "replicate" in chose.stdout
    listed = cli("models", "--studio", "acme").stdout
    assert re.search(r"text\s+│\s+llama-3-8b-instruct\s+│\s+replicate\s+│\s+yes", listed), listed
    refused = cli("model", "text", "gpt-9", "--provider", "fal", "--studio", "acme", ok=False)
    assert refused.returncode == 2 and "fal offers no text model 'gpt-9'" in refused.stderr
    for neither_or_both in ((), ("llama-3-8b-instruct", "--local")):
        unsure = cli("model", "text", *neither_or_both, "--studio", "acme", ok=False)
        assert unsure.returncode == 2 and "--local" in unsure.stderr, unsure.stderr
    assert "replicate" in cli("models", "--studio", "acme").stdout  # still the choice
    back = cli("model", "text", "--local", "--studio", "acme").stdout
    assert re.search(r"text\s+│\s+local-copy-1\s+│\s+local\s+│\s+│", back), back


def test_what_users_wrote_is_printed_as_written(cli: Cli) -> None:
    """Titles, ids and settings that look like console markup are shown as they are,
    never read as styling, and an unbalanced tag is no traceback; piped tables keep
    every id and time on one line."""
    title = "[bold]Dusk[/y] & [red]"
    scene = {"scene": "odd", "kind": "structured_action"}
    create = {**scene, "action": {"name": "create_scene", "title": title}}
    cli("intent", "-", input=json.dumps(create))
    assert title in cli("show", "odd").stdout
    missing = cli("lineage", "[bold]abcdef", ok=False)
    assert missing.returncode == 4 and "'[bold]abcdef'" in missing.stderr, missing.stderr
    odd_limits = Cli({**cli.env, "SCENESTATE_PROVIDER_LIMITS": "zzz[/x]"}, cli.cwd)
    limits = odd_limits("show", "odd", ok=False)
    assert limits.returncode == 6 and "Traceback" not in limits.stderr, limits.stderr
    assert "SCENESTATE_PROVIDER_LIMITS" in limits.stderr
    history = cli("history", "odd").stdout.splitlines()
    rows = [line for line in history if line.startswith("│")]
    assert rows and all(re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", row) for row in rows)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the embedded pipeline
async def test_an_interrupted_wait_is_finished_by_the_next_one(cli: Cli) -> None:
    """Ctrl-C on `intent --wait` leaves its execution unfinished (the in-process bus
    lost its tasks with the process); the next `--wait` on the scene finishes it too,
    saying so, and a failed one's headline counts what failed."""
    intent(cli, action("ops", "create_scene"))
    slow = action(
        "ops", "diagnose", count=4, chain=True, operation="sleep", params={"seconds": 0.4}
    )
    first = await asyncio.create_subprocess_exec(
        str(SCENESTATE), "intent", "-", "--wait", env=cli.env, cwd=cli.cwd,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert first.stdin is not None
    first.stdin.write(json.dumps(slow).encode())
    first.stdin.close()
    line = await asyncio.wait_for(first.stdout.readline(), 60)  # type: ignore[union-attr]
    execution = _execution(line.decode())
    async with asyncio.timeout(60):  # one task done: interrupt the rest
        while "1 of 4" not in cli("execution", "ops", execution).stdout:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
    first.send_signal(signal.SIGINT)
    await asyncio.wait_for(first.communicate(), 60)
    assert first.returncode == 130
    again = cli("intent", "-", "--wait", input=json.dumps(action("ops", "diagnose", count=1)))
    assert f"finishing execution {execution}" in again.stdout, again.stdout
    assert "4 of 4 tasks done" in cli("execution", "ops", execution).stdout
    failing = action("ops", "diagnose", count=1, operation="fail", params={"kind": "invalid_input"})
    failed = cli("intent", "-", "--wait", input=json.dumps(failing), ok=False)
    assert "0 of 1 tasks succeeded, 1 failed" in failed.stdout + failed.stderr, failed
