"""Large inputs go to a provider through its file API, not inline: over the inline
limit, Replicate gets the image through its files API and fal through its storage
(initiate, then a PUT to the presigned URL that carries no key); the model's input
names the uploaded file's URL."""

from __future__ import annotations

import functools
import io

import numpy as np
from PIL import Image

from adapters.operations.hosted import INLINE_LIMIT
from engine.ports import Operation

from .conftest import FAL_KEY, REPLICATE_TOKEN, FakeContext, make_task
from .fake_fal import FakeFal
from .fake_replicate import FakeReplicate

Operations = dict[tuple[str, str], Operation]


@functools.cache
def large_png() -> bytes:
    """A picture too large to send inline (noise does not compress)."""
    pixels = np.random.default_rng(7).integers(0, 256, (400, 400, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="PNG")
    assert len(out.getvalue()) > INLINE_LIMIT
    return out.getvalue()


def clip_task(provider: str) -> object:
    return make_task("image_to_video", "kling-1.6-standard", provider, duration=3.0)


async def test_replicate_reads_a_large_image_from_its_files_api(
    operations: Operations, replicate: FakeReplicate
) -> None:
    replicate.plan.media = "video"

    await operations[("replicate", "image_to_video")].run(
        clip_task("replicate"), FakeContext({"image": large_png()})
    )

    [(file_id, (media_type, data))] = replicate.uploads.items()
    assert (media_type, data) == ("image/png", large_png())
    sent = replicate.created[0]["body"]["input"]["start_image"]
    assert sent.endswith(f"/v1/files/{file_id}") and not sent.startswith("data:")


async def test_fal_reads_a_large_image_from_its_storage_and_the_put_carries_no_key(
    operations: Operations, fal: FakeFal
) -> None:
    await operations[("fal", "image_to_video")].run(
        clip_task("fal"), FakeContext({"image": large_png()})
    )

    [initiated] = fal.initiated
    assert initiated["headers"]["authorization"] == f"Key {FAL_KEY}"
    assert initiated["body"]["content_type"] == "image/png"
    [(media_type, data, headers)] = fal.uploads.values()
    assert (media_type, data) == ("image/png", large_png())
    assert "authorization" not in headers
    assert all(REPLICATE_TOKEN not in v and FAL_KEY not in v for v in headers.values())
    sent = fal.submitted[0]["body"]["image_url"]
    assert sent.startswith("http") and sent.endswith(".png")
