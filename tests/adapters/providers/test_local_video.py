"""The local image-to-video model: a pan and zoom over the picture that, like a real
model, comes back a little short or long, at its own frame rate and size."""

from __future__ import annotations

import io
from fractions import Fraction

import av
import numpy as np
import pytest

from adapters.providers.local.motion import Clip, animate
from adapters.providers.local.picture import render_picture
from engine.errors import TaskFailure
from engine.tasks import ErrorKind

IMAGE = render_picture("a lighthouse at dusk with boats", 3, 0, 320, 180)


def decoded(clip: Clip) -> tuple[av.video.stream.VideoStream, list[np.ndarray]]:
    with av.open(io.BytesIO(clip.data), mode="r") as container:
        assert not container.streams.audio
        stream = container.streams.video[0]
        frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(stream)]
        return stream, frames


def test_a_clip_is_h264_of_the_length_rate_and_size_it_reports() -> None:
    clip = animate(IMAGE, 1.0, seed=1, take=0)
    stream, frames = decoded(clip)
    assert stream.codec_context.name == "h264"
    assert stream.codec_context.pix_fmt == "yuv420p"
    assert stream.average_rate == Fraction(clip.fps)
    assert (stream.width, stream.height) == (clip.width, clip.height)
    assert len(frames) == clip.frames
    assert clip.duration == pytest.approx(clip.frames / clip.fps)


@pytest.mark.parametrize("seed", range(6))
def test_like_a_real_model_the_clip_is_not_quite_what_was_asked(seed: int) -> None:
    clip = animate(IMAGE, 1.0, seed=seed, take=0)
    assert clip.fps in (24, 25, 30)
    assert (clip.width, clip.height) in ((320, 180), (256, 144))
    asked = 1.0
    assert any(abs(clip.duration - asked * factor) <= 0.5 / clip.fps for factor in (0.96, 1.04))


def test_five_seconds_comes_back_as_about_four_point_eight_or_five_point_two() -> None:
    clips = [animate(IMAGE, 5.0, seed=seed, take=0) for seed in range(3)]
    for clip in clips:
        assert min(abs(clip.duration - 4.8), abs(clip.duration - 5.2)) <= 0.5 / clip.fps


def test_seeds_give_clips_of_different_forms() -> None:
    forms = {
        (c.fps, c.width, round(c.duration, 2))
        for c in (animate(IMAGE, 1.0, seed=seed, take=0) for seed in range(8))
    }
    assert len(forms) >= 3


def test_a_720p_picture_becomes_720p_or_576p() -> None:
    big = render_picture("the sea", 1, 0, 1280, 720)
    sizes = {(c.width, c.height) for c in (animate(big, 0.25, s, 0) for s in range(6))}
    assert sizes <= {(1280, 720), (1024, 576)}


def test_the_same_request_gives_the_same_bytes() -> None:
    assert animate(IMAGE, 1.0, seed=4, take=1).data == animate(IMAGE, 1.0, seed=4, take=1).data


def test_another_seed_or_take_gives_another_clip() -> None:
    first = animate(IMAGE, 1.0, seed=4, take=1).data
    assert animate(IMAGE, 1.0, seed=5, take=1).data != first
    assert animate(IMAGE, 1.0, seed=4, take=2).data != first


def test_the_camera_moves_over_the_picture() -> None:
    _, frames = decoded(animate(IMAGE, 1.0, seed=2, take=0))
    first, last = frames[0].astype(float), frames[-1].astype(float)
    assert np.abs(first - last).mean() > 2.0
    # and it looks like the picture: the first frame's colours are the picture's
    assert abs(first.mean() - frames[len(frames) // 2].mean()) < 20


def test_bytes_that_are_not_a_picture_are_refused() -> None:
    with pytest.raises(TaskFailure) as failure:
        animate(b"this is not a png", 1.0, seed=0, take=0)
    assert failure.value.kind == ErrorKind.INVALID_INPUT
    assert "input 'image'" in failure.value.message


def test_an_unknown_motion_is_refused() -> None:
    with pytest.raises(TaskFailure, match="param 'motion'") as failure:
        animate(IMAGE, 1.0, seed=0, take=0, motion="orbit")
    assert failure.value.kind == ErrorKind.INVALID_INPUT
