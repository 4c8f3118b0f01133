"""The surface operations: copy and code that fail their checks are failures of kind
invalid_output with the reason, another try makes another take, and a render fills
the page's names with the copy and media it was given, as a self-contained bundle."""

from __future__ import annotations

import asyncio
import io
import zipfile
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from adapters.artifacts.filesystem import FilesystemArtifactStore
from adapters.bus.memory import MemoryTaskBus
from adapters.operations.surfaces import surface_operations
from adapters.workers import Worker
from engine.errors import TaskFailure
from engine.pages import PageSlots, page_problems
from engine.ports import TaskOutput
from engine.tasks import ErrorKind, Lane, TaskMessage, TaskResult, TaskStatus

OPERATIONS = surface_operations()


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (320, 180), (200, 120, 40)).save(out, format="PNG")
    return out.getvalue()


COPY = [
    {"node": "tagline", "role": "tagline", "limit": 70},
    {"node": "synopsis", "role": "body", "limit": 280},
    {"node": "watch-button", "role": "button", "limit": 24},
    {"node": "poster-alt", "role": "alt", "limit": 125},
]
MEDIA = [{"ref": "root/render", "kind": "video"}, {"ref": "shot-1/image", "kind": "image"}]
PAGE = {"prompt": "a quiet page", "kind": "web", "width": 1280, "height": 800}
PNG = _png()
MP4 = b"\x00\x00\x00\x18ftypisom" + b"film"


class Tries:
    """A task context on its `tries`-th retry, holding the inputs' bytes."""

    def __init__(self, tries: int = 0, **inputs: bytes) -> None:
        self.tries, self.inputs = tries, inputs

    async def input(self, name: str) -> bytes:
        return self.inputs[name]

    async def heartbeat(self) -> None:
        return None


async def run(operation: str, params: dict[str, Any], context: Tries | None = None) -> TaskOutput:
    context = context or Tries()
    task = TaskMessage(
        task_id="t1",
        attempt=1,
        execution_id="x1",
        scene="s1",
        branch="main",
        studio="studio-a",
        lane=Lane.INTERACTIVE,
        operation=operation,
        model="local-copy-1",
        provider="local",
        content_key="k1",
        params=params,
        inputs={name: "0" * 64 for name in context.inputs},
    )
    return await OPERATIONS[("local", operation)].run(task, context)


async def outcomes(operation: str, params: dict[str, Any], takes: int) -> list[str]:
    """What each of `takes` tries gave: the text made, or the failure's message."""
    found = []
    for tries in range(takes):
        try:
            output = await run(operation, params, Tries(tries))
            found.append((output.data or b"").decode())
        except TaskFailure as failure:
            assert failure.kind == ErrorKind.INVALID_OUTPUT
            found.append("FAILED " + failure.message)
    return found


async def test_a_button_too_long_for_its_slot_fails_with_the_reason_and_the_next_take_fits() -> (
    None
):
    params = {"role": "button", "brief": "invite the visitor to watch the film", "limit": 24}
    found = await outcomes("write_copy", params, 12)
    failed = [f for f in found if f.startswith("FAILED")]
    assert failed and any("over its slot's limit of 24" in f for f in failed)
    assert all(len(f) <= 24 for f in found if not f.startswith("FAILED"))
    assert found == await outcomes("write_copy", params, 12)  # deterministic per take


async def test_a_page_that_leaves_out_an_element_or_overflows_fails_and_others_pass() -> None:
    params = {**PAGE, "copy": COPY, "media": MEDIA}
    found = await outcomes("write_page", params, 16)
    reasons = " ".join(f for f in found if f.startswith("FAILED"))
    assert "leaves out" in reasons and "overflows the surface's 1280px" in reasons
    slots = PageSlots(tuple(c["node"] for c in COPY), ("root/render", "shot-1/image"), 1280, 800)
    assert all(page_problems(f, slots) == [] for f in found if not f.startswith("FAILED"))


async def test_the_render_fills_the_names_and_bundles_the_page_with_its_media() -> None:
    params = {**PAGE, "copy": COPY, "media": MEDIA}
    found = await outcomes("write_page", params, 8)
    page = next(f for f in found if not f.startswith("FAILED")).encode()
    context = Tries(
        code=page,
        **{
            "copy:synopsis": b"A film.",
            "copy:watch-button": b"Watch",
            "copy:poster-alt": b"A lighthouse.",
            "media:root/render": MP4,
            "media:shot-1/image": PNG,
        },
    )
    limits = {c["node"]: {"role": c["role"], "limit": c["limit"]} for c in COPY}
    render = {"width": 1280, "height": 800, "copy": {"tagline": "Keep it lit."}, "limits": limits}
    output = await run("render_surface", render, context)
    bundle = zipfile.ZipFile(io.BytesIO(output.data or b""))
    index = bundle.read("index.html").decode()
    assert (
        "Keep it lit." in index
        and ">Watch</button>" in index
        and 'aria-label="A lighthouse."' in index
    )
    with Image.open(io.BytesIO(bundle.read("thumbnail.png"))) as thumb:
        assert thumb.size == (480, 300)  # the surface's 1280x800, small
        assert thumb.getpixel((240, 40)) == (200, 120, 40)  # its picture, on top
    assets = [n for n in bundle.namelist() if n.startswith("assets/")]
    assert sorted(a.rsplit(".", 1)[1] for a in assets) == ["mp4", "png"]
    assert all(f'"{a}"' in index for a in assets)
    assert "http" not in index
    again = await run("render_surface", render, context)
    assert again.data == output.data  # the same inputs, the same artifact


async def test_written_copy_too_long_for_its_slot_fails_the_render_for_good() -> None:
    params = {**PAGE, "copy": COPY[:1], "media": []}
    page = next(f for f in await outcomes("write_page", params, 8) if not f.startswith("FAILED"))
    render = {
        "width": 1280,
        "height": 800,
        "copy": {"tagline": "x" * 90},
        "limits": {"tagline": {"role": "tagline", "limit": 70}},
    }
    with pytest.raises(TaskFailure) as failed:
        await run("render_surface", render, Tries(code=page.encode()))
    assert failed.value.kind == ErrorKind.INVALID_INPUT
    assert (
        "tagline: the tagline is 90 characters, over its slot's limit of 70" in failed.value.message
    )


async def test_a_worker_retries_a_page_that_failed_its_checks_as_the_next_take(
    tmp_path: Path,
) -> None:
    """Through the worker loop and the bus: the first try fails its checks (a take the
    model gets wrong), is delivered again, and the next take passes."""
    takes = await outcomes("write_page", {**PAGE, "copy": COPY, "media": MEDIA}, 40)
    wrong = next(n for n in range(39) if takes[n].startswith("FAILED") and "<html" in takes[n + 1])
    params = {**PAGE, "copy": COPY, "media": MEDIA, "take": wrong}
    task = worker_task("write_page", params)
    result = await through_a_worker(task, tmp_path)
    assert result.status == TaskStatus.SUCCEEDED and result.metrics.deliveries == 2


async def test_a_line_that_never_fits_fails_with_its_reason_not_as_lost(tmp_path: Path) -> None:
    """Every take overruns a one-character slot: the worker's last try reports the
    checks' reason (invalid_output), before the bus would give the task up as lost."""
    params = {"role": "button", "brief": "invite the visitor to watch the film", "limit": 1}
    result = await through_a_worker(worker_task("write_copy", params), tmp_path)

    assert result.status == TaskStatus.FAILED and result.error is not None
    assert result.error.kind == ErrorKind.INVALID_OUTPUT
    assert "over its slot's limit of 1" in result.error.message
    assert result.metrics.deliveries == 5


def worker_task(operation: str, params: dict[str, Any]) -> TaskMessage:
    return TaskMessage(
        task_id=f"t-{operation}",
        attempt=1,
        execution_id="x1",
        scene="s1",
        branch="main",
        studio="studio-a",
        lane=Lane.INTERACTIVE,
        operation=operation,
        model="local",
        provider="local",
        content_key=f"k-{operation}",
        params=params,
    )


async def through_a_worker(task: TaskMessage, artifacts: Path) -> TaskResult:
    """Run one task through a worker loop on the in-process bus; its final result."""
    bus = MemoryTaskBus()
    worker = Worker(
        bus, FilesystemArtifactStore(artifacts), OPERATIONS, [Lane.INTERACTIVE], name="w"
    )
    running = asyncio.create_task(worker.run())
    try:
        await bus.publish_task(task)
        async with asyncio.timeout(20):
            async for delivery in bus.results():
                await delivery.ack()
                if delivery.result.status in (TaskStatus.SUCCEEDED, TaskStatus.FAILED):
                    return delivery.result
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        await bus.close()
    raise AssertionError("the bus closed before the task finished")
