"""The inspector in a real browser, as a studio's people use it: sign in, make a scene
from a prompt and watch it get made, live through a server restart, resolve a merge
conflict, follow the film back to the prompt, and a page of another site refused.
Each main page is kept as a screenshot."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser.conftest import OtherOrigin, Server, sign_in, wait_until

PROMPT = "A 3-shot film about a lighthouse keeper, with narration and captions"
TEASER = "A 2-shot film about a fox in the snow, with narration and captions"
SMALL = (("width", 320), ("height", 180), ("fps", 12))


def action(name: str, branch: str = "main", **fields: Any) -> dict[str, Any]:
    return {"kind": "structured_action", "branch": branch, "action": {"name": name, **fields}}


@pytest.fixture(scope="module")
def film(server: Server) -> Iterator[dict[str, Any]]:
    """A finished film made through the API (the smallest format the demo tests use)."""
    server.api("POST", "/scenes", json={"id": "lighthouse", "title": "The keeper"})
    for prop, value in SMALL:
        step = action("set_property", node="root", prop=prop, value=value)
        server.api("POST", "/scenes/lighthouse/intents", json=step)
    made = server.api(
        "POST", "/scenes/lighthouse/intents", json={"kind": "text_prompt", "text": PROMPT}
    )
    finished = server.finished("lighthouse", made["execution_id"])
    assert finished["status"] == "succeeded", finished["headline"]
    yield made


def shoot(page: Any, folder: Path, name: str, whole: bool = True) -> None:
    page.screenshot(path=str(folder / f"{name}.png"), full_page=whole)


def test_sign_in_refuses_a_wrong_key_and_keeps_the_right_one_in_the_tab(
    page: Any, server: Server, screenshots: Path
) -> None:
    page.goto(f"{server.url}/studio")
    shoot(page, screenshots, "sign-in")
    page.get_by_label("Studio API key").fill("ssk_0000000000000000_wrong")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("alert").filter(has_text="refused").wait_for()
    page.get_by_label("Studio API key").fill(server.key)
    page.keyboard.press("Enter")  # the form works from the keyboard
    page.locator("#studio-name").filter(has_text="acme").wait_for()
    page.get_by_role("heading", name="Scenes", exact=True).wait_for()
    assert page.evaluate("sessionStorage.getItem('scenestate.key')") == server.key
    assert server.key not in page.url


def test_a_scene_from_a_prompt_is_watched_until_done_without_reloading(
    page: Any, server: Server, screenshots: Path
) -> None:
    sign_in(page, server)
    page.evaluate("window.notReloaded = true")
    page.get_by_label("Scene id").fill("teaser")
    page.get_by_label("Title").fill("Teaser")
    page.get_by_label("Picture format").select_option("320x180@12")
    page.get_by_label("Prompt (optional)").fill(TEASER)
    page.get_by_role("button", name="Create scene").click()
    page.wait_for_url(re.compile(r"#/s/teaser/executions/"))
    status = page.locator("#execution-status")
    status.filter(has_text="succeeded").wait_for()
    counts = page.locator("#execution-counts").inner_text()
    done, total = map(int, re.findall(r"\d+", counts))
    assert done == total > 0
    assert page.evaluate("window.notReloaded") is True
    page.locator(".task-chart").wait_for()
    shoot(page, screenshots, "execution")

    page.get_by_role("link", name="Tree").click()
    page.locator("details.node").first.wait_for()
    page.locator("details[data-node='shot-1'] summary").click()
    page.get_by_role("link", name=re.compile("^intent ")).first.wait_for()
    shoot(page, screenshots, "tree")
    page.get_by_role("link", name="History").click()
    page.locator("table.history tbody tr").first.wait_for()
    shoot(page, screenshots, "history", whole=False)  # the first screenful of a long log
    page.get_by_role("link", name="scene as of version 10", exact=True).click()
    page.get_by_role("heading", name=re.compile("tree · main @ v10")).wait_for()


def test_the_films_lineage_is_drawn_back_to_the_prompt(
    page: Any, server: Server, film: dict[str, Any], screenshots: Path
) -> None:
    sign_in(page, server)
    page.goto(f"{server.url}/studio#/s/lighthouse/timeline")
    production = page.get_by_label("Production render")
    wait_until(lambda: production.get_attribute("src"), "the production player's source")
    assert "token=sst_" in (production.get_attribute("src") or "")
    # polled from here: the page's CSP forbids the eval that wait_for_function needs
    wait_until(lambda: production.evaluate("video => video.readyState") >= 2, "a first frame")
    page.locator(".thumb img").first.wait_for()
    shoot(page, screenshots, "timeline")
    page.get_by_role("link", name="Lineage of this render").click()
    page.locator("svg.lineage-graph").wait_for()
    assert page.locator(".intent-link").first.inner_text() == f"“{PROMPT}”"
    graph = page.locator("svg.lineage-graph")
    for operation in ("text_to_image", "image_to_video", "encode"):
        assert graph.get_by_text(operation).count() >= 1, operation
    shoot(page, screenshots, "lineage")
    page.locator(".intent-link").first.click()
    page.get_by_role("heading", name=re.compile("^Intent")).wait_for()
    assert PROMPT in page.locator(".asked").inner_text()


def test_the_draft_timeline_follows_the_scene_live(
    page: Any, server: Server, film: dict[str, Any]
) -> None:
    sign_in(page, server)
    page.goto(f"{server.url}/studio#/s/lighthouse/timeline")
    page.locator(".live", has_text="live").wait_for()
    page.evaluate("window.notReloaded = true")
    edit = action("set_property", node="shot-3", prop="title", value="Morning")
    server.api("POST", "/scenes/lighthouse/intents", json=edit)
    page.locator(".shot strong", has_text="3. Morning").wait_for()
    assert page.evaluate("window.notReloaded") is True


def test_the_page_resumes_a_live_execution_across_a_server_restart(
    page: Any, server: Server
) -> None:
    server.api("POST", "/scenes", json={"id": "ops"})
    sign_in(page, server)  # first, so that the work below is still running when it shows
    work = action("diagnose", count=10, operation="sleep", params={"seconds": 0.5}, chain=True)
    started = server.api("POST", "/scenes/ops/intents", json=work)
    execution = started["execution_id"]
    page.goto(f"{server.url}/studio#/s/ops/executions/{execution}")
    seen = page.locator(".event-log li")
    wait_until(
        lambda: page.locator(".event-log li", has_text="TaskSucceeded").count() >= 1,
        "a first task to finish in the page",
    )
    server.kill()
    page.locator(".live", has_text="reconnecting").wait_for()
    before = seen.count()
    server.start()
    page.locator("#execution-status").filter(has_text="succeeded").wait_for()
    shown = [int(p) for p in seen.evaluate_all("items => items.map(i => i.dataset.position)")]
    assert len(shown) > before
    assert shown == sorted(set(shown)), "the page repeated or reordered an event"
    expected = _execution_positions(server, "ops", execution)
    assert shown == expected, "the page missed events the stream holds"


def _execution_positions(server: Server, scene: str, execution: str) -> list[int]:
    url = f"{server.url}/scenes/{scene}/executions/{execution}/events?until=finished"
    headers = {"Authorization": f"Bearer {server.key}"}
    positions = []
    with httpx.stream("GET", url, headers=headers, timeout=30) as answer:
        for line in answer.iter_lines():
            if line.startswith("id: "):
                positions.append(int(line[4:]))
    return positions


def test_a_conflict_resolved_in_the_page_leaves_none_for_the_cli(
    page: Any, server: Server, screenshots: Path
) -> None:
    server.api("POST", "/scenes", json={"id": "promo", "title": "Promo"})
    add = action("add_node", kind="shot", node="s1", props={"title": "Dawn"})
    server.api("POST", "/scenes/promo/intents", json=add)
    server.api("POST", "/scenes/promo/branches", json={"name": "storm"})
    for branch, title in (("main", "Noon"), ("storm", "Dusk")):
        edit = action("set_property", branch, node="s1", prop="title", value=title)
        server.api("POST", "/scenes/promo/intents", json=edit)
    server.api("POST", "/scenes/promo/merges", json={"source": "storm", "into": "main"})
    assert "s1" in server.cli("conflicts", "promo").stdout

    sign_in(page, server)
    page.locator(".scene-link", has_text="promo").wait_for()
    shoot(page, screenshots, "scenes")
    page.goto(f"{server.url}/studio#/s/promo/branches")
    page.locator("svg.branch-graph").wait_for()
    page.get_by_role("button", name="Show differences").click()
    page.get_by_role("cell", name="Dusk").wait_for()
    shoot(page, screenshots, "branches")
    page.get_by_role("button", name="take theirs for s1 prop:title").focus()
    page.keyboard.press("Enter")  # a person at the keyboard resolves it the same way
    page.get_by_text("No open conflicts on main").wait_for()
    assert "promo@main has no open conflicts" in server.cli("conflicts", "promo").stdout
    title = server.api("GET", "/scenes/promo")["nodes"][1]["props"]["title"]["value"]
    assert title == "Dusk"


def test_a_page_of_a_site_not_on_the_allow_list_is_refused(
    page: Any, server: Server, page_origin: OtherOrigin
) -> None:
    ask = """async ([url, key]) => {
        try {
            const answer = await fetch(url, {headers: {Authorization: `Bearer ${key}`}});
            return (await answer.json()).studio;
        } catch (error) { return `refused: ${error.name}`; }
    }"""
    page.goto(f"{page_origin.allowed}/index.html")
    assert page.evaluate(ask, [f"{server.url}/me", server.key]) == "acme"
    page.goto(f"{page_origin.refused}/index.html")
    assert page.evaluate(ask, [f"{server.url}/me", server.key]) == "refused: TypeError"


def test_a_failed_task_shows_its_reason_and_is_retried_in_place_from_the_page(
    page: Any, server: Server
) -> None:
    server.api("POST", "/scenes", json={"id": "flaky"})
    failing = action(
        "diagnose",
        count=1,
        operation="fail",
        params={"kind": "invalid_input", "succeed_from_attempt": 2},
    )
    execution = server.api("POST", "/scenes/flaky/intents", json=failing)["execution_id"]
    assert server.finished("flaky", execution)["status"] == "failed"
    sign_in(page, server)
    page.goto(f"{server.url}/studio#/s/flaky/executions/{execution}")
    page.locator("#execution-status").filter(has_text="failed").wait_for()
    row = page.locator("table.tasks tbody tr").first
    assert row.locator("td.reason").inner_text().strip(), "the failure's reason is shown"
    row.get_by_role("button", name=re.compile("^retry task")).click()
    page.locator("#execution-status").filter(has_text="succeeded").wait_for()
    page.locator(".task-chart .attempts", has_text="2 attempts").wait_for()
    assert server.finished("flaky", execution)["tasks"][0]["attempt"] == 2


def test_a_running_execution_is_canceled_from_the_page(page: Any, server: Server) -> None:
    server.api("POST", "/scenes", json={"id": "long"})
    work = action("diagnose", count=4, operation="sleep", params={"seconds": 5}, chain=True)
    execution = server.api("POST", "/scenes/long/intents", json=work)["execution_id"]
    sign_in(page, server)
    page.goto(f"{server.url}/studio#/s/long/executions/{execution}")
    page.locator(".event-log li", has_text="TaskStarted").first.wait_for(state="attached")
    page.get_by_role("button", name="Cancel execution").click()
    page.locator("#execution-status").filter(has_text="canceled").wait_for()
    assert server.finished("long", execution)["status"] == "canceled"
