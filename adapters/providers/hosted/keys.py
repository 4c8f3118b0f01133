"""The hosted providers' API keys, base URLs and prices, read from the environment once.

A key lives in an `ApiKey`, whose repr and str never show it; `scrub` takes it out
of any text a provider sends back before that text can reach a message or a log.
A provider whose key variable is unset or empty is simply not configured.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

PROVIDERS = ("replicate", "fal", "elevenlabs")
KEY_VARIABLES = {
    "replicate": "REPLICATE_API_TOKEN",
    "fal": "FAL_KEY",
    "elevenlabs": "ELEVENLABS_API_KEY",
}
DEFAULT_URLS = {
    "replicate": "https://api.replicate.com",
    "fal": "https://queue.fal.run",
    "elevenlabs": "https://api.elevenlabs.io",
}
URL_VARIABLES = {name: f"SCENESTATE_{name.upper()}_URL" for name in PROVIDERS}
# Where large inputs are uploaded, for a provider whose file API has a host of its own.
STORAGE_URLS = {"fal": "https://rest.alpha.fal.ai"}
STORAGE_VARIABLES = {name: f"SCENESTATE_{name.upper()}_STORAGE_URL" for name in STORAGE_URLS}
# US dollars per unit of what each provider bills by (predict seconds, inference
# seconds, characters); none of the three APIs reports a price itself.
PRICE_VARIABLES = {
    "replicate": "SCENESTATE_REPLICATE_USD_PER_SECOND",
    "fal": "SCENESTATE_FAL_USD_PER_SECOND",
    "elevenlabs": "SCENESTATE_ELEVENLABS_USD_PER_CHARACTER",
}
REDACTED = "[redacted]"


class ApiKey:
    """A secret that only `reveal` gives out, for the one header that needs it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not value.strip():
            raise ValueError("an API key cannot be empty")
        self._value = value.strip()

    def reveal(self) -> str:
        return self._value

    def scrub(self, text: str) -> str:
        return text.replace(self._value, REDACTED)

    def __repr__(self) -> str:
        return f"ApiKey({REDACTED})"

    __str__ = __repr__

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("an API key is not pickled; read it from the environment")


@dataclass(frozen=True)
class ProviderSettings:
    name: str
    key: ApiKey
    base_url: str
    key_variable: str
    usd_per_unit: float = 0.0
    storage_url: str | None = None  # the file API's host, when not the API's own


def provider_settings(env: Mapping[str, str]) -> dict[str, ProviderSettings]:
    """Settings of every provider whose key is set in `env`, by provider name."""
    settings = {}
    for name in PROVIDERS:
        raw_key = env.get(KEY_VARIABLES[name], "")
        if not raw_key.strip():
            continue
        settings[name] = ProviderSettings(
            name=name,
            key=ApiKey(raw_key),
            base_url=_base_url(env, name),
            key_variable=KEY_VARIABLES[name],
            usd_per_unit=_price(env, PRICE_VARIABLES[name]),
            storage_url=_storage_url(env, name),
        )
    return settings


def _base_url(env: Mapping[str, str], name: str) -> str:
    url = env.get(URL_VARIABLES[name], "").strip() or DEFAULT_URLS[name]
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"{URL_VARIABLES[name]} must be an http(s) URL, not {url!r}")
    return url.rstrip("/")


def _storage_url(env: Mapping[str, str], name: str) -> str | None:
    if name not in STORAGE_URLS:
        return None
    variable = STORAGE_VARIABLES[name]
    url = env.get(variable, "").strip() or STORAGE_URLS[name]
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"{variable} must be an http(s) URL, not {url!r}")
    return url.rstrip("/")


def _price(env: Mapping[str, str], variable: str) -> float:
    raw = env.get(variable, "").strip()
    if not raw:
        return 0.0
    try:
        price = float(raw)
    except ValueError:
        raise ValueError(f"{variable} must be a number of US dollars, not {raw!r}") from None
    if price < 0:
        raise ValueError(f"{variable} cannot be negative ({raw})")
    return price
