"""fal through its provider adapter and the operations, against a loopback server that
answers as fal's queue API documents."""

from __future__ import annotations

import asyncio
import io

import av
import pytest

from adapters.providers.hosted.fal import request_status
from adapters.providers.hosted.vocabulary import HostedProvider, HostedRequest
from engine.errors import TaskFailure
from engine.ports import Operation
from engine.tasks import ErrorKind, TaskMessage, TaskStatus

from . import samples
from .conftest import FakeContext, make_task, until
from .fake_fal import FakeFal

Operations = dict[tuple[str, str], Operation]
FLUX = "fal-ai/flux/schnell"


def image_task(**params: object) -> TaskMessage:
    defaults: dict[str, object] = {"prompt": "a red kite", "seed": 3, "width": 320, "height": 180}
    return make_task("text_to_image", "flux-schnell", "fal", **{**defaults, **params})


async def test_a_request_waits_in_queue_then_runs_then_completes(
    providers: dict[str, HostedProvider], fal: FakeFal
) -> None:
    provider = providers["fal"]
    job = await provider.submit(HostedRequest(FLUX, {"prompt": "a red kite"}))
    assert job.last is not None and job.last.state == TaskStatus.QUEUED

    seen = []
    while True:
        status = await provider.status(job)
        seen.append((status.state, status.provider_status, status.queue_position))
        if status.settled:
            break

    assert seen == [
        (TaskStatus.QUEUED, "IN_QUEUE", 2),
        (TaskStatus.QUEUED, "IN_QUEUE", 1),
        (TaskStatus.QUEUED, "IN_QUEUE", 0),
        (TaskStatus.RUNNING, "IN_PROGRESS", None),
        (TaskStatus.SUCCEEDED, "COMPLETED", None),
    ]
    assert status.usage == {"inference_time": 1.25}


async def test_text_to_image_through_the_queue(operations: Operations, fal: FakeFal) -> None:
    output = await operations[("fal", "text_to_image")].run(image_task(), FakeContext())

    assert (output.data, output.media_type) == (samples.png(), "image/png")
    assert output.outputs["provider"] == "fal"
    assert output.outputs["provider_model"] == FLUX
    submitted = fal.submitted[0]
    assert submitted["path"] == f"/{FLUX}"
    assert submitted["headers"]["authorization"].startswith("Key ")
    assert submitted["body"]["image_size"] == {"width": 320, "height": 180}
    assert submitted["body"]["prompt"] == "a red kite"


async def test_status_and_result_urls_leave_out_the_models_subpath(
    operations: Operations, fal: FakeFal
) -> None:
    output = await operations[("fal", "text_to_image")].run(image_task(), FakeContext())

    request_id = output.outputs["job"]
    after_submit = fal.paths[1:]
    assert after_submit
    assert all(path.startswith(f"/fal-ai/flux/requests/{request_id}") for path in after_submit)


async def test_the_output_download_never_carries_the_key(
    operations: Operations, fal: FakeFal
) -> None:
    await operations[("fal", "text_to_image")].run(image_task(), FakeContext())

    assert fal.downloads
    assert all("authorization" not in headers for headers in fal.downloads)


async def test_image_to_video_returns_a_clip_that_plays(
    operations: Operations, fal: FakeFal
) -> None:
    task = make_task("image_to_video", "kling-1.6-standard", "fal", duration=7.5)

    output = await operations[("fal", "image_to_video")].run(
        task, FakeContext({"image": samples.png()})
    )

    assert output.media_type == "video/mp4"
    with av.open(io.BytesIO(output.data or b"")) as container:
        stream = container.streams.video[0]
        assert (stream.width, stream.height) == (samples.WIDTH, samples.HEIGHT)
    sent = fal.submitted[0]
    assert sent["path"] == "/fal-ai/kling-video/v1.6/standard/image-to-video"
    assert sent["body"]["image_url"].startswith("data:image/png;base64,")
    assert sent["body"]["duration"] == "10"


async def test_cancelling_the_task_cancels_the_queued_request(
    operations: Operations, fal: FakeFal
) -> None:
    fal.plan.queue_positions = tuple(range(10_000, 0, -1))
    running = asyncio.create_task(
        operations[("fal", "text_to_image")].run(image_task(), FakeContext())
    )
    await until(lambda: any(entry["reads"] >= 2 for entry in fal.requests.values()))

    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running

    [request_id] = fal.requests
    assert fal.canceled == [request_id]
    assert fal.requests[request_id]["state"] == "CANCELED"


async def test_cancelling_a_request_that_already_completed_is_fine(
    providers: dict[str, HostedProvider], fal: FakeFal
) -> None:
    provider = providers["fal"]
    job = await provider.submit(HostedRequest(FLUX, {"prompt": "a red kite"}))
    for _ in range(5):
        await provider.status(job)

    await provider.cancel(job)  # the job we hold still says IN_QUEUE: fal answers 400

    assert fal.canceled == [job.id]


@pytest.mark.parametrize(
    ("error_type", "kind"),
    [
        ("request_timeout", ErrorKind.TIMEOUT),
        ("runner_disconnected", ErrorKind.UNAVAILABLE),
        ("internal_error", ErrorKind.INTERNAL),
    ],
)
async def test_a_failed_request_maps_its_error_type(
    operations: Operations, fal: FakeFal, error_type: str, kind: ErrorKind
) -> None:
    fal.plan.error, fal.plan.error_type = "the runner gave up", error_type

    with pytest.raises(TaskFailure) as caught:
        await operations[("fal", "text_to_image")].run(image_task(), FakeContext())

    assert caught.value.kind == kind
    assert f"the runner gave up ({error_type})" in caught.value.message


async def test_a_flagged_image_is_content_refused(operations: Operations, fal: FakeFal) -> None:
    fal.plan.nsfw = True

    with pytest.raises(TaskFailure) as caught:
        await operations[("fal", "text_to_image")].run(image_task(), FakeContext())

    assert caught.value.kind == ErrorKind.CONTENT_REFUSED
    assert fal.downloads == []  # the blank stand-in image is never fetched


async def test_a_content_policy_violation_is_content_refused(
    operations: Operations, fal: FakeFal
) -> None:
    fal.plan.result_refusal = True

    with pytest.raises(TaskFailure) as caught:
        await operations[("fal", "text_to_image")].run(image_task(), FakeContext())

    assert caught.value.kind == ErrorKind.CONTENT_REFUSED
    assert "content_policy_violation" in caught.value.message


async def test_a_validation_error_is_invalid_input_with_the_field(
    providers: dict[str, HostedProvider], fal: FakeFal
) -> None:
    with pytest.raises(TaskFailure) as caught:
        await providers["fal"].submit(HostedRequest(FLUX, {"seed": 1}))

    assert caught.value.kind == ErrorKind.INVALID_INPUT
    assert "body.prompt: field required" in caught.value.message


async def test_no_runner_is_unavailable(operations: Operations, fal: FakeFal) -> None:
    fal.plan.unavailable_submits = 1

    with pytest.raises(TaskFailure) as caught:
        await operations[("fal", "text_to_image")].run(image_task(), FakeContext())

    assert caught.value.kind == ErrorKind.UNAVAILABLE
    assert "No runner could be allocated" in caught.value.message


def test_statuses_map_onto_the_one_vocabulary() -> None:
    queued = request_status({"status": "IN_QUEUE", "queue_position": 4})
    assert (queued.state, queued.queue_position) == (TaskStatus.QUEUED, 4)
    assert request_status({"status": "IN_PROGRESS"}).state == TaskStatus.RUNNING
    assert request_status({"status": "COMPLETED"}).state == TaskStatus.SUCCEEDED
    unknown = request_status({"status": "LOST"})
    assert (unknown.state, unknown.error_kind) == (TaskStatus.FAILED, ErrorKind.INTERNAL)


async def test_queue_urls_on_another_host_are_rebuilt_not_sent_the_key(
    operations: Operations, fal: FakeFal
) -> None:
    fal.plan.foreign_urls = True

    output = await operations[("fal", "text_to_image")].run(image_task(), FakeContext())

    assert output.data == samples.png()
    assert f"/fal-ai/flux/requests/{output.outputs['job']}/status" in fal.paths
