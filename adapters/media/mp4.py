"""Writing the studio's MP4s: H.264 yuv420p picture with the encoder settings of each use
(intermediate, preview, production), AAC 48 kHz stereo sound interleaved with it by
time, and the index (moov) at the front of the file so playback can start at once."""

from __future__ import annotations

import contextlib
import threading
from collections import deque
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import Any

import av
from av.audio.stream import AudioStream
from av.container import InputContainer, OutputContainer
from av.packet import Packet
from av.video.frame import VideoFrame
from av.video.stream import VideoStream

from adapters.media.failures import bad_input, reading
from adapters.media.probe import require_video
from adapters.media.sound import RATE, Samples, encode_sound

VIDEO_MP4 = "video/mp4"
CUT_SHORT = 3  # frames missing at the end before a file counts as cut short


@dataclass(frozen=True)
class Encoding:
    """How hard libx264 works and how good the result is, per use."""

    preset: str
    crf: int
    keyframe_seconds: float  # at most this long between keyframes, for seeking
    audio_bitrate: int
    aac_coder: str  # "twoloop" (FFmpeg's default) sounds best; "fast" is twice as fast


# between tasks: fast, nearly lossless, short GOPs so stills can seek
INTERMEDIATE = Encoding("ultrafast", 18, 1.0, 192_000, "fast")
PREVIEW = Encoding("ultrafast", 30, 2.0, 96_000, "fast")
PRODUCTION = Encoding("veryfast", 20, 2.0, 192_000, "twoloop")


class RenderStopped(Exception):
    """The task was cancelled while its file was being written."""


class Mp4Writer:
    """One MP4 being written. Add its streams first (a video stream, encoded or copied,
    and optionally sound), then write frames or packets, then `finish`. Once `stop` is
    set (the task was cancelled), the next thing written raises RenderStopped."""

    def __init__(self, path: Path, stop: threading.Event | None = None) -> None:
        self.stop = stop or threading.Event()
        self.container: OutputContainer = av.open(
            str(path), "w", format="mp4", options={"movflags": "+faststart"}
        )
        self.video: VideoStream | None = None
        self._encoding = False  # whether the video stream is encoded here (not copied)
        self._sound: deque[Packet[Any]] = deque()

    def __enter__(self) -> Mp4Writer:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if error is None:
            self.container.close()
            return
        with contextlib.suppress(av.FFmpegError):
            # a half-written file is thrown away; what matters is the error that stopped it
            self.container.close()

    def encoded_video(self, encoding: Encoding, rate: Fraction, width: int, height: int) -> None:
        stream = self.container.add_stream("libx264", rate=rate)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        keyframes = max(1, round(encoding.keyframe_seconds * rate))
        stream.options = {"preset": encoding.preset, "crf": str(encoding.crf), "g": str(keyframes)}
        # PyAV asks for slice threads, which makes libx264 split each frame across threads
        # (lower latency, less throughput); frame threads are what the ffmpeg CLI uses
        stream.codec_context.thread_type = "AUTO"
        self.video, self._encoding = stream, True

    def copied_video(self, template: VideoStream) -> None:
        self.video = self.container.add_stream_from_template(template)

    def encoded_sound(self, sound: Samples, encoding: Encoding) -> None:
        stream: AudioStream = self.container.add_stream(
            "aac", rate=RATE, layout="stereo", options={"aac_coder": encoding.aac_coder}
        )
        stream.bit_rate = encoding.audio_bitrate
        self._sound.extend(encode_sound(stream, sound, self._check))

    def copied_sound(self, source: InputContainer, name: str) -> None:
        """Take the sound packets of input `name` as they are (no re-encode)."""
        stream = self.container.add_stream_from_template(source.streams.audio[0])
        with reading(name):
            for packet in source.demux(source.streams.audio[0]):
                if packet.dts is not None:
                    packet.stream = stream
                    self._sound.append(packet)

    def write_frame(self, frame: VideoFrame) -> None:
        assert self.video is not None, "add a video stream first"
        self._check()
        for packet in self.video.encode(frame):
            self._mux_video(packet)

    def copy_video(self, source: InputContainer, name: str, shift: int = 0) -> None:
        """Copy the video packets of input `name` as they are, `shift` added to their
        timestamps (in its stream's time base); fails when the file is cut short."""
        assert self.video is not None, "add a video stream first"
        stream = require_video(source, name)
        copied = 0
        with reading(name):
            for packet in source.demux(stream):
                if packet.dts is None:
                    continue
                packet.dts += shift
                if packet.pts is not None:
                    packet.pts += shift
                packet.stream = self.video
                self._check()
                self._mux_video(packet)
                copied += 1
        if stream.frames and copied + CUT_SHORT < stream.frames:
            raise bad_input(
                name, f"is cut short: its header says {stream.frames} frames, it holds {copied}"
            )

    def finish(self) -> None:
        if self.video is not None and self._encoding:
            for packet in self.video.encode(None):
                self._mux_video(packet)
        while self._sound:
            self.container.mux(self._sound.popleft())

    def _check(self) -> None:
        if self.stop.is_set():
            raise RenderStopped("the task was cancelled")

    def _mux_video(self, packet: Packet[Any]) -> None:
        if packet.dts is not None and packet.time_base is not None:
            # sound up to this picture goes first, so neither waits long in the muxer
            until = packet.dts * packet.time_base
            while self._sound and _starts(self._sound[0]) <= until:
                self.container.mux(self._sound.popleft())
        self.container.mux(packet)


def _starts(packet: Packet[Any]) -> Fraction:
    if packet.pts is None or packet.time_base is None:
        return Fraction(0)
    return packet.pts * packet.time_base
