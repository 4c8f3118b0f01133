"""Per-provider limits: never more calls at once, nor more a second, than allowed."""

from __future__ import annotations

import asyncio
import time

from adapters.workers import ProviderLimit


async def test_concurrency_is_capped() -> None:
    limit = ProviderLimit(concurrency=2)
    running = peak = 0

    async def call() -> None:
        nonlocal running, peak
        async with limit.held():
            running += 1
            peak = max(peak, running)
            await asyncio.sleep(0.02)
            running -= 1

    await asyncio.gather(*(call() for _ in range(8)))
    assert peak == 2


async def test_calls_are_spaced_by_the_rate() -> None:
    limit = ProviderLimit(concurrency=10, per_second=20.0)
    starts: list[float] = []

    async def call() -> None:
        async with limit.held():
            starts.append(time.monotonic())

    await asyncio.gather(*(call() for _ in range(5)))
    assert starts[-1] - starts[0] >= 4 / 20.0 - 0.01
