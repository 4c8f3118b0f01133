"""`scenestate demo` end to end: the film and its landing page are made offline, a
second run regenerates nothing, an edited shot regenerates only its chain, the assembly
and the page's render, an edited tagline only the film's encode and the page's render;
embedded, and on PostgreSQL + NATS with a separate worker process."""

from __future__ import annotations

import asyncio
import itertools
import os
import re
import signal
import subprocess
import uuid
from fractions import Fraction
from pathlib import Path

import av
import pytest

from adapters.artifacts import JetStreamArtifactStore
from adapters.bus import JetStreamTaskBus
from tests.api.conftest import SCENESTATE, Cli
from tests.conftest import fresh_postgres_database, require_nats

SMALL = ("--format", "320x180@12")
SHOTS, SHOT_SECONDS, FPS = 3, 5.0, 12


def check_film(path: Path) -> None:
    """What a viewer would notice: length, a steady picture, and sound throughout."""
    with av.open(str(path)) as film:
        video, audio = film.streams.video[0], film.streams.audio[0]
        assert (video.codec_context.name, audio.codec_context.name) == ("h264", "aac")
        assert (video.width, video.height) == (320, 180)
        assert video.average_rate == Fraction(FPS)
        frames = [f for f in film.decode(video=0)]
    steps = {round((b.time - a.time) * FPS, 3) for a, b in itertools.pairwise(frames)}
    assert steps == {1.0}  # constant frame rate, no dropped or doubled frames
    duration = frames[-1].time + 1 / FPS
    assert abs(duration - SHOTS * SHOT_SECONDS) <= 1 / FPS
    with av.open(str(path)) as film:
        heard = sum(f.samples for f in film.decode(audio=0)) / film.streams.audio[0].rate
    assert abs(heard - duration) <= 0.1


def check_page(folder: Path, headline: str) -> None:
    """The page shows the tagline as its headline and embeds the film it sits beside."""
    page = (folder / "index.html").read_text()
    assert f'<h1 data-node="tagline">{headline}</h1>' in page
    video = re.search(r'<video [^>]*src="(assets/[0-9a-f]{16}\.mp4)"', page)
    assert video is not None, page
    assert (folder / video.group(1)).read_bytes() == (folder.parent / "film.mp4").read_bytes()
    poster = re.search(r'poster="(assets/[0-9a-f]{16}\.png)"', page)
    assert poster is not None and (folder / poster.group(1)).is_file()
    assert (folder / "thumbnail.png").read_bytes().startswith(b"\x89PNG")


def generated(stdout: str) -> tuple[int, int]:
    found = re.search(r"generated (\d+) tasks and\s+reused (\d+)", stdout)
    assert found is not None, stdout
    return int(found.group(1)), int(found.group(2))


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # PostgreSQL: below
def test_the_demo_makes_the_film_and_regenerates_only_what_an_edit_changed(cli: Cli) -> None:
    film = cli.cwd / "film.mp4"
    first = cli("demo", *SMALL, "--output", str(film)).stdout
    check_film(film)
    check_page(cli.cwd / "film", "One night, one light, and the keeper who keeps it.")
    # per shot an image, a clip and its conform; a line each; the music; join, mix,
    # encode; the page's three lines of copy (the tagline is written), code and render
    assert generated(first) == (21, 0)
    for model in ("local-image-1", "local-motion-1", "local-voice-1", "media"):
        assert model in first
    assert "text_to_image" in first and "planning.film" in first
    artifact = re.search(r"artifact ([0-9a-f]{64})", first)
    assert artifact is not None
    lineage = cli("lineage", artifact.group(1)).stdout  # the projections' read model
    for named in ("local-image-1", "local-motion-1", "local-voice-1", "media", "planning.film@1"):
        assert named in lineage
    for operation in ("text_to_image", "image_to_video", "normalize", "concat", "mix", "encode"):
        assert operation in lineage
    assert "A 3-shot film about a lighthouse keeper" in lineage
    assert generated(cli("demo", *SMALL, "--output", str(film)).stdout) == (0, 21)
    edited = cli("demo", *SMALL, "--output", str(film), "--edit-shot", "2", "a storm at night")
    # shot 2's image, video, clip; the assembly; the page's render (its film changed)
    assert generated(edited.stdout) == (7, 14)
    check_film(film)
    check_page(cli.cwd / "film", "One night, one light, and the keeper who keeps it.")
    retold = cli("demo", *SMALL, "--output", str(film), "--edit-copy", "tagline", "Keep it lit.")
    assert generated(retold.stdout) == (2, 19)  # the film's encode (its caption), the page
    assert "3 text_to_image" in retold.stdout and "1 write_page" in retold.stdout  # reused
    check_film(film)
    check_page(cli.cwd / "film", "Keep it lit.")
    refused = cli("demo", *SMALL, "--edit-shot", "9", "x", ok=False)
    assert refused.returncode == 2 and "shots 1 to 3" in refused.stderr
    refused = cli("demo", *SMALL, "--edit-copy", "slogan", "x", ok=False)
    assert refused.returncode == 2 and "no copy 'slogan'; it has: poster-alt" in refused.stderr


async def test_the_demo_on_postgresql_and_nats_with_a_worker_process(tmp_path: Path) -> None:
    """The worker has a data directory of its own: tasks, results and artifacts all
    travel through NATS (JetStream streams and an Object Store bucket)."""
    nats_url = require_nats()
    prefix = f"demo{uuid.uuid4().hex[:8]}"
    async with fresh_postgres_database("demo") as database:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SCENESTATE_")}
        env.update(
            SCENESTATE_DATA_DIR=str(tmp_path / "data"),
            SCENESTATE_DATABASE_URL=database,
            SCENESTATE_NATS_URL=nats_url,
            SCENESTATE_BUS_PREFIX=prefix,
            SCENESTATE_ARTIFACTS="nats",
            COLUMNS="200",
            NO_COLOR="1",
        )
        elsewhere = {**env, "SCENESTATE_DATA_DIR": str(tmp_path / "worker")}
        worker = await asyncio.create_subprocess_exec(
            str(SCENESTATE), "worker", env=elsewhere, cwd=tmp_path, stdout=subprocess.DEVNULL
        )
        try:
            cli = Cli(env, tmp_path)
            film = tmp_path / "film.mp4"
            made = await asyncio.to_thread(
                cli, "demo", *SMALL, "--no-workers", "--output", str(film)
            )
            assert generated(made.stdout) == (21, 0)
            check_film(film)
            check_page(tmp_path / "film", "One night, one light, and the keeper who keeps it.")
        finally:
            worker.terminate()
            await asyncio.wait_for(worker.wait(), 30)
            await JetStreamTaskBus(nats_url, prefix=prefix).close(delete=True)
            await JetStreamArtifactStore(nats_url, prefix=prefix).close(delete=True)


def _artifacts(data: Path) -> int:
    folder = data / "artifacts"
    return sum(1 for path in folder.rglob("*") if path.is_file()) if folder.exists() else 0


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_an_interrupted_demo_says_what_it_kept_and_the_next_run_finishes_it(
    cli: Cli,
) -> None:
    """Ctrl-C mid-film exits 130 saying how far it got; the next run resumes the same
    execution instead of failing, and two demos at once in one directory take turns."""
    film = cli.cwd / "film.mp4"
    command = [str(SCENESTATE), "demo", *SMALL, "--output", str(film)]
    first = await asyncio.create_subprocess_exec(
        *command, env=cli.env, cwd=cli.cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    data = Path(cli.env["SCENESTATE_DATA_DIR"])
    async with asyncio.timeout(120):  # some of the work is done: interrupt it
        while _artifacts(data) < 3:  # noqa: ASYNC110 (files, no event to await)
            await asyncio.sleep(0.05)
    first.send_signal(signal.SIGINT)
    _, said = await asyncio.wait_for(first.communicate(), 60)
    assert first.returncode == 130, said
    assert b"tasks along" in said and b"run `scenestate demo` again" in said
    again = await asyncio.gather(
        *(
            asyncio.create_subprocess_exec(
                *command, env=cli.env, cwd=cli.cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE
            )
            for _ in range(2)
        )
    )
    outputs = [await asyncio.wait_for(run.communicate(), 300) for run in again]
    assert [run.returncode for run in again] == [0, 0], outputs
    texts = [out.decode() for out, _ in outputs]
    assert any("resuming execution" in text for text in texts), texts
    assert any("waiting for it to finish" in text for text in texts), texts
    done = [generated(text) for text in texts]
    total = sum(done[0])
    assert all(sum(counts) == total for counts in done) and min(ran for ran, _ in done) == 0
    check_film(film)
