"""Replicate through the text_to_image and image_to_video operations, against a loopback
server that answers as Replicate's HTTP API documents."""

from __future__ import annotations

import asyncio
import time

import pytest

from adapters.operations.hosted import HostedGeneration
from adapters.providers.hosted.keys import provider_settings
from adapters.providers.hosted.replicate import ReplicateProvider, prediction_status
from adapters.providers.hosted.vocabulary import HostedProvider, HostedRequest
from engine.errors import TaskFailure
from engine.ports import Operation
from engine.tasks import ErrorKind, TaskMessage, TaskStatus

from . import samples
from .conftest import FAST, REPLICATE_TOKEN, FakeContext, make_task, until
from .fake_replicate import FakeReplicate

Operations = dict[tuple[str, str], Operation]


def image_task(**params: object) -> TaskMessage:
    defaults: dict[str, object] = {"prompt": "a lighthouse at dusk", "seed": 7, "take": 0}
    return make_task("text_to_image", "flux-schnell", "replicate", **{**defaults, **params})


async def test_a_prediction_is_polled_from_starting_to_succeeded(
    operations: Operations, replicate: FakeReplicate
) -> None:
    replicate.plan.starting_reads, replicate.plan.processing_reads = 2, 2
    context = FakeContext()

    output = await operations[("replicate", "text_to_image")].run(
        image_task(width=1280, height=720), context
    )

    assert output.data == samples.png()
    assert output.media_type == "image/png"
    assert output.outputs["provider"] == "replicate"
    assert output.outputs["model"] == "flux-schnell"
    assert output.outputs["provider_model"] == "black-forest-labs/flux-schnell"
    assert output.outputs["usage"] == {"predict_time": 2.5}
    created = replicate.created[0]
    assert created["path"] == "/v1/models/black-forest-labs/flux-schnell/predictions"
    assert created["headers"]["prefer"] == "wait=10"
    assert created["body"]["input"]["prompt"] == "a lighthouse at dusk"
    assert created["body"]["input"]["aspect_ratio"] == "16:9"
    assert replicate.reads[output.outputs["job"]] == 5  # 2 starting, 2 processing, 1 settled
    assert context.heartbeats >= 5


async def test_prefer_wait_answers_a_quick_prediction_without_any_polling(
    operations: Operations, replicate: FakeReplicate
) -> None:
    replicate.plan.quick = True

    output = await operations[("replicate", "text_to_image")].run(image_task(), FakeContext())

    assert output.data == samples.png()
    assert replicate.reads[output.outputs["job"]] == 0


async def test_a_price_per_second_turns_predict_time_into_cost(
    env: dict[str, str], replicate: FakeReplicate
) -> None:
    settings = provider_settings({**env, "SCENESTATE_REPLICATE_USD_PER_SECOND": "0.002"})
    provider = ReplicateProvider(settings["replicate"])
    try:
        operation = HostedGeneration(provider, "text_to_image", schedule=FAST, usd_per_unit=0.002)
        output = await operation.run(image_task(), FakeContext())
    finally:
        await provider.aclose()
    assert output.cost == pytest.approx(2.5 * 0.002)


async def test_the_output_download_never_carries_the_token(
    operations: Operations, replicate: FakeReplicate
) -> None:
    await operations[("replicate", "text_to_image")].run(image_task(), FakeContext())

    assert replicate.downloads
    assert all("authorization" not in headers for headers in replicate.downloads)


@pytest.mark.parametrize(
    ("outcome", "why"),
    [("aborted", "deadline before it started"), ("canceled", "past its deadline")],
)
async def test_a_prediction_stopped_at_replicate_is_a_timeout_worth_retrying(
    operations: Operations, replicate: FakeReplicate, outcome: str, why: str
) -> None:
    replicate.plan.outcome = outcome

    with pytest.raises(TaskFailure) as caught:
        await operations[("replicate", "text_to_image")].run(image_task(), FakeContext())

    assert caught.value.kind == ErrorKind.TIMEOUT
    assert f"ended {outcome}" in caught.value.message
    assert why in caught.value.message


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (
            "NSFW content detected. Try running it again, or try a different prompt.",
            ErrorKind.CONTENT_REFUSED,
        ),
        ("CUDA out of memory", ErrorKind.INTERNAL),
        ("Prediction interrupted; please retry (code: PA)", ErrorKind.UNAVAILABLE),
    ],
)
async def test_a_failed_prediction_says_why_in_the_right_kind(
    operations: Operations, replicate: FakeReplicate, error: str, kind: ErrorKind
) -> None:
    replicate.plan.outcome, replicate.plan.error = "failed", error

    with pytest.raises(TaskFailure) as caught:
        await operations[("replicate", "text_to_image")].run(image_task(), FakeContext())

    assert caught.value.kind == kind
    assert error in caught.value.message


async def test_429_is_rate_limited_with_the_retry_after_replicate_asked_for(
    operations: Operations, replicate: FakeReplicate
) -> None:
    replicate.plan.throttled_creates = 1

    with pytest.raises(TaskFailure) as caught:
        await operations[("replicate", "text_to_image")].run(image_task(), FakeContext())

    assert caught.value.kind == ErrorKind.RATE_LIMITED
    assert caught.value.retry_after == 7.0
    assert "Request was throttled" in caught.value.message


async def test_a_refused_token_is_invalid_input_naming_the_variable_not_the_token(
    env: dict[str, str], replicate: FakeReplicate
) -> None:
    wrong = "r8_wrongTOKEN"
    settings = provider_settings({**env, "REPLICATE_API_TOKEN": wrong})
    provider = ReplicateProvider(settings["replicate"])
    try:
        with pytest.raises(TaskFailure) as caught:
            await HostedGeneration(provider, "text_to_image", schedule=FAST).run(
                image_task(), FakeContext()
            )
    finally:
        await provider.aclose()
    assert caught.value.kind == ErrorKind.INVALID_INPUT
    assert "refused the API key from REPLICATE_API_TOKEN" in caught.value.message
    assert wrong not in str(caught.value)


async def test_422_is_invalid_input_with_replicates_detail(
    providers: dict[str, HostedProvider], replicate: FakeReplicate
) -> None:
    request = HostedRequest("black-forest-labs/flux-schnell", {"seed": 1})
    with pytest.raises(TaskFailure) as caught:
        await providers["replicate"].submit(request)
    assert caught.value.kind == ErrorKind.INVALID_INPUT
    assert "prompt is required" in caught.value.message
    assert "HTTP 422" in caught.value.message


async def test_5xx_on_create_is_unavailable(
    operations: Operations, replicate: FakeReplicate
) -> None:
    replicate.plan.unavailable_creates = 1

    with pytest.raises(TaskFailure) as caught:
        await operations[("replicate", "text_to_image")].run(image_task(), FakeContext())

    assert caught.value.kind == ErrorKind.UNAVAILABLE


async def test_a_bad_gateway_while_polling_is_ridden_out(
    operations: Operations, replicate: FakeReplicate
) -> None:
    replicate.plan.unavailable_reads = 2

    output = await operations[("replicate", "text_to_image")].run(image_task(), FakeContext())

    assert output.data == samples.png()
    assert replicate.canceled == []


async def test_a_429_while_polling_waits_as_long_as_replicate_asked(
    operations: Operations, replicate: FakeReplicate
) -> None:
    replicate.plan.throttled_reads, replicate.plan.retry_after = 1, "0.3"
    started = time.monotonic()

    output = await operations[("replicate", "text_to_image")].run(image_task(), FakeContext())

    assert output.data == samples.png()
    assert time.monotonic() - started >= 0.3


async def test_image_to_video_sends_the_image_as_a_data_uri_and_returns_the_clip(
    operations: Operations, replicate: FakeReplicate
) -> None:
    replicate.plan.media = "video"
    task = make_task(
        "image_to_video", "kling-1.6-standard", "replicate", duration=3.2, motion="pan-zoom"
    )

    output = await operations[("replicate", "image_to_video")].run(
        task, FakeContext({"image": samples.png()})
    )

    assert output.media_type == "video/mp4"
    assert output.data == samples.mp4()
    sent = replicate.created[0]["body"]["input"]
    assert sent["start_image"].startswith("data:image/png;base64,")
    assert sent["duration"] == 5  # Kling makes 5 s or 10 s clips
    assert sent["prompt"] == "pan-zoom"


async def test_a_model_replicate_does_not_offer_is_invalid_input_listing_those_it_does(
    operations: Operations, replicate: FakeReplicate
) -> None:
    task = make_task("text_to_image", "dall-e-3", "replicate", prompt="a cat")

    with pytest.raises(TaskFailure) as caught:
        await operations[("replicate", "text_to_image")].run(task, FakeContext())

    assert caught.value.kind == ErrorKind.INVALID_INPUT
    assert "'dall-e-3'" in caught.value.message and "flux-schnell" in caught.value.message
    assert replicate.created == []


async def test_cancelling_the_task_cancels_the_prediction(
    operations: Operations, replicate: FakeReplicate
) -> None:
    replicate.plan.processing_reads = 10_000
    running = asyncio.create_task(
        operations[("replicate", "text_to_image")].run(image_task(), FakeContext())
    )
    await until(lambda: any(p["status"] == "processing" for p in replicate.predictions.values()))

    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running

    [prediction_id] = replicate.predictions
    assert replicate.canceled == [prediction_id]
    assert replicate.predictions[prediction_id]["status"] == "canceled"


def test_every_documented_status_maps_onto_the_one_vocabulary() -> None:
    expected = {
        "starting": TaskStatus.QUEUED,
        "processing": TaskStatus.RUNNING,
        "succeeded": TaskStatus.SUCCEEDED,
        "failed": TaskStatus.FAILED,
        "canceled": TaskStatus.CANCELED,
        "aborted": TaskStatus.CANCELED,
    }
    for raw, state in expected.items():
        status = prediction_status({"id": "p", "status": raw})
        assert (status.state, status.provider_status) == (state, raw)
    unknown = prediction_status({"id": "p", "status": "exploded"})
    assert (unknown.state, unknown.error_kind) == (TaskStatus.FAILED, ErrorKind.INTERNAL)


async def test_the_provider_repr_shows_no_token(providers: dict[str, HostedProvider]) -> None:
    assert REPLICATE_TOKEN not in repr(providers["replicate"])
