"""Intents: POST appends and answers 202 at once with where the intent landed; the
generation it sets in motion runs elsewhere and streams its progress. What happens to
an intent is `api.services.intake`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.deps import ApiDep, CurrentStudio, RetryDep, SceneId
from api.errors import ERROR_RESPONSES, ApiError
from api.routes._accepted import accepted
from api.schemas.common import BRANCH_PATTERN, Accepted
from api.schemas.intents import IntentCreate, intent_fields
from api.services import intake
from api.services.idempotency import Retry

router = APIRouter(tags=["intents"], responses=ERROR_RESPONSES)

OptionalBranch = Annotated[
    str | None, Query(pattern=BRANCH_PATTERN, description="The branch (default: main).")
]


@router.post(
    "/scenes/{scene}/intents",
    status_code=202,
    response_model=Accepted,
    summary="Send an intent (enqueue first: answers before any generation runs)",
)
async def post_intent(
    scene: SceneId,
    body: IntentCreate,
    principal: CurrentStudio,
    api: ApiDep,
    response: Response,
    retry: RetryDep,
    branch: OptionalBranch = None,
) -> Accepted:
    fields = intent_fields(body)
    if body.scene is not None and body.scene != scene:
        raise ApiError(
            422, f"scene: the body names {body.scene!r} but the path {scene!r}", field="scene"
        )
    fields["scene"] = scene
    fields["branch"] = _agreed("branch", fields.get("branch"), branch) or "main"
    key = _agreed("idempotency_key", fields.get("idempotency_key"), retry.key)
    retry = Retry(key, retry.request)  # the key in the body counts as the header's
    submitted = await intake.submit(api.services, principal.caller, fields, retry=retry)
    return accepted(api, submitted, response)


def _agreed(name: str, in_body: str | None, outside: str | None) -> str | None:
    if in_body is not None and outside is not None and in_body != outside:
        raise ApiError(
            422, f"{name}: the body says {in_body!r} but the request {outside!r}", field=name
        )
    return in_body if in_body is not None else outside
