"""Executions and tasks over HTTP: progress, a failed task retried in place, and
cancellation."""

from __future__ import annotations

import asyncio

from tests.api.http.conftest import Api, diagnose


async def test_a_failed_task_is_retried_in_place(api: Api) -> None:
    await api.studio("acme")
    await api.scene("acme", "promo")
    failing = diagnose(1, "fail", params={"kind": "invalid_input", "succeed_from_attempt": 2})
    execution = (await api.intent("acme", "promo", failing)).json()["execution_id"]
    failed = await api.finished("acme", "promo", execution)
    assert failed["status"] == "failed"
    [task] = failed["tasks"]
    assert task["status"] == "failed" and task["error_kind"] == "invalid_input"

    retried = await api.request("POST", f"/scenes/promo/tasks/{task['id']}/retry", "acme")
    assert retried.status_code == 202, retried.text
    done = await api.finished("acme", "promo", execution)
    assert done["status"] == "succeeded"
    assert done["tasks"][0]["attempt"] == 2
    one = (await api.request("GET", f"/scenes/promo/tasks/{task['id']}", "acme")).json()
    assert one["status"] == "succeeded" and one["artifact"]
    listed = (await api.request("GET", "/scenes/promo/executions", "acme")).json()
    assert [e["execution"] for e in listed["executions"]] == [execution]


async def test_cancelling_an_execution_stops_its_tasks(api: Api) -> None:
    await api.studio("acme")
    await api.scene("acme", "promo")
    slow = diagnose(3, "sleep", params={"seconds": 5}, chain=True)
    execution = (await api.intent("acme", "promo", slow)).json()["execution_id"]
    cancel = await api.request("POST", f"/scenes/promo/executions/{execution}/cancel", "acme")
    assert cancel.status_code == 202, cancel.text
    done = await api.finished("acme", "promo", execution)
    assert done["status"] == "canceled"
    assert {t["status"] for t in done["tasks"]} == {"canceled"}
    again = await api.request("POST", f"/scenes/promo/executions/{execution}/cancel", "acme")
    assert again.status_code == 422
    missing = await api.request("GET", "/scenes/promo/executions/nope", "acme")
    assert missing.status_code == 404


async def test_a_finished_execution_and_its_task_are_found_by_a_unique_start(api: Api) -> None:
    await api.studio("acme")
    await api.scene("acme", "promo")
    execution = (await api.intent("acme", "promo", diagnose(2))).json()["execution_id"]
    done = await api.finished("acme", "promo", execution)  # archived: no longer in state
    task = done["tasks"][0]["id"]
    found = await api.request("GET", f"/scenes/promo/executions/{execution[:8]}", "acme")
    assert found.status_code == 200 and found.json()["execution"] == execution
    one = await api.request("GET", f"/scenes/promo/tasks/{task[:7]}", "acme")
    assert one.status_code == 200 and one.json()["id"] == task
    both = await api.request("GET", "/scenes/promo/tasks/t-", "acme")
    assert both.status_code == 404  # shorter than any id worth matching
    again = await api.request("POST", f"/scenes/promo/executions/{execution[:8]}/cancel", "acme")
    assert again.status_code == 422 and "already" in again.json()["error"]["message"]


async def test_executions_page_newest_first_and_the_same_as_the_whole_list(api: Api) -> None:
    await api.studio("acme")
    await api.scene("acme", "promo")
    for _ in range(5):
        posted = await api.intent("acme", "promo", diagnose(1))
        await api.finished("acme", "promo", posted.json()["execution_id"])
    whole = (await api.request("GET", "/scenes/promo/executions", "acme")).json()
    assert whole["total"] == len(whole["executions"]) == 5
    newest = whole["executions"][::-1]
    pages = []
    for offset in (0, 2, 4):
        url = f"/scenes/promo/executions?order=newest&limit=2&offset={offset}"
        page = (await api.request("GET", url, "acme")).json()
        assert page["total"] == 5
        pages += page["executions"]
    assert pages == newest
    oldest = await api.request("GET", "/scenes/promo/executions?limit=3&offset=1", "acme")
    assert oldest.json()["executions"] == whole["executions"][1:4]
    past = await api.request("GET", "/scenes/promo/executions?limit=3&offset=9", "acme")
    assert past.json() == {"branch": "main", "executions": [], "total": 5}
    refused = await api.request("GET", "/scenes/promo/executions?limit=0", "acme")
    assert refused.status_code == 422


async def test_a_branch_forked_while_an_execution_runs_leaves_it_to_its_branch(api: Api) -> None:
    """An execution still running when a branch is forked stays its own branch's: the
    new branch neither lists it nor can cancel it, and it finishes where it began."""
    await api.studio("acme")
    await api.scene("acme", "promo")
    work = diagnose(3, "sleep", params={"seconds": 0.3}, chain=True)
    running = (await api.intent("acme", "promo", work)).json()["execution_id"]
    fork = await api.request("POST", "/scenes/promo/branches", "acme", json={"name": "fork"})
    assert fork.status_code == 202, fork.text

    listed = await api.request("GET", "/scenes/promo/executions?branch=fork", "acme")
    assert running not in {e["execution"] for e in listed.json()["executions"]}, listed.text
    url = f"/scenes/promo/executions/{running}"
    assert (await api.request("GET", f"{url}?branch=fork", "acme")).status_code == 404
    assert (await api.request("POST", f"{url}/cancel?branch=fork", "acme")).status_code == 404
    assert (await api.finished("acme", "promo", running))["status"] == "succeeded"


async def test_a_canceled_task_retried_runs_and_its_execution_ends(api: Api) -> None:
    """Cancelling the running task stops it; retrying it runs a new attempt (a worker
    that saw the cancel drops that attempt only), and an execution whose tasks were
    all canceled one by one ends instead of running forever."""
    await api.studio("acme")
    await api.scene("acme", "promo")
    slow = diagnose(1, "sleep", params={"seconds": 0.6})
    execution = (await api.intent("acme", "promo", slow)).json()["execution_id"]
    url = f"/scenes/promo/executions/{execution}"
    [task] = (await api.request("GET", url, "acme")).json()["tasks"]

    async def task_is(status: str) -> dict[str, object]:
        async with asyncio.timeout(15):
            while True:
                found = (
                    await api.request("GET", f"/scenes/promo/tasks/{task['id']}", "acme")
                ).json()
                if found["status"] == status:
                    return found
                await asyncio.sleep(0.05)

    await task_is("running")
    assert (
        await api.request("POST", f"/scenes/promo/tasks/{task['id']}/cancel", "acme")
    ).is_success
    assert (await api.finished("acme", "promo", execution))["status"] != "running"
    retried = await api.request("POST", f"/scenes/promo/tasks/{task['id']}/retry", "acme")
    assert retried.status_code == 202, retried.text
    assert (await task_is("succeeded"))["attempt"] == 2
    assert (await api.finished("acme", "promo", execution))["status"] == "succeeded"

    two = (await api.intent("acme", "promo", diagnose(2, "sleep", params={"seconds": 5}))).json()
    for each in (
        await api.request("GET", f"/scenes/promo/executions/{two['execution_id']}", "acme")
    ).json()["tasks"]:
        await api.request("POST", f"/scenes/promo/tasks/{each['id']}/cancel", "acme")
    assert (await api.finished("acme", "promo", two["execution_id"]))["status"] != "running"
