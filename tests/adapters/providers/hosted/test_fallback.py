"""The ("hosted", operation) operations: a task goes to the first provider of its model,
and on to the next only when one fails transiently; the output says who made it."""

from __future__ import annotations

import pytest

from adapters.operations.hosted import hosted_operations, hosted_providers
from adapters.providers.hosted.keys import provider_settings
from adapters.providers.hosted.replicate import ReplicateProvider
from adapters.providers.hosted.vocabulary import HostedProvider
from engine.errors import TaskFailure
from engine.ports import Operation
from engine.tasks import ErrorKind, TaskMessage

from . import samples
from .conftest import FAST, FakeContext, make_task
from .fake_elevenlabs import FakeElevenLabs
from .fake_fal import FakeFal
from .fake_replicate import FakeReplicate
from .loopback import closed_port_url

Operations = dict[tuple[str, str], Operation]


def image_task() -> TaskMessage:
    return make_task("text_to_image", "flux-schnell", "hosted", prompt="a quiet harbour", seed=1)


async def test_the_first_provider_serves_when_it_is_up(
    operations: Operations, replicate: FakeReplicate, fal: FakeFal
) -> None:
    output = await operations[("hosted", "text_to_image")].run(image_task(), FakeContext())

    assert output.outputs["provider"] == "replicate"
    assert "fallback_from" not in output.outputs
    assert fal.submitted == []


@pytest.mark.parametrize(
    ("trouble", "kind"),
    [("unavailable_creates", ErrorKind.UNAVAILABLE), ("throttled_creates", ErrorKind.RATE_LIMITED)],
)
async def test_a_transient_failure_moves_the_task_to_the_next_provider(
    operations: Operations, replicate: FakeReplicate, fal: FakeFal, trouble: str, kind: ErrorKind
) -> None:
    setattr(replicate.plan, trouble, 1)

    output = await operations[("hosted", "text_to_image")].run(image_task(), FakeContext())

    assert (output.data, output.outputs["provider"]) == (samples.png(), "fal")
    [skipped] = output.outputs["fallback_from"]
    assert (skipped["provider"], skipped["kind"]) == ("replicate", str(kind))
    assert output.outputs["usage"] == {"inference_time": 1.25}


async def test_a_provider_that_cannot_be_reached_is_skipped(
    env: dict[str, str], fal: FakeFal
) -> None:
    down = {**env, "SCENESTATE_REPLICATE_URL": closed_port_url()}
    providers = hosted_providers(down)
    try:
        operation = hosted_operations(down, providers=providers, schedule=FAST)[
            ("hosted", "text_to_image")
        ]
        output = await operation.run(image_task(), FakeContext())
    finally:
        for provider in providers.values():
            await provider.aclose()

    assert output.outputs["provider"] == "fal"
    [skipped] = output.outputs["fallback_from"]
    assert skipped["kind"] == "unavailable"
    assert "could not reach replicate" in skipped["message"]


async def test_a_provider_that_times_out_is_skipped(
    env: dict[str, str],
    providers: dict[str, HostedProvider],
    replicate: FakeReplicate,
    fal: FakeFal,
) -> None:
    replicate.plan.create_delay = 1.0
    impatient = ReplicateProvider(provider_settings(env)["replicate"], timeout=0.1, sync_wait=0)
    try:
        mixed = {**providers, "replicate": impatient}
        operation = hosted_operations(env, providers=mixed, schedule=FAST)[
            ("hosted", "text_to_image")
        ]
        output = await operation.run(image_task(), FakeContext())
    finally:
        await impatient.aclose()

    assert output.outputs["provider"] == "fal"
    assert output.outputs["fallback_from"][0]["kind"] == "timeout"


async def test_refused_content_ends_the_task_without_trying_elsewhere(
    operations: Operations, replicate: FakeReplicate, fal: FakeFal
) -> None:
    replicate.plan.outcome, replicate.plan.error = "failed", "NSFW content detected."

    with pytest.raises(TaskFailure) as caught:
        await operations[("hosted", "text_to_image")].run(image_task(), FakeContext())

    assert caught.value.kind == ErrorKind.CONTENT_REFUSED
    assert fal.submitted == []


async def test_when_every_provider_fails_the_task_is_retried_when_the_first_allows(
    operations: Operations, replicate: FakeReplicate, fal: FakeFal
) -> None:
    replicate.plan.throttled_creates, replicate.plan.retry_after = 1, "9"
    fal.plan.unavailable_submits = 1

    with pytest.raises(TaskFailure) as caught:
        await operations[("hosted", "text_to_image")].run(image_task(), FakeContext())

    assert caught.value.kind == ErrorKind.UNAVAILABLE
    assert caught.value.retry_after == 9.0
    assert "every provider of flux-schnell failed" in caught.value.message
    assert "replicate:" in caught.value.message and "fal:" in caught.value.message


async def test_speech_falls_back_from_elevenlabs_to_fal(
    operations: Operations, elevenlabs: FakeElevenLabs, fal: FakeFal
) -> None:
    elevenlabs.plan.busy = 1
    task = make_task(
        "text_to_speech", "eleven-multilingual-v2", "hosted", text="Hello", voice="default"
    )

    output = await operations[("hosted", "text_to_speech")].run(task, FakeContext())

    assert (output.media_type, output.outputs["provider"]) == ("audio/mpeg", "fal")
    assert fal.submitted[0]["path"] == "/fal-ai/elevenlabs/tts/multilingual-v2"
    assert fal.submitted[0]["body"] == {"text": "Hello", "voice": "Rachel"}


async def test_the_order_comes_from_the_environment(
    env: dict[str, str], replicate: FakeReplicate, fal: FakeFal
) -> None:
    ordered = {**env, "SCENESTATE_HOSTED_ORDER": "fal"}
    providers = hosted_providers(ordered)
    try:
        operation = hosted_operations(ordered, providers=providers, schedule=FAST)[
            ("hosted", "text_to_image")
        ]
        output = await operation.run(image_task(), FakeContext())
    finally:
        for provider in providers.values():
            await provider.aclose()

    assert output.outputs["provider"] == "fal"
    assert replicate.created == []


async def test_a_model_no_provider_offers_is_invalid_input(operations: Operations) -> None:
    task = make_task("text_to_image", "midjourney-7", "hosted", prompt="a cat")

    with pytest.raises(TaskFailure) as caught:
        await operations[("hosted", "text_to_image")].run(task, FakeContext())

    assert caught.value.kind == ErrorKind.INVALID_INPUT
    assert "no hosted provider offers 'midjourney-7' for text_to_image" in caught.value.message
