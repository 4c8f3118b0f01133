"""The artifact store contract on a NATS JetStream Object Store: each test has its own
bucket on the shared server and deletes it at the end."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from adapters.artifacts.metadata import MediaArtifactStore
from adapters.artifacts.object_store import JetStreamArtifactStore
from tests.adapters.artifacts.artifact_contract import ArtifactStoreContract
from tests.adapters.artifacts.media_samples import wav_bytes

pytestmark = pytest.mark.nats


@pytest.fixture
async def prefix(nats_url: str) -> AsyncIterator[str]:
    prefix = f"test_{uuid.uuid4().hex[:12]}"
    yield prefix
    await JetStreamArtifactStore(nats_url, prefix=prefix).close(delete=True)


class TestJetStreamArtifactStore(ArtifactStoreContract):
    @pytest.fixture
    async def store(self, nats_url: str, prefix: str) -> AsyncIterator[MediaArtifactStore]:
        store = JetStreamArtifactStore(nats_url, prefix=prefix)
        yield store
        await store.close()


async def test_workers_sharing_a_bucket_share_artifacts(nats_url: str, prefix: str) -> None:
    maker = JetStreamArtifactStore(nats_url, prefix=prefix)
    reader = JetStreamArtifactStore(nats_url, prefix=prefix)
    try:
        artifact = await maker.put(wav_bytes(), "audio/wav")
        assert await reader.get(artifact) == wav_bytes()
        assert (await reader.metadata(artifact)).sample_rate == 16000
    finally:
        await maker.close()
        await reader.close()


async def test_closing_with_delete_removes_the_bucket(nats_url: str, prefix: str) -> None:
    store = JetStreamArtifactStore(nats_url, prefix=prefix)
    artifact = await store.put(b"short-lived", "text/plain")
    await store.close(delete=True)
    again = JetStreamArtifactStore(nats_url, prefix=prefix)
    try:
        assert not await again.exists(artifact)
    finally:
        await again.close(delete=True)


def test_a_prefix_must_be_a_valid_bucket_name() -> None:
    with pytest.raises(ValueError, match="prefix"):
        JetStreamArtifactStore("nats://127.0.0.1:4222", prefix="two.tokens")
