"""ElevenLabs text-to-speech (elevenlabs.io/docs/api-reference/text-to-speech/convert), as a
HostedProvider.

    POST /v1/text-to-speech/{voice_id}?output_format=mp3_44100_128
         xi-api-key: <ELEVENLABS_API_KEY>
         {"text": ..., "model_id": ..., "seed"?: ..., "voice_settings"?: {...}}
    -> 200 with the audio itself (audio/mpeg), and `request-id` and `x-character-count`
       (the characters billed) headers

There is nothing to poll: a job is born succeeded, holding its audio, and there is
nothing to cancel. Errors carry `detail` as {status, message} (invalid_api_key and
quota_exceeded come as 401, voice_not_found as 400) or, for validation, a list of
{loc, msg, type}. `pcm_<rate>` output is raw 16-bit PCM, which we wrap in WAV.
"""

from __future__ import annotations

import ssl
import urllib.parse
import uuid

import httpx

from adapters.providers.hosted._http import ProviderHttp
from adapters.providers.hosted.keys import ProviderSettings
from adapters.providers.hosted.media import media_type_of, wav_from_pcm
from adapters.providers.hosted.vocabulary import HostedRequest, Job, JobResult, JobStatus
from engine.errors import TaskFailure
from engine.tasks import ErrorKind, TaskStatus

_CONTAINERS = {"mp3": "audio/mpeg", "opus": "audio/ogg", "pcm": "audio/wav"}


def output_media_type(output_format: str) -> str:
    """The media type audio in `output_format` ends up as; ValueError for formats with
    no container we can hand on (µ-law, A-law)."""
    codec, _, rate = output_format.partition("_")
    if codec not in _CONTAINERS or not rate.split("_")[0].isdigit():
        known = ", ".join(f"{name}_<rate>" for name in _CONTAINERS)
        raise ValueError(f"ElevenLabs output format {output_format!r} is not one of {known}")
    return _CONTAINERS[codec]


class ElevenLabsProvider:
    name = "elevenlabs"
    billed_by = "characters"

    def __init__(
        self,
        settings: ProviderSettings,
        *,
        output_format: str = "mp3_44100_128",
        timeout: float = 60.0,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self._media_type = output_media_type(output_format)
        self._format = output_format
        self._http = ProviderHttp(settings, {"xi-api-key": settings.key.reveal()}, timeout, tls)

    def __repr__(self) -> str:
        return f"ElevenLabsProvider({self._http.base_url}, {self._format})"

    async def submit(self, request: HostedRequest) -> Job:
        body = dict(request.input)
        voice = body.pop("voice_id", None)
        if not isinstance(voice, str) or not voice:
            message = f"ElevenLabs {request.model} needs a voice_id in its input"
            raise TaskFailure(ErrorKind.INVALID_INPUT, message)
        body["model_id"] = request.model
        text = str(body.get("text", ""))
        action = f"speaking {len(text)} characters in voice {voice} with {request.model}"
        response = await self._http.call(
            action,
            "POST",
            f"/v1/text-to-speech/{urllib.parse.quote(voice, safe='')}",
            params={"output_format": self._format},
            json=body,
        )
        data, media_type = self._audio(response, action)
        status = JobStatus(TaskStatus.SUCCEEDED, str(response.status_code), usage=_usage(response))
        request_id = response.headers.get("request-id") or uuid.uuid4().hex
        return Job(
            self.name, request_id, request.model, last=status, data=data, media_type=media_type
        )

    async def status(self, job: Job) -> JobStatus:
        if job.last is None:
            message = f"ElevenLabs job {job.id} was not made by submit"
            return JobStatus(TaskStatus.FAILED, "unknown", message, ErrorKind.INTERNAL)
        return job.last

    async def result(self, job: Job) -> JobResult:
        if job.data is None:
            message = f"ElevenLabs job {job.id} holds no audio; submit makes jobs that do"
            raise TaskFailure(ErrorKind.INTERNAL, message)
        return JobResult(job.data, job.media_type, "inline")

    async def cancel(self, job: Job) -> None:
        """Nothing runs at ElevenLabs once submit has answered."""

    async def upload(self, data: bytes, media_type: str) -> str:
        """ElevenLabs' models here take text only: nothing is ever uploaded to it."""
        message = f"elevenlabs takes no {media_type} input (its models here read text)"
        raise TaskFailure(ErrorKind.INVALID_INPUT, message)

    async def aclose(self) -> None:
        await self._http.aclose()

    def _audio(self, response: httpx.Response, action: str) -> tuple[bytes, str]:
        declared = response.headers.get("content-type", "")
        if declared.startswith(("application/json", "text/")):
            message = f"elevenlabs answered {action} with {declared}, not audio"
            raise TaskFailure(ErrorKind.UNAVAILABLE, message)
        if self._media_type == "audio/wav":
            rate = int(self._format.split("_")[1])
            return wav_from_pcm(response.content, rate), "audio/wav"
        return response.content, media_type_of(response.content, declared, "")


def _usage(response: httpx.Response) -> dict[str, float]:
    characters = response.headers.get("x-character-count", "")
    return {"characters": float(characters)} if characters.isdigit() else {}
