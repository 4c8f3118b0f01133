"""Keys come from the environment, a provider without one is not registered, and no key
ever shows in a failure, a log record, a repr or an output, however things go wrong."""

from __future__ import annotations

import json
import logging
import pickle

import pytest

from adapters.operations.hosted import hosted_operations, hosted_providers
from adapters.providers.hosted.keys import ApiKey, provider_settings
from adapters.providers.hosted.replicate import ReplicateProvider
from adapters.providers.hosted.vocabulary import HostedRequest
from engine.errors import TaskFailure
from engine.ports import Operation

from .conftest import ELEVENLABS_KEY, FAL_KEY, FAST, KEYS, REPLICATE_TOKEN, FakeContext, make_task
from .fake_elevenlabs import FakeElevenLabs
from .fake_fal import FakeFal
from .fake_replicate import FakeReplicate
from .loopback import closed_port_url

WRONG_KEYS = {
    "REPLICATE_API_TOKEN": "r8_WRONGtoken000",
    "FAL_KEY": "fal-id:WRONGkey000",
    "ELEVENLABS_API_KEY": "sk_WRONGkey000",
}
SECRETS = (*KEYS, *WRONG_KEYS.values())


def test_a_provider_without_a_key_is_not_registered() -> None:
    operations = hosted_operations({"FAL_KEY": FAL_KEY, "REPLICATE_API_TOKEN": "  "})

    assert {provider for provider, _ in operations} == {"fal", "hosted"}
    assert ("fal", "text_to_image") in operations and ("hosted", "text_to_speech") in operations
    assert hosted_operations({}) == {}


def test_settings_read_urls_and_prices_and_refuse_nonsense() -> None:
    settings = provider_settings(
        {
            "FAL_KEY": FAL_KEY,
            "SCENESTATE_FAL_URL": "http://127.0.0.1:9/",
            "SCENESTATE_FAL_USD_PER_SECOND": "0.01",
        }
    )["fal"]
    assert (settings.base_url, settings.usd_per_unit) == ("http://127.0.0.1:9", 0.01)
    with pytest.raises(ValueError, match="SCENESTATE_FAL_USD_PER_SECOND"):
        provider_settings({"FAL_KEY": FAL_KEY, "SCENESTATE_FAL_USD_PER_SECOND": "cheap"})
    with pytest.raises(ValueError, match="SCENESTATE_FAL_URL"):
        provider_settings({"FAL_KEY": FAL_KEY, "SCENESTATE_FAL_URL": "queue.fal.run"})


def test_a_key_never_shows_in_repr_str_or_pickle() -> None:
    key = ApiKey(REPLICATE_TOKEN)
    settings = provider_settings({"REPLICATE_API_TOKEN": REPLICATE_TOKEN})

    for shown in (repr(key), str(key), f"{key}", repr(settings)):
        assert REPLICATE_TOKEN not in shown
    with pytest.raises(TypeError):
        pickle.dumps(key)
    assert key.reveal() == REPLICATE_TOKEN


async def _failures(
    env: dict[str, str],
    replicate: FakeReplicate,
    fal: FakeFal,
    elevenlabs: FakeElevenLabs,
) -> list[TaskFailure]:
    """Every way we know to fail, each with the key somewhere close by."""
    failures: list[TaskFailure] = []

    async def attempt(
        operations: dict[tuple[str, str], Operation], key: tuple[str, str], **params: str
    ) -> None:
        task = make_task(key[1], *_model_and_provider(key), **params)
        try:
            await operations[key].run(task, FakeContext())
        except TaskFailure as failure:
            failures.append(failure)
        else:
            raise AssertionError(f"{key} was meant to fail")

    variants = [env, {**env, **WRONG_KEYS}, {**env, **_urls_of(closed_port_url())}]
    for variant in variants:
        providers = hosted_providers(variant)
        try:
            operations = hosted_operations(variant, providers=providers, schedule=FAST)
            replicate.plan.echo_token = True
            replicate.plan.throttled_creates = 1
            await attempt(operations, ("replicate", "text_to_image"), prompt="x")
            replicate.plan.unavailable_creates = 1
            await attempt(operations, ("replicate", "text_to_image"), prompt="x")
            token = variant["REPLICATE_API_TOKEN"]
            replicate.plan.outcome, replicate.plan.error = "failed", f"bad token {token}"
            await attempt(operations, ("replicate", "text_to_image"), prompt="x")
            replicate.reset()
            replicate.plan.echo_token = True
            try:
                await providers["replicate"].submit(
                    HostedRequest("black-forest-labs/flux-schnell", {})
                )
            except TaskFailure as failure:
                failures.append(failure)
            fal.plan.unavailable_submits = 1
            await attempt(operations, ("fal", "text_to_image"), prompt="x")
            elevenlabs.plan.busy = 1
            await attempt(operations, ("elevenlabs", "text_to_speech"), text="x")
            await attempt(operations, ("hosted", "text_to_image"), prompt="")
            fal.reset()
            elevenlabs.reset()
        finally:
            for provider in providers.values():
                await provider.aclose()
    return failures


def _model_and_provider(key: tuple[str, str]) -> tuple[str, str]:
    model = {"text_to_image": "flux-schnell", "text_to_speech": "eleven-multilingual-v2"}[key[1]]
    return model, key[0]


def _urls_of(url: str) -> dict[str, str]:
    return {f"SCENESTATE_{name}_URL": url for name in ("REPLICATE", "FAL", "ELEVENLABS")}


async def test_no_key_reaches_a_failure_or_a_log_record(
    env: dict[str, str],
    replicate: FakeReplicate,
    fal: FakeFal,
    elevenlabs: FakeElevenLabs,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)

    failures = await _failures(env, replicate, fal, elevenlabs)

    assert len(failures) >= 18
    said = [str(f) for f in failures] + [f.message for f in failures]
    logged = [record.getMessage() for record in caplog.records]
    logged += [record.exc_text or "" for record in caplog.records]
    assert any("[redacted]" in text for text in said)  # the echoes were there, and scrubbed
    for secret in SECRETS:
        assert not [text for text in said if secret in text], secret
        assert not [text for text in logged if secret in text], secret


async def test_no_key_reaches_the_outputs_of_a_success(
    env: dict[str, str], replicate: FakeReplicate, fal: FakeFal, elevenlabs: FakeElevenLabs
) -> None:
    providers = hosted_providers(env)
    try:
        operations = hosted_operations(env, providers=providers, schedule=FAST)
        outputs = [
            await operations[key].run(
                make_task(key[1], *_model_and_provider(key), **params), FakeContext()
            )
            for key, params in (
                (("replicate", "text_to_image"), {"prompt": "x"}),
                (("fal", "text_to_image"), {"prompt": "x"}),
                (("elevenlabs", "text_to_speech"), {"text": "x"}),
            )
        ]
        shown = [repr(p) for p in providers.values()] + [repr(op) for op in operations.values()]
    finally:
        for provider in providers.values():
            await provider.aclose()
    written = json.dumps([o.outputs for o in outputs]) + " ".join(shown)
    for secret in KEYS:
        assert secret not in written


async def test_the_replicate_provider_sends_its_token_only_to_the_api(
    env: dict[str, str], replicate: FakeReplicate
) -> None:
    provider = ReplicateProvider(provider_settings(env)["replicate"])
    try:
        await provider.submit(HostedRequest("black-forest-labs/flux-schnell", {"prompt": "x"}))
    finally:
        await provider.aclose()
    assert replicate.created[0]["headers"]["authorization"] == f"Bearer {REPLICATE_TOKEN}"
    assert ELEVENLABS_KEY not in json.dumps(replicate.created)
