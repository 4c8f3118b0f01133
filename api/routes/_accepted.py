"""The answer to an accepted intent, however it arrived (an intent, a merge, a
cancellation...): the `Accepted` body, with its append latency counted."""

from __future__ import annotations

from fastapi import Response

from api.bootstrap import Api
from api.metrics import add_log_context
from api.schemas.common import Accepted
from api.services.intake import Submission


def accepted(api: Api, submitted: Submission, response: Response | None = None) -> Accepted:
    """`response`: where to say `Idempotent-Replayed: true` when this is a retry's
    answer (the first request's, stored under its idempotency key)."""
    if response is not None and submitted.receipt.duplicate:
        response.headers["Idempotent-Replayed"] = "true"
    api.metrics.append_seconds.observe(submitted.append_seconds)
    add_log_context(execution_id=submitted.receipt.execution_id)
    return Accepted.of(submitted)
