"""The artifact store contract on a local disk, and what only the disk store promises."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from adapters.artifacts import FilesystemArtifactStore
from adapters.artifacts.metadata import MediaArtifactStore
from tests.adapters.artifacts.artifact_contract import BAD_NAMES, ArtifactStoreContract
from tests.adapters.artifacts.media_samples import wav_bytes


class TestFilesystemArtifactStore(ArtifactStoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> MediaArtifactStore:
        return FilesystemArtifactStore(tmp_path / "artifacts")


def _tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


async def test_bad_names_touch_nothing_outside_the_store(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "passwd").write_text("root:x:0:0")
    store = FilesystemArtifactStore(tmp_path / "artifacts")
    await store.put(b"inside", "text/plain")
    before = _tree(tmp_path)
    for name in BAD_NAMES:
        with pytest.raises(ValueError):
            await store.get(name)
        with pytest.raises(ValueError):
            await store.metadata(name)
    assert _tree(tmp_path) == before
    assert (tmp_path / "etc" / "passwd").read_text() == "root:x:0:0"


async def test_metadata_is_kept_as_json_beside_the_bytes(tmp_path: Path) -> None:
    store = FilesystemArtifactStore(tmp_path)
    artifact = await store.put(wav_bytes(), "audio/wav")
    sidecar = json.loads(store.path(artifact).with_name(artifact[2:] + ".json").read_text())
    assert set(sidecar) == {
        "media_type",
        "size",
        "duration",
        "fps",
        "width",
        "height",
        "sample_rate",
        "channels",
        "codec",
    }
    assert sidecar["media_type"] == "audio/wav"
    assert sidecar["sample_rate"] == 16000


async def test_a_put_leaves_no_temporary_files(tmp_path: Path) -> None:
    store = FilesystemArtifactStore(tmp_path)
    artifact = await store.put(b"x" * 1000, "text/plain")
    names = {p.name for p in store.path(artifact).parent.iterdir()}
    assert names == {artifact[2:], artifact[2:] + ".json"}


async def test_an_artifact_stored_before_metadata_existed_is_described_on_request(
    tmp_path: Path,
) -> None:
    store = FilesystemArtifactStore(tmp_path)
    artifact = await store.put(wav_bytes(), "audio/wav")
    target = store.path(artifact)
    target.with_name(target.name + ".json").unlink()
    target.with_name(target.name + ".type").write_text("audio/wav")
    metadata = await store.metadata(artifact)
    assert (metadata.media_type, metadata.sample_rate) == ("audio/wav", 16000)
    assert store.media_type(artifact) == "audio/wav"
