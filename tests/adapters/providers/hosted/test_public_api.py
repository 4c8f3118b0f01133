"""The hosted providers package shows exactly its public surface."""

from __future__ import annotations

import adapters.providers.hosted as hosted


def test_all_is_exactly_the_public_api() -> None:
    public = {name for name in vars(hosted) if not name.startswith("_")}
    modules = {
        "catalogue",
        "elevenlabs",
        "fal",
        "fallback",
        "keys",
        "media",
        "polling",
        "replicate",
        "text_prompts",
        "vocabulary",
        "webhooks",
    }
    assert set(hosted.__all__) == public - modules
    assert all(getattr(hosted, name) is not None for name in hosted.__all__)
