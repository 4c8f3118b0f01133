"""History, as-of and lineage queries over the read models, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine.errors import NotFound
from engine.events import MergeApplied, PropertySet
from projections.as_of import parse_as_of, state_as_of
from projections.history import HistoryQuery, find_history
from projections.lineage import trace_artifact
from tests.projections.conftest import Backend
from tests.projections.scenes import busy_scene, run_diagnostics, sha


async def test_history_by_node_actor_execution_and_time(backend: Backend) -> None:
    await busy_scene(backend)
    await backend.runner().catch_up()
    rm = backend.read_models
    on_main = await find_history(rm, HistoryQuery(scene="film", branch="main", node="shot-2"))
    kinds = [type(e.payload).__name__ for e in on_main]
    # added, bound by bo, then the merge of alt's retitle: the merge names shot-2 too
    assert kinds == ["NodeAdded", "ArtifactBound", "MergeApplied"]
    assert isinstance(on_main[-1].payload, MergeApplied)
    on_alt = await find_history(rm, HistoryQuery(scene="film", branch="alt", node="shot-2"))
    assert [type(e.payload).__name__ for e in on_alt] == ["PropertySet"]
    anywhere = await find_history(rm, HistoryQuery(scene="film", node="shot-2"))
    assert [e.branch for e in anywhere] == ["main", "main", "alt", "main"]
    by_bo = await find_history(rm, HistoryQuery(actor="bo"))
    assert {e.actor for e in by_bo} == {"bo"} and len(by_bo) == 2  # accepted, bound
    everything = await find_history(rm, HistoryQuery(scene="film"))
    assert [e.position for e in everything] == sorted(e.position for e in everything)
    execution = next(e.execution_id for e in everything if e.transform == "planning.film")
    planned = await find_history(rm, HistoryQuery(execution=execution))
    assert planned and {e.execution_id for e in planned} == {execution}
    middle = everything[len(everything) // 2].recorded_at
    later = await find_history(rm, HistoryQuery(scene="film", since=middle))
    earlier = await find_history(rm, HistoryQuery(scene="film", until=middle))
    assert len(later) + len(earlier) == len(everything)
    assert all(e.recorded_at >= middle for e in later)
    assert await find_history(rm, HistoryQuery(scene="nowhere")) == []


async def test_a_branch_as_of_a_version_or_a_moment(backend: Backend) -> None:
    await backend.act("s", {"name": "create_scene", "title": "S"})
    await backend.act("s", {"name": "add_node", "kind": "shot", "node": "shot-1"})
    first = await backend.act(
        "s", {"name": "set_property", "node": "shot-1", "prop": "title", "value": "one"}
    )
    await backend.act(
        "s", {"name": "set_property", "node": "shot-1", "prop": "title", "value": "two"}
    )
    await backend.runner().catch_up()
    rm, scenes = backend.read_models, backend.scenes
    at_version = await state_as_of(scenes, rm, "s", "main", first.last_version)
    assert at_version.nodes["shot-1"].value("title") == "one"
    entries = await find_history(rm, HistoryQuery(scene="s"))
    set_one = next(e for e in entries if isinstance(e.payload, PropertySet))
    at_moment = await state_as_of(scenes, rm, "s", "main", set_one.recorded_at)
    assert (at_moment.version, at_moment.nodes["shot-1"].value("title")) == (
        set_one.version,
        "one",
    )
    too_early = entries[0].recorded_at - timedelta(seconds=1)
    with pytest.raises(NotFound, match="had no events at or before"):
        await state_as_of(scenes, rm, "s", "main", too_early)
    assert parse_as_of("12") == 12
    assert parse_as_of("2026-11-24T10:30:00Z").tzinfo is not None


async def test_lineage_walks_every_input_back_to_the_root_intents(backend: Backend) -> None:
    await busy_scene(backend)
    await backend.runner().catch_up()
    last = max(await backend.tasks("film"), key=lambda t: t.params.get("n", 0))
    found = await trace_artifact(backend.read_models, last.artifact or "")
    chain = []
    origin = found.origin
    while origin is not None and origin.made_by is not None:
        chain.append(origin.made_by.params["n"])
        inputs = origin.made_by.inputs
        origin = inputs[0].source if inputs else None
    assert chain == [3, 2, 1]
    assert (found.models, found.providers, found.operations) == (
        ["diagnostic"],
        ["diagnostic"],
        ["echo"],
    )
    assert found.transforms == ["planning.film@1"]
    (root,) = found.root_intents
    assert (root.kind, root.actor) == ("structured_action", "ana")
    assert '"name":"diagnose"' in root.summary
    made = found.origin.made_by
    assert made is not None and made.worker == "w1" and made.execution is not None


async def test_lineage_of_an_upload_ends_at_the_intent_that_bound_it(backend: Backend) -> None:
    await busy_scene(backend)
    await backend.runner().catch_up()
    found = await trace_artifact(backend.read_models, sha("uploaded still"))
    assert found.origin.made_by is None
    (bound,) = found.origin.bound_by
    assert (bound.node, bound.slot, bound.actor) == ("shot-2", "image", "bo")
    assert [i.actor for i in found.root_intents] == ["bo"]
    with pytest.raises(NotFound, match="no task made and no intent bound"):
        await trace_artifact(backend.read_models, sha("never seen"))
    with pytest.raises(NotFound):
        await trace_artifact(backend.read_models, sha("uploaded still"), studio="another")


async def test_reused_work_is_traced_to_the_execution_that_made_it(backend: Backend) -> None:
    await backend.act("a", {"name": "create_scene", "title": "A"})
    await run_diagnostics(backend, "a", 1)
    await backend.runner().catch_up()
    (task,) = await backend.tasks("a")
    found = await trace_artifact(backend.read_models, task.artifact or "")
    assert found.origin.made_by is not None and found.origin.made_by.task == task.id
