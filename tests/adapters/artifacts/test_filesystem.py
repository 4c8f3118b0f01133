"""The artifact store contract on a local disk, and what only the disk store promises."""

from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
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


async def test_puts_that_arrive_together_all_land_once_and_leave_no_temporary_files(
    tmp_path: Path,
) -> None:
    store = FilesystemArtifactStore(tmp_path)
    bodies = [f"take {n % 40}".encode() for n in range(120)]  # each body three times
    artifacts = await asyncio.gather(*(store.put(body, "text/plain") for body in bodies))
    assert artifacts == [hashlib.sha256(body).hexdigest() for body in bodies]
    for artifact, body in zip(artifacts, bodies, strict=True):
        assert await store.get(artifact) == body
        assert (await store.metadata(artifact)).size == len(body)
    files = {Path(name).name for name in _tree(tmp_path) if "/" in name}
    assert len(files) == 2 * 40
    assert not [name for name in files if name.startswith(".")]


def test_one_store_serves_one_event_loop_after_another(tmp_path: Path) -> None:
    store = FilesystemArtifactStore(tmp_path)
    first = asyncio.run(store.put(b"first", "text/plain"))
    second = asyncio.run(store.put(b"second", "text/plain"))
    assert asyncio.run(store.get(first)) == b"first"
    assert asyncio.run(store.get(second)) == b"second"


async def test_a_directory_removed_under_the_store_is_made_again(tmp_path: Path) -> None:
    store = FilesystemArtifactStore(tmp_path)
    artifact = await store.put(b"kept", "text/plain")
    shutil.rmtree(store.path(artifact).parent)
    assert await store.put(b"kept", "text/plain") == artifact
    assert await store.get(artifact) == b"kept"
