"""The lineage of a film's final render, made through the whole pipeline (dispatcher,
bus, worker, result folder) on SQLite and on PostgreSQL, names every model, provider
and transform that contributed. The worker runs the diagnostic echo operation for
every step of the film recipe, which is enough to make real artifacts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from adapters.operations.diagnostic import Echo
from adapters.store.read_models import open_read_models
from adapters.workers import Worker
from api.bootstrap import open_services
from api.config import Settings
from api.runtime import Runtime
from api.services import Services
from api.services.executions import follow
from engine.intents import parse_intent
from engine.ports import Operation
from engine.recipes import film_works
from engine.tasks import LANES
from projections.catalog import default_projections
from projections.fidelity import Fidelity, fidelity_view, needed_keys
from projections.lineage import trace_artifact
from projections.runner import ProjectionRunner
from projections.views import finished_work
from tests.conftest import fresh_postgres_database


@pytest.fixture(params=["sqlite", "postgresql"])
async def services(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Services]:
    if request.param == "sqlite":
        settings = Settings(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'film.db'}", None)
        async with open_services(settings) as opened:
            yield opened
        return
    async with (
        fresh_postgres_database("lineage") as url,
        open_services(Settings(tmp_path, url, None)) as opened,
    ):
        yield opened


async def act(services: Services, action: dict[str, object], actor: str = "ana") -> str:
    scenes = services.scenes
    raw = {
        "kind": "structured_action",
        "studio": "st",
        "actor": actor,
        "scene": "film",
        "action": action,
    }
    receipt = await scenes.submit(parse_intent(raw, now=scenes.clock.now, new_id=scenes.ids.new_id))
    return receipt.execution_id


async def film(services: Services) -> None:
    await act(services, {"name": "create_scene", "title": "Lighthouse"})
    for n in (1, 2):
        shot = {"title": f"Shot {n}", "prompt": f"the lighthouse, view {n}", "duration": 1.5}
        await act(
            services, {"name": "add_node", "kind": "shot", "node": f"shot-{n}", "props": shot}
        )
    caption = {"kind": "caption", "parent": "shot-1", "node": "cap", "props": {"text": "Dusk."}}
    await act(services, {"name": "add_node", **caption})
    voice = {"kind": "voiceover", "node": "narration", "props": {"text": "Every night."}}
    await act(services, {"name": "add_node", **voice}, actor="bo")


async def test_the_final_renders_lineage_names_every_model_and_transform(
    services: Services,
) -> None:
    await film(services)
    state = await services.scenes.load("film")
    works = film_works(state)
    echo: dict[tuple[str, str], Operation] = {(w.provider, w.operation): Echo() for w in works}
    worker = Worker(services.bus, services.artifacts, echo, LANES, name="echo-worker")
    execution = await act(services, {"name": "render"})
    async with Runtime(services, workers=0) as runtime:
        working = asyncio.create_task(worker.run())
        try:
            progress = await asyncio.wait_for(
                follow(
                    services, "film", "main", execution, check=runtime.check if runtime else None
                ),
                60,
            )
        finally:
            working.cancel()
    assert progress.status == "succeeded"
    state = await services.scenes.load("film")
    render = state.nodes[state.root].artifact("render")
    assert render is not None
    read_models = open_read_models(services.settings.database_url)
    try:
        await ProjectionRunner(services.store, read_models, default_projections()).catch_up()
        found = await trace_artifact(read_models, render)
    finally:
        await read_models.close()
    assert found.models == sorted({w.model for w in works})
    assert found.providers == sorted({w.provider for w in works})
    assert found.operations == sorted({w.operation for w in works})
    assert found.transforms == ["planning.film@1"]
    (root,) = found.root_intents
    assert '"name":"render"' in root.summary and root.actor == "ana"
    finished = await finished_work(services.scenes, state, Fidelity.PRODUCTION)
    view = fidelity_view(state, Fidelity.PRODUCTION, {}, finished)
    assert (view.status, view.output, view.missing) == ("ready", render, [])
    assert set(needed_keys(state, Fidelity.PRODUCTION)) == {w.key for w in works}
