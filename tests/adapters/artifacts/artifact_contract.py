"""The contract of an artifact store (`engine.ports.ArtifactStore` plus metadata and
byte ranges), one suite for every adapter.

A test module subclasses `ArtifactStoreContract` and provides a `store` fixture: a
fresh, empty store that the fixture cleans up afterwards.
"""

from __future__ import annotations

import hashlib
import os

import pytest

from adapters.artifacts.metadata import MediaArtifactStore
from engine.errors import NotFound
from tests.adapters.artifacts.media_samples import mp4_bytes, png_bytes, wav_bytes

UNKNOWN = "0" * 64
BAD_NAMES = [
    "../etc/passwd",
    "/etc/passwd",
    "A" * 64,
    "a" * 63,
    "a" * 65,
    "a" * 64 + "\n",
    "../" + "a" * 61,
    "",
]


async def read_range(
    store: MediaArtifactStore, artifact: str, start: int = 0, end: int | None = None
) -> bytes:
    return b"".join([chunk async for chunk in await store.open_range(artifact, start, end)])


class ArtifactStoreContract:
    async def test_put_returns_the_sha256_and_get_returns_the_bytes(
        self, store: MediaArtifactStore
    ) -> None:
        data = b'{"hello": "studio"}'
        artifact = await store.put(data, "application/json")
        assert artifact == hashlib.sha256(data).hexdigest()
        assert await store.get(artifact) == data
        assert await store.exists(artifact)

    async def test_putting_the_same_bytes_twice_keeps_one_artifact(
        self, store: MediaArtifactStore
    ) -> None:
        first = await store.put(b"same", "text/plain")
        second = await store.put(b"same", "text/plain")
        assert first == second
        assert await store.get(first) == b"same"
        assert (await store.metadata(first)).media_type == "text/plain"

    async def test_an_empty_artifact_round_trips(self, store: MediaArtifactStore) -> None:
        artifact = await store.put(b"", "application/octet-stream")
        assert await store.get(artifact) == b""
        assert (await store.metadata(artifact)).size == 0
        assert await read_range(store, artifact) == b""

    async def test_an_unknown_artifact_is_not_found(self, store: MediaArtifactStore) -> None:
        assert not await store.exists(UNKNOWN)
        with pytest.raises(NotFound):
            await store.get(UNKNOWN)
        with pytest.raises(NotFound):
            await store.metadata(UNKNOWN)
        with pytest.raises(NotFound):
            await store.open_range(UNKNOWN)

    @pytest.mark.parametrize("name", BAD_NAMES)
    async def test_a_name_that_is_not_a_sha256_is_refused(
        self, store: MediaArtifactStore, name: str
    ) -> None:
        with pytest.raises(ValueError, match="not an artifact id"):
            await store.get(name)
        with pytest.raises(ValueError, match="not an artifact id"):
            await store.exists(name)
        with pytest.raises(ValueError, match="not an artifact id"):
            await store.metadata(name)
        with pytest.raises(ValueError, match="not an artifact id"):
            await store.open_range(name)

    async def test_audio_metadata_comes_from_a_probe(self, store: MediaArtifactStore) -> None:
        data = wav_bytes(seconds=0.5, rate=16000, channels=2)
        metadata = await store.metadata(await store.put(data, "audio/wav"))
        assert metadata.media_type == "audio/wav"
        assert metadata.size == len(data)
        assert metadata.duration == pytest.approx(0.5, abs=0.01)
        assert (metadata.sample_rate, metadata.channels) == (16000, 2)
        assert metadata.codec == "pcm_s16le"
        assert metadata.fps is None and metadata.width is None

    async def test_video_metadata_comes_from_a_probe(self, store: MediaArtifactStore) -> None:
        data = mp4_bytes(width=160, height=90, fps=12, frames=12)
        metadata = await store.metadata(await store.put(data, "video/mp4"))
        assert (metadata.width, metadata.height, metadata.fps) == (160, 90, 12.0)
        assert metadata.duration == pytest.approx(1.0, abs=0.1)
        assert metadata.codec == "h264"
        assert metadata.sample_rate is None

    async def test_an_image_has_a_size_but_no_duration(self, store: MediaArtifactStore) -> None:
        metadata = await store.metadata(await store.put(png_bytes(160, 90), "image/png"))
        assert (metadata.width, metadata.height, metadata.codec) == (160, 90, "png")
        assert metadata.duration is None and metadata.fps is None

    async def test_bytes_that_are_not_the_media_they_claim_are_still_stored(
        self, store: MediaArtifactStore
    ) -> None:
        data = b"not really a video" * 10
        artifact = await store.put(data, "video/mp4")
        assert await store.get(artifact) == data
        metadata = await store.metadata(artifact)
        assert (metadata.media_type, metadata.size, metadata.duration) == ("video/mp4", 180, None)

    async def test_a_byte_range_reads_just_that_part(self, store: MediaArtifactStore) -> None:
        data = bytes(range(256)) * 4
        artifact = await store.put(data, "application/octet-stream")
        assert await read_range(store, artifact) == data
        assert await read_range(store, artifact, 10, 20) == data[10:20]
        assert await read_range(store, artifact, 1000) == data[1000:]
        assert await read_range(store, artifact, 5, 5) == b""

    async def test_a_range_outside_the_artifact_is_refused(self, store: MediaArtifactStore) -> None:
        artifact = await store.put(b"0123456789", "text/plain")
        for start, end in ((0, 11), (-1, 5), (6, 5), (11, None)):
            with pytest.raises(ValueError, match="does not fit"):
                await store.open_range(artifact, start, end)

    async def test_a_large_artifact_round_trips_and_serves_ranges(
        self, store: MediaArtifactStore
    ) -> None:
        data = os.urandom(24 * 1024 * 1024)
        artifact = await store.put(data, "video/mp4")
        assert await store.get(artifact) == data
        assert (await store.metadata(artifact)).size == len(data)
        middle = (len(data) // 2 - 1000, len(data) // 2 + 300_000)
        assert await read_range(store, artifact, *middle) == data[middle[0] : middle[1]]
        assert await read_range(store, artifact, len(data) - 7) == data[-7:]
