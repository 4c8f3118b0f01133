"""Health, readiness, Prometheus metrics and the JSON request log."""

from __future__ import annotations

import asyncio
import io
import json
import logging

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from api.app import create_app
from api.config import Settings
from api.metrics import JsonLogFormatter
from engine.events import RecordedEvent
from projections.lineage import LineageProjection
from projections.projection import Rows
from tests.api.http.conftest import Api, diagnose


async def test_health_and_readiness_answer_without_a_key(api: Api) -> None:
    assert (await api.http.get("/healthz")).json() == {"status": "ok"}
    ready = await api.http.get("/readyz")
    assert ready.status_code == 200
    body = ready.json()
    assert (body["status"], body["checks"], body["stopped"]) == ("ready", {"database": "ok"}, {})
    assert set(body["workers"]) == {"interactive", "preview", "production"}


async def test_metrics_cover_requests_tasks_queues_and_lag(api: Api) -> None:
    await api.studio("acme")
    await api.scene("acme", "promo")
    execution = (await api.intent("acme", "promo", diagnose(2))).json()["execution_id"]
    await api.finished("acme", "promo", execution)
    assert (await api.request("GET", "/metrics", "acme")).status_code == 403
    scraped = await api.request("GET", "/metrics", None)
    assert scraped.status_code == 200
    assert scraped.headers["content-type"].startswith("text/plain")
    samples = _samples(scraped.text)
    posted = {"method": "POST", "route": "/scenes/{scene}/intents", "status": "202"}
    for name, labels, value in (
        ("scenestate_http_requests_total", posted, 1),
        ("scenestate_intent_append_seconds_count", {}, 2),
        ("scenestate_task_run_seconds_count", {"operation": "echo"}, 2),
        ("scenestate_tasks_finished_total", {"operation": "echo", "outcome": "succeeded"}, 2),
        ("scenestate_intent_to_first_result_seconds_count", {}, 1),
        ("scenestate_queue_depth", {"lane": "interactive"}, 0),
        ("scenestate_projection_lag_events", {"projection": "history"}, None),
        ("scenestate_stream_lag_events", {}, None),
    ):
        key = (name, tuple(sorted(labels.items())))
        assert key in samples, key
        assert value is None or samples[key] == value, (key, samples[key])


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def test_request_logs_are_json_lines_with_the_execution_id(api: Api) -> None:
    lines = io.StringIO()
    handler = logging.StreamHandler(lines)
    handler.setFormatter(JsonLogFormatter())
    logger = logging.getLogger("scenestate.api")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        await api.studio("acme")
        await api.scene("acme", "promo")
        accepted = (await api.intent("acme", "promo", diagnose(1))).json()
    finally:
        logger.removeHandler(handler)
    entries = [json.loads(line) for line in lines.getvalue().splitlines()]
    [posted] = [e for e in entries if e["message"] == "POST /scenes/promo/intents 202"]
    assert posted["execution_id"] == accepted["execution_id"]
    assert posted["studio"] == "acme" and posted["duration_ms"] > 0
    assert posted["level"] == "info" and posted["request_id"]


async def test_a_read_model_that_stops_is_named_by_readyz_and_metrics_and_stops_nothing_else(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A lineage projection that cannot fold one event stops loudly; history goes on."""
    real = LineageProjection.rows

    def poisoned(self: LineageProjection, event: RecordedEvent, out: Rows) -> None:
        if getattr(event.payload, "value", None) == "poison":
            raise ValueError("this event cannot be folded")
        real(self, event, out)

    monkeypatch.setattr(LineageProjection, "rows", poisoned)
    app = create_app(settings, workers=1)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
            api = Api(app, http)
            await api.studio("acme")
            await api.scene("acme", "promo")
            edit = {"kind": "direct_edit", "node": "root", "prop": "title", "value": "poison"}
            assert (await api.intent("acme", "promo", edit)).status_code == 202
            later = await api.intent("acme", "promo", diagnose(1))
            execution = later.json()["execution_id"]
            await api.finished("acme", "promo", execution)
            async with asyncio.timeout(20):
                while True:
                    ready = (await http.get("/readyz")).json()
                    if ready["status"] == "degraded":
                        break
                    await asyncio.sleep(0.05)
            stopped = ready["stopped"]
            assert list(stopped) == ["lineage"], ready
            assert "this event cannot be folded" in stopped["lineage"]["error"]
            assert stopped["lineage"]["position"] >= 1
            async with asyncio.timeout(20):  # history goes on past the poisoned event
                while True:
                    found = await api.request(
                        "GET", f"/scenes/promo/history?execution={execution}", "acme"
                    )
                    if found.json()["entries"]:
                        break
                    await asyncio.sleep(0.05)
            samples = _samples((await api.request("GET", "/metrics", None)).text)
            assert samples[("scenestate_projection_stopped", (("projection", "lineage"),))] == 1
            assert samples[("scenestate_projection_stopped", (("projection", "history"),))] == 0
