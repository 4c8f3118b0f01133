"""The answer to an accepted intent, however it arrived (an intent, a merge, a
cancellation...): the `Accepted` body, with its append latency counted."""

from __future__ import annotations

from api.bootstrap import Api
from api.metrics import add_log_context
from api.schemas.common import Accepted
from api.services.intake import Submission


def accepted(api: Api, submitted: Submission) -> Accepted:
    api.metrics.append_seconds.observe(submitted.append_seconds)
    add_log_context(execution_id=submitted.receipt.execution_id)
    return Accepted.of(submitted)
