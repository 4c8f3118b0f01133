"""The benchmark guard's verdicts: a 5 x regression fails it, today's figures and one
unlucky run do not."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from bench.guard import CHECKS, Check, Growth, run


def measuring(*ratios: float) -> Check:
    found: Iterator[float] = iter(ratios)

    async def measure(tmp: Path) -> Growth:
        return Growth(next(found) * 10.0, 10.0, "ms")

    return Check("merge", "large against small", 4.0, 1.1, "python -m bench.merge", measure)


async def test_a_check_passes_at_todays_ratio_and_fails_at_five_times_it() -> None:
    for check in CHECKS:
        assert check.today * 5 > check.limit > check.today * 2, check.name
    figures, failures = await run((measuring(1.1),))
    assert (figures[0].value, figures[0].met, failures) == (1.1, True, [])
    figures, failures = await run((measuring(5.5, 5.5),))
    assert figures[0].met is False
    assert failures == [
        "guard: merge costs 5.5 x (large against small; limit 4 x, 1.1 x when it was set): "
        "a regression; `python -m bench.merge` tells more"
    ]


async def test_one_unlucky_run_is_measured_again() -> None:
    figures, failures = await run((measuring(6.0, 1.2),))
    assert (figures[0].value, failures) == (1.2, [])
