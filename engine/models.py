"""Which model, on which provider, a studio wants for each kind of work its recipes plan.

A studio chooses per kind of work (image, video, voice, music, text, code); what it
has not chosen is done by the local models, offline. The choice is part of every
task's content key, so switching a kind of work to another model re-runs that work
and what depends on it, and nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from engine.errors import InvalidIntent

WORK_KINDS = ("image", "video", "voice", "music", "text", "code")
LOCAL = "local"
LOCAL_MODELS: dict[str, str] = {
    "image": "local-image-1",
    "video": "local-motion-1",
    "voice": "local-voice-1",
    "music": "local-music-1",
    "text": "local-copy-1",
    "code": "local-page-1",
}
NAME_LIMIT = 200
# The kind of work each operation a recipe plans is.
KIND_OF_OPERATION: dict[str, str] = {
    "text_to_image": "image",
    "image_to_video": "video",
    "text_to_speech": "voice",
    "music": "music",
    "write_copy": "text",
    "write_page": "code",
}


class ModelChoice(msgspec.Struct, frozen=True):
    model: str
    provider: str = LOCAL


class ModelChoices(msgspec.Struct, frozen=True):
    """A studio's choices; `of(kind)` answers for every kind of work."""

    chosen: dict[str, ModelChoice] = {}

    def of(self, kind: str) -> ModelChoice:
        found = self.chosen.get(kind)
        return found if found is not None else ModelChoice(LOCAL_MODELS[kind])

    def with_choice(self, kind: str, choice: ModelChoice | None) -> ModelChoices:
        """These choices with `kind` set to `choice` (None: back to the local model)."""
        chosen = {k: v for k, v in self.chosen.items() if k != kind}
        if choice is not None and choice != ModelChoice(LOCAL_MODELS[kind]):
            chosen[kind] = choice
        return ModelChoices(dict(sorted(chosen.items())))

    def all(self) -> dict[str, ModelChoice]:
        return {kind: self.of(kind) for kind in WORK_KINDS}


LOCAL_CHOICES = ModelChoices()


def check_choice(
    kind: str, model: str, provider: str, known: Mapping[str, Mapping[str, set[str]]]
) -> None:
    """Refuse a kind of work that does not exist, a provider that does not do that kind
    of work, or a model it does not offer for it; `known` maps each provider to the
    kinds of work it does, and each kind to the models it offers for it."""
    if kind not in WORK_KINDS:
        raise InvalidIntent(
            "kind", f"{kind!r} is not a kind of work; kinds: {', '.join(WORK_KINDS)}"
        )
    if not model.strip() or len(model) > NAME_LIMIT:
        raise InvalidIntent("model", f"a model name of 1 to {NAME_LIMIT} characters")
    offered = known.get(provider)
    if offered is None:
        raise InvalidIntent(
            "provider", f"unknown provider {provider!r}; known: {', '.join(sorted(known))}"
        )
    if kind not in offered:
        raise InvalidIntent("provider", f"{provider} does not do {kind} work")
    if model not in offered[kind]:
        models = ", ".join(sorted(offered[kind]))
        raise InvalidIntent(
            "model", f"{provider} offers no {kind} model {model!r}; it offers: {models}"
        )


def local_offers() -> dict[str, set[str]]:
    return {kind: {model} for kind, model in LOCAL_MODELS.items()}
