"""Names and configuration of everything the JetStream bus keeps on the server.

All of it derives from one `prefix`, so several deployments (or every test) can
share a server without seeing each other. See `adapters.bus.jetstream` for why the
layout is what it is.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass

from nats.js import JetStreamContext
from nats.js import api as js_api
from nats.js.errors import NotFoundError

from engine.tasks import LANES, Lane

_PREFIX = re.compile(r"^[A-Za-z0-9_-]+$")

ADVISORY_MAX_DELIVERIES = "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES"


@dataclass(frozen=True)
class Layout:
    prefix: str
    tiers: int  # tier bands per lane: tiers 0..tiers-1, higher tiers share the top band

    def __post_init__(self) -> None:
        if not _PREFIX.match(self.prefix):
            raise ValueError(f"a bus prefix is letters, digits, _ and -, not {self.prefix!r}")
        if self.tiers < 1:
            raise ValueError("tiers must be at least 1")

    # -- streams ----------------------------------------------------------------

    @property
    def tasks_stream(self) -> str:
        return f"{self.prefix}_tasks"

    @property
    def results_stream(self) -> str:
        return f"{self.prefix}_results"

    @property
    def dead_stream(self) -> str:
        """Captures the task consumers' max-deliveries advisories, so none is lost
        while no bus is listening."""
        return f"{self.prefix}_dead"

    @property
    def workers_stream(self) -> str:
        """Each worker's latest announcement (one message per worker, kept a minute)."""
        return f"{self.prefix}_workers"

    def worker_subject(self, name: str) -> str:
        token = re.sub(r"[^A-Za-z0-9_-]", "_", name)
        return f"{self.prefix}.workers.{token}"

    @property
    def streams(self) -> tuple[str, ...]:
        return (self.tasks_stream, self.results_stream, self.dead_stream, self.workers_stream)

    # -- subjects -----------------------------------------------------------------

    def band(self, tier: int) -> int:
        return min(max(tier, 0), self.tiers - 1)

    def task_subject(self, lane: Lane, tier: int) -> str:
        return f"{self.prefix}.tasks.{lane}.{self.band(tier)}"

    def lane_of(self, task_subject: str) -> Lane:
        return Lane(task_subject.split(".")[2])

    @property
    def results_subject(self) -> str:
        return f"{self.prefix}.results"

    @property
    def cancel_subject(self) -> str:
        return f"{self.prefix}.cancel"

    def ready_subject(self, what: str) -> str:
        """Core NATS wake-ups: "something was published to `what`" (a lane or results)."""
        return f"{self.prefix}.ready.{what}"

    @property
    def advisory_subject(self) -> str:
        return f"{ADVISORY_MAX_DELIVERIES}.{self.tasks_stream}.*"

    # -- consumers ----------------------------------------------------------------

    def task_consumer(self, lane: Lane, band: int) -> str:
        return f"tasks_{lane}_{band}"

    def task_consumers(self, lanes: tuple[Lane, ...]) -> list[str]:
        """Consumers to pull from, in order of priority: lanes as asked, then bands
        from the highest tier down."""
        return [
            self.task_consumer(lane, band)
            for lane in lanes
            for band in range(self.tiers - 1, -1, -1)
        ]

    results_consumer = "results"
    dead_consumer = "dead_letters"


async def ensure_layout(
    js: JetStreamContext,
    layout: Layout,
    *,
    ack_wait: float,
    max_deliver: int,
    duplicate_window: float,
    storage: js_api.StorageType,
) -> None:
    """Create the streams and durable consumers, or bring their settings up to date."""
    for name, subjects in (
        (layout.tasks_stream, [f"{layout.prefix}.tasks.*.*"]),
        (layout.results_stream, [layout.results_subject]),
        (layout.dead_stream, [layout.advisory_subject]),
    ):
        await _ensure_stream(js, name, subjects, duplicate_window, storage)
    await _ensure_presence_stream(js, layout)
    for lane in LANES:
        for band in range(layout.tiers):
            await _ensure_consumer(
                js,
                layout.tasks_stream,
                layout.task_consumer(lane, band),
                f"{layout.prefix}.tasks.{lane}.{band}",
                ack_wait,
                max_deliver,
            )
    # Results and dead letters are never given up on: max_deliver -1 is "unlimited".
    await _ensure_consumer(js, layout.results_stream, layout.results_consumer, None, ack_wait, -1)
    await _ensure_consumer(js, layout.dead_stream, layout.dead_consumer, None, ack_wait, -1)


async def delete_layout(js: JetStreamContext, layout: Layout) -> None:
    """Delete the streams (and with them their consumers); missing ones are fine."""
    for name in layout.streams:
        with contextlib.suppress(NotFoundError):
            await js.delete_stream(name)


PRESENCE_KEPT = 60.0  # seconds an announcement stays in the workers stream


async def _ensure_presence_stream(js: JetStreamContext, layout: Layout) -> None:
    config = js_api.StreamConfig(
        name=layout.workers_stream,
        subjects=[f"{layout.prefix}.workers.*"],
        retention=js_api.RetentionPolicy.LIMITS,
        max_msgs_per_subject=1,
        max_age=PRESENCE_KEPT,
        storage=js_api.StorageType.MEMORY,
    )
    try:
        await js.stream_info(config.name or "")
    except NotFoundError:
        await js.add_stream(config)
        return
    await js.update_stream(config)


async def _ensure_stream(
    js: JetStreamContext,
    name: str,
    subjects: list[str],
    duplicate_window: float,
    storage: js_api.StorageType,
) -> None:
    config = js_api.StreamConfig(
        name=name,
        subjects=subjects,
        # Work queue: a message leaves the stream once it is acked (or termed).
        retention=js_api.RetentionPolicy.WORK_QUEUE,
        storage=storage,
        duplicate_window=duplicate_window,
    )
    try:
        await js.stream_info(name)
    except NotFoundError:
        await js.add_stream(config)
        return
    await js.update_stream(config)


async def _ensure_consumer(
    js: JetStreamContext,
    stream: str,
    name: str,
    filter_subject: str | None,
    ack_wait: float,
    max_deliver: int,
) -> None:
    # Creating a durable consumer that exists with other settings updates it
    # (nats-server >= 2.9); with the same settings it changes nothing.
    await js.add_consumer(
        stream,
        js_api.ConsumerConfig(
            name=name,
            durable_name=name,
            filter_subject=filter_subject,
            ack_policy=js_api.AckPolicy.EXPLICIT,
            deliver_policy=js_api.DeliverPolicy.ALL,
            ack_wait=ack_wait,
            max_deliver=max_deliver,
        ),
    )
