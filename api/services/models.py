"""Which model, on which provider, a studio's recipes plan for each kind of work: the
studio's choices, choosing one, and going back to the local model."""

from __future__ import annotations

from api.services import Services
from api.services.tenancy import now_micros
from engine.models import (
    KIND_OF_OPERATION,
    LOCAL,
    LOCAL_MODELS,
    ModelChoice,
    ModelChoices,
    check_choice,
    local_offers,
)

HOSTED = "hosted"  # any configured provider offering the model, in fallback order


def known_models() -> dict[str, dict[str, set[str]]]:
    """Provider -> kind of work -> the models it offers for it: the local models, each
    hosted provider's catalogue, and `hosted` (whichever provider offers the model)."""
    # imported here: the hosted package loads httpx, which other commands need not pay for
    from adapters.providers.hosted.catalogue import OFFERS

    known: dict[str, dict[str, set[str]]] = {LOCAL: local_offers()}
    for offer in OFFERS:
        kind = KIND_OF_OPERATION.get(offer.operation)
        if kind is None:
            continue
        for provider in (offer.provider, HOSTED):
            known.setdefault(provider, {}).setdefault(kind, set()).add(offer.model)
    return known


async def model_choices(services: Services, studio: str) -> ModelChoices:
    return await services.tenancy_store.model_choices(studio)


async def choose_model(
    services: Services, studio: str, kind: str, model: str, provider: str
) -> ModelChoices:
    """Plan `model` on `provider` for the studio's `kind` of work from now on; refused,
    changing nothing, when the provider does not offer that model for that kind."""
    check_choice(kind, model, provider, known_models())
    await services.tenancy_store.choose_model(
        studio, kind, ModelChoice(model, provider), now_micros()
    )
    services.chosen_models.forget(studio)
    return await model_choices(services, studio)


async def use_local_model(services: Services, studio: str, kind: str) -> ModelChoices:
    check_choice(kind, LOCAL_MODELS.get(kind, ""), LOCAL, known_models())
    await services.tenancy_store.choose_model(studio, kind, None, now_micros())
    services.chosen_models.forget(studio)
    return await model_choices(services, studio)
