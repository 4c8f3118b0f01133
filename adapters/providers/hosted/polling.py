"""Waiting for a hosted job to settle: poll its status with capped exponential backoff,
heartbeating between polls, and ride out a few transient failures of the status call
itself (a job that costs money is not abandoned over one 502)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass

import msgspec

from adapters.providers.hosted._failures import TRANSIENT
from adapters.providers.hosted.vocabulary import HostedProvider, Job, JobStatus
from engine.errors import TaskFailure

log = logging.getLogger("scenestate.providers.hosted")


@dataclass(frozen=True)
class PollSchedule:
    first: float = 0.5  # seconds before the first status call
    factor: float = 1.5
    longest: float = 8.0
    tolerated_failures: int = 3  # transient status failures in a row before giving up

    def __post_init__(self) -> None:
        if self.first <= 0 or self.factor < 1 or self.longest < self.first:
            raise ValueError(f"a poll schedule needs 0 < first <= longest and factor >= 1: {self}")

    def delays(self) -> Iterator[float]:
        delay = self.first
        while True:
            yield delay
            delay = min(delay * self.factor, self.longest)


async def settle(
    provider: HostedProvider,
    job: Job,
    schedule: PollSchedule,
    heartbeat: Callable[[], Awaitable[None]],
) -> tuple[Job, JobStatus]:
    """`job` with its settled status in `last`, and that status; raises the TaskFailure
    of the status call once more than `tolerated_failures` transient ones came in a row."""
    delays = schedule.delays()
    pause = next(delays)
    failures = 0
    status = job.last
    while status is None or not status.settled:
        await asyncio.sleep(pause)
        await heartbeat()
        pause = next(delays)
        try:
            status = await provider.status(job)
        except TaskFailure as failure:
            failures += 1
            if failure.kind not in TRANSIENT or failures > schedule.tolerated_failures:
                raise
            log.info("%r: status failed (%s); polling on", job, failure.message)
            pause = max(pause, failure.retry_after or 0.0)
            continue
        failures = 0
        if status != job.last:
            log.debug("%r: %s %s", job, status.provider_status, status.message)
        job = msgspec.structs.replace(job, last=status)
    return job, status
