"""Observability of the API process: Prometheus metrics and structured JSON logs.

Metrics are kept by `prometheus-client` in a registry of each app and rendered in
the Prometheus text format at `/metrics`: HTTP requests, intent append latency, and
from the live log (the stream hub hands every batch to `observe`) task run time per
operation, retries, and the time from an intent to its first result (a preview
proxy, a first frame). Queue depth per lane and projection lag are read when
scraped. Where several processes serve one deployment, set `PROMETHEUS_MULTIPROC_DIR`
(prometheus-client's multiprocess mode) and every process's figures are summed.

Logs are one JSON object per line; a request's log lines carry its studio and,
once known, the execution id (`log_context`).
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import sys
from collections import OrderedDict
from datetime import UTC, datetime
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

from engine.events import (
    ExecutionStarted,
    RecordedEvent,
    TaskFailed,
    TaskPlanned,
    TaskRetryRequested,
    TaskSucceeded,
)

SECONDS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
LONG_SECONDS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)
MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"

# `_created` samples only repeat when each series began; scrapers do not need them.
disable_created_metrics()  # type: ignore[no-untyped-call]


class _Bounded(OrderedDict[str, Any]):
    """Remembers the newest `limit` keys: tasks and executions seen in the live log."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def remember(self, key: str, value: Any) -> None:
        self[key] = value
        if len(self) > self.limit:
            self.popitem(last=False)


class Metrics:
    """Our metric definitions; prometheus-client keeps and renders them."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        reg = self.registry
        self.requests = Counter(
            "scenestate_http_requests",
            "HTTP requests answered.",
            ("method", "route", "status"),
            registry=reg,
        )
        self.request_seconds = Histogram(
            "scenestate_http_request_seconds",
            "Time to answer an HTTP request (to headers).",
            ("method", "route"),
            buckets=SECONDS,
            registry=reg,
        )
        self.append_seconds = Histogram(
            "scenestate_intent_append_seconds",
            "Time to decide and append one intent.",
            buckets=SECONDS,
            registry=reg,
        )
        self.task_seconds = Histogram(
            "scenestate_task_run_seconds",
            "Run time of succeeded tasks.",
            ("operation",),
            buckets=LONG_SECONDS,
            registry=reg,
        )
        self.task_outcomes = Counter(
            "scenestate_tasks_finished",
            "Tasks that finished.",
            ("operation", "outcome"),
            registry=reg,
        )
        self.retries = Counter(
            "scenestate_task_retries",
            "Extra deliveries and retries requested, per task.",
            ("operation", "why"),
            registry=reg,
        )
        self.first_result_seconds = Histogram(
            "scenestate_intent_to_first_result_seconds",
            "From an execution's intent to its first result (a preview proxy or first frame).",
            buckets=LONG_SECONDS,
            registry=reg,
        )
        self.queue_depth = _gauge(
            reg, "scenestate_queue_depth", "Tasks waiting on the bus, per lane.", ("lane",)
        )
        self.projection_lag = _gauge(
            reg,
            "scenestate_projection_lag_events",
            "Events a read model has still to fold.",
            ("projection",),
        )
        self.projection_stopped = _gauge(
            reg,
            "scenestate_projection_stopped",
            "1 when a read model stopped on an event it could not fold (see /readyz).",
            ("projection",),
        )
        self.stream_lag = _gauge(
            reg, "scenestate_stream_lag_events", "Events the live stream hub is behind the log."
        )
        self.workers = _gauge(
            reg,
            "scenestate_workers",
            "Workers serving a lane, as they announced themselves.",
            ("lane",),
        )
        self.subscribers = Gauge(
            "scenestate_stream_subscribers",
            "Open SSE/WebSocket streams.",
            registry=reg,
            multiprocess_mode="livesum",
        )
        self.webhooks = Counter(
            "scenestate_webhook_attempts",
            "Webhook delivery attempts.",
            ("outcome",),
            registry=reg,
        )
        self._operations = _Bounded(200_000)
        self._started = _Bounded(50_000)

    def observe(self, batch: list[RecordedEvent]) -> None:
        """Fold a batch of the live log into the task and execution metrics."""
        for event in batch:
            payload = event.payload
            if isinstance(payload, TaskPlanned):
                self._operations.remember(payload.task, payload.operation)
            elif isinstance(payload, ExecutionStarted):
                self._started.remember(payload.execution, event.recorded_at)
            elif isinstance(payload, TaskSucceeded | TaskFailed):
                self._finished(event, payload)
            elif isinstance(payload, TaskRetryRequested):
                operation = self._operations.get(payload.task, "unknown")
                self.retries.labels(operation, "requested").inc()

    def _finished(self, event: RecordedEvent, payload: TaskSucceeded | TaskFailed) -> None:
        operation = self._operations.get(payload.task, "unknown")
        outcome = "succeeded" if isinstance(payload, TaskSucceeded) else "failed"
        self.task_outcomes.labels(operation, outcome).inc()
        if payload.deliveries > 1:
            self.retries.labels(operation, "redelivered").inc(payload.deliveries - 1)
        if isinstance(payload, TaskSucceeded):
            self.task_seconds.labels(operation).observe(payload.run_time)
            started = self._started.pop(event.metadata.execution_id, None)
            if payload.artifact and started is not None:
                waited = (event.recorded_at - started).total_seconds()
                self.first_result_seconds.observe(max(waited, 0.0))

    def render(self) -> bytes:
        """The Prometheus text format: this process's figures, or in multiprocess mode
        those of every process of the deployment."""
        if os.environ.get(MULTIPROCESS_DIR):
            everyone = CollectorRegistry()
            MultiProcessCollector(everyone)  # type: ignore[no-untyped-call]
            return generate_latest(everyone)
        return generate_latest(self.registry)


def _gauge(
    registry: CollectorRegistry, name: str, documentation: str, labels: tuple[str, ...] = ()
) -> Gauge:
    """A gauge set when scraped: in multiprocess mode the newest reading counts."""
    return Gauge(name, documentation, labels, registry=registry, multiprocess_mode="mostrecent")


# What the current request's log lines carry: studio, execution id, request id.
log_context: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar(
    "scenestate_log_context", default=None
)


def add_log_context(**values: str) -> None:
    current = log_context.get()
    if current is not None:
        current.update(values)


class JsonLogFormatter(logging.Formatter):
    """One JSON object per record, with the request's context and any `extra` fields."""

    _STANDARD = frozenset(
        logging.LogRecord("", 0, "", 0, "", None, None).__dict__.keys()
        | {"message", "asctime", "color_message"}
    )

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(log_context.get() or {})
        for key, value in record.__dict__.items():
            if key not in self._STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_json_logs(level: int = logging.INFO) -> None:
    """Send scenestate's and uvicorn's logs to stderr as JSON lines."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLogFormatter())
    for name in ("scenestate", "uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(level)
        logger.propagate = False
    # The API logs each request itself, with its studio and execution.
    logging.getLogger("uvicorn.access").disabled = True
