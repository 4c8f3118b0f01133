"""Copy and pages on hosted language models (Replicate's meta-llama-3-8b-instruct, fal's
any-llm): the instruction they are sent, their answer as the task's output without
quotes or fences, the same checks as the local models (a failure is invalid_output and
the next try is a new seed), cost, and fallback when a provider is down."""

from __future__ import annotations

import pytest

from adapters.operations.hosted import hosted_operations
from adapters.providers.hosted.vocabulary import HostedProvider
from adapters.providers.local.page_layout import CopySlot, MediaSlot, PageAsk, write_page
from engine.errors import TaskFailure
from engine.ports import Operation
from engine.tasks import ErrorKind, TaskMessage

from .conftest import FAST, FakeContext, make_task
from .fake_fal import FakeFal
from .fake_replicate import FakeReplicate

Operations = dict[tuple[str, str], Operation]
MODEL = "llama-3-8b-instruct"
COPY = [{"node": "tagline", "role": "tagline", "limit": 70}]
MEDIA = [{"ref": "root/render", "kind": "video"}]


def copy_task(provider: str, limit: int = 24) -> TaskMessage:
    return make_task(
        "write_copy",
        MODEL,
        provider,
        role="button",
        brief="invite the visitor to watch the film",
        tone="quiet",
        limit=limit,
        seed=1,
        take=0,
    )


def page_task(provider: str) -> TaskMessage:
    return make_task(
        "write_page",
        MODEL,
        provider,
        prompt="a quiet page",
        kind="web",
        width=1280,
        height=800,
        copy=COPY,
        media=MEDIA,
        seed=0,
        take=0,
    )


def good_page() -> str:
    ask = PageAsk(
        "a quiet page", "T", "web", 1280, 800, [CopySlot("tagline", "tagline", 70)],
        [MediaSlot("root/render", "video")],
    )  # fmt: skip
    return write_page(ask)


async def test_replicate_writes_a_line_of_copy_from_its_instruction(
    operations: Operations, replicate: FakeReplicate
) -> None:
    replicate.plan.media = "text"

    output = await operations[("replicate", "write_copy")].run(
        copy_task("replicate"), FakeContext()
    )

    assert output.data == b"Watch the film" and output.media_type.startswith("text/plain")
    [created] = replicate.created
    assert created["path"] == "/v1/models/meta/meta-llama-3-8b-instruct/predictions"
    sent = created["body"]["input"]
    assert "button" in sent["prompt"] and "at most 24 characters" in sent["prompt"]
    assert "no quotes" in sent["system_prompt"]
    assert output.outputs["usage"] == {"predict_time": 2.5}


async def test_copy_too_long_for_its_slot_fails_as_invalid_output_and_a_retry_sends_a_new_seed(
    operations: Operations, replicate: FakeReplicate
) -> None:
    replicate.plan.media = "text"
    replicate.plan.text = "Come inside and watch the whole film about the keeper tonight"
    operation = operations[("replicate", "write_copy")]

    with pytest.raises(TaskFailure) as failed:
        await operation.run(copy_task("replicate"), FakeContext())
    retry = FakeContext()
    retry.tries = 1  # type: ignore[misc]
    with pytest.raises(TaskFailure):
        await operation.run(copy_task("replicate"), retry)

    assert failed.value.kind == ErrorKind.INVALID_OUTPUT
    assert "over its slot's limit of 24" in failed.value.message
    seeds = [c["body"]["input"]["seed"] for c in replicate.created]
    assert len(set(seeds)) == 2


async def test_fal_any_llm_writes_a_page_and_its_fence_is_taken_off(
    operations: Operations, fal: FakeFal
) -> None:
    fal.plan.text = f"```html\n{good_page()}\n```"

    output = await operations[("fal", "write_page")].run(page_task("fal"), FakeContext())

    assert (output.data or b"").decode() == good_page().strip()
    [submitted] = fal.submitted
    assert submitted["path"] == "/fal-ai/any-llm"
    prompt = submitted["body"]["prompt"]
    assert 'data-node="tagline"' in prompt and 'data-media="root/render"' in prompt
    assert '<meta name="surface" content="1280x800">' in prompt


async def test_a_page_that_loads_from_outside_or_leaves_out_copy_is_refused(
    operations: Operations, fal: FakeFal
) -> None:
    fal.plan.text = (
        good_page()
        .replace('data-node="tagline"', 'data-x="1"')
        .replace("</head>", '<script src="https://cdn.example/x.js"></script></head>')
    )

    with pytest.raises(TaskFailure) as failed:
        await operations[("fal", "write_page")].run(page_task("fal"), FakeContext())

    assert failed.value.kind == ErrorKind.INVALID_OUTPUT
    assert "leaves out the copy 'tagline'" in failed.value.message
    assert "loads 'https://cdn.example/x.js' from outside" in failed.value.message


async def test_copy_falls_back_to_fal_when_replicate_is_down(
    operations: Operations, replicate: FakeReplicate, fal: FakeFal
) -> None:
    replicate.plan.unavailable_creates = 1

    output = await operations[("hosted", "write_copy")].run(copy_task("hosted"), FakeContext())

    assert output.data == b"Watch the film" and output.outputs["provider"] == "fal"
    [skipped] = output.outputs["fallback_from"]
    assert skipped["provider"] == "replicate"


async def test_a_line_of_copy_costs_what_the_provider_bills_for_it(
    env: dict[str, str], providers: dict[str, HostedProvider], replicate: FakeReplicate
) -> None:
    replicate.plan.media = "text"
    priced = {**env, "SCENESTATE_REPLICATE_USD_PER_SECOND": "0.001"}
    operation = hosted_operations(priced, providers=providers, schedule=FAST)[
        ("replicate", "write_copy")
    ]

    output = await operation.run(copy_task("replicate"), FakeContext())

    assert output.cost == pytest.approx(2.5 * 0.001)  # predict_time 2.5 s
