"""Observability of the API process: Prometheus metrics and structured JSON logs.

Metrics are kept in memory and rendered in the Prometheus text format at
`/metrics`: HTTP requests, intent append latency, and from the live log (the
stream hub hands every batch to `observe`) task run time per operation, retries,
and the time from an intent to its first result (a preview proxy, a first frame).
Queue depth per lane and projection lag are read when scraped.

Logs are one JSON object per line; a request's log lines carry its studio and,
once known, the execution id (`log_context`).
"""

from __future__ import annotations

import bisect
import contextvars
import json
import logging
import math
import sys
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from engine.events import (
    ExecutionStarted,
    RecordedEvent,
    TaskFailed,
    TaskPlanned,
    TaskRetryRequested,
    TaskSucceeded,
)

Labels = tuple[tuple[str, str], ...]
SECONDS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
LONG_SECONDS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)


def _labels(values: Mapping[str, str]) -> Labels:
    return tuple(sorted(values.items()))


def _render_labels(labels: Labels, extra: str = "") -> str:
    parts = [f'{k}="{_escape(v)}"' for k, v in labels]
    if extra:
        parts.append(extra)
    return "{" + ",".join(parts) + "}" if parts else ""


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value)) if not float(value).is_integer() else str(int(value))


class Counter:
    def __init__(self, name: str, help_text: str) -> None:
        self.name, self.help = name, help_text
        self.values: dict[Labels, float] = {}

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        key = _labels(labels)
        self.values[key] = self.values.get(key, 0.0) + amount

    def render(self) -> Iterable[str]:
        yield f"# HELP {self.name} {self.help}"
        yield f"# TYPE {self.name} counter"
        for labels, value in sorted(self.values.items()):
            yield f"{self.name}{_render_labels(labels)} {_number(value)}"


class Gauge(Counter):
    def set(self, value: float, **labels: str) -> None:
        self.values[_labels(labels)] = value

    def render(self) -> Iterable[str]:
        yield f"# HELP {self.name} {self.help}"
        yield f"# TYPE {self.name} gauge"
        for labels, value in sorted(self.values.items()):
            yield f"{self.name}{_render_labels(labels)} {_number(value)}"


class Histogram:
    def __init__(self, name: str, help_text: str, buckets: tuple[float, ...] = SECONDS) -> None:
        self.name, self.help, self.buckets = name, help_text, buckets
        self.series: dict[Labels, tuple[list[int], list[float]]] = {}

    def observe(self, value: float, **labels: str) -> None:
        counts, total = self.series.setdefault(
            _labels(labels), ([0] * (len(self.buckets) + 1), [0.0])
        )
        counts[bisect.bisect_left(self.buckets, value)] += 1
        total[0] += value

    def render(self) -> Iterable[str]:
        yield f"# HELP {self.name} {self.help}"
        yield f"# TYPE {self.name} histogram"
        for labels, (counts, total) in sorted(self.series.items()):
            running = 0
            for bound, count in zip((*self.buckets, math.inf), counts, strict=True):
                running += count
                le = f'le="{_number(bound)}"'
                yield f"{self.name}_bucket{_render_labels(labels, le)} {running}"
            yield f"{self.name}_sum{_render_labels(labels)} {_number(total[0])}"
            yield f"{self.name}_count{_render_labels(labels)} {running}"


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
    def __init__(self) -> None:
        self.requests = Counter("scenestate_http_requests_total", "HTTP requests answered.")
        self.request_seconds = Histogram(
            "scenestate_http_request_seconds", "Time to answer an HTTP request (to headers)."
        )
        self.append_seconds = Histogram(
            "scenestate_intent_append_seconds", "Time to decide and append one intent."
        )
        self.task_seconds = Histogram(
            "scenestate_task_run_seconds", "Run time of succeeded tasks.", LONG_SECONDS
        )
        self.task_outcomes = Counter("scenestate_tasks_finished_total", "Tasks that finished.")
        self.retries = Counter(
            "scenestate_task_retries_total", "Extra deliveries and retries requested, per task."
        )
        self.first_result_seconds = Histogram(
            "scenestate_intent_to_first_result_seconds",
            "From an execution's intent to its first result (a preview proxy or first frame).",
            LONG_SECONDS,
        )
        self.queue_depth = Gauge("scenestate_queue_depth", "Tasks waiting on the bus, per lane.")
        self.projection_lag = Gauge(
            "scenestate_projection_lag_events", "Events a read model has still to fold."
        )
        self.stream_lag = Gauge(
            "scenestate_stream_lag_events", "Events the live stream hub is behind the log."
        )
        self.subscribers = Gauge("scenestate_stream_subscribers", "Open SSE/WebSocket streams.")
        self.webhooks = Counter("scenestate_webhook_attempts_total", "Webhook delivery attempts.")
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
                self.retries.inc(operation=operation, why="requested")

    def _finished(self, event: RecordedEvent, payload: TaskSucceeded | TaskFailed) -> None:
        operation = self._operations.get(payload.task, "unknown")
        outcome = "succeeded" if isinstance(payload, TaskSucceeded) else "failed"
        self.task_outcomes.inc(operation=operation, outcome=outcome)
        if payload.deliveries > 1:
            self.retries.inc(payload.deliveries - 1, operation=operation, why="redelivered")
        if isinstance(payload, TaskSucceeded):
            self.task_seconds.observe(payload.run_time, operation=operation)
            started = self._started.pop(event.metadata.execution_id, None)
            if payload.artifact and started is not None:
                waited = (event.recorded_at - started).total_seconds()
                self.first_result_seconds.observe(max(waited, 0.0))

    def render(self) -> str:
        lines: list[str] = []
        for metric in (
            self.requests,
            self.request_seconds,
            self.append_seconds,
            self.task_seconds,
            self.task_outcomes,
            self.retries,
            self.first_result_seconds,
            self.queue_depth,
            self.projection_lag,
            self.stream_lag,
            self.subscribers,
            self.webhooks,
        ):
            lines.extend(metric.render())
        return "\n".join(lines) + "\n"


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
