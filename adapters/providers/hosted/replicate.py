"""Replicate's predictions API (replicate.com/docs/reference/http), as a HostedProvider.

    POST /v1/models/{owner}/{name}/predictions  {"input": {...}}             official models
    POST /v1/predictions  {"version": "owner/name:hash", "input": {...}}     any version
         Authorization: Bearer <REPLICATE_API_TOKEN>
         Prefer: wait=<1..60>   answer once the prediction settles, or after that many seconds
         Cancel-After: <seconds>s   a deadline after which Replicate stops the prediction
    GET  /v1/predictions/{id}
    POST /v1/predictions/{id}/cancel
    POST /v1/files  multipart `content`  -> {"id", "urls": {"get": ...}}  an input file

A prediction's `status` is starting, processing, succeeded, failed, canceled, or
aborted: its deadline passed before it started (replicate.com/docs/topics/predictions/
lifecycle). `output` is a URL, a list of URLs or a data: URI (for a language model, a
list of the text's pieces as they streamed: `["One", " night", "."]`), `error` says why it
failed, `metrics.predict_time` is the seconds billed. Error answers are problem+json
with `title` and `detail`; a 429 carries `retry-after`. Webhooks deliver the same
prediction object, so `prediction_status` reads them too.
"""

from __future__ import annotations

import math
import mimetypes
import re
import ssl
from collections.abc import Mapping
from typing import Any

import httpx
import msgspec

from adapters.providers.hosted._failures import is_refusal
from adapters.providers.hosted._http import ProviderHttp
from adapters.providers.hosted.keys import ProviderSettings
from adapters.providers.hosted.vocabulary import HostedRequest, Job, JobResult, JobStatus
from engine.errors import TaskFailure
from engine.tasks import ErrorKind, TaskStatus

_STATES = {
    "starting": TaskStatus.QUEUED,
    "processing": TaskStatus.RUNNING,
    "succeeded": TaskStatus.SUCCEEDED,
    "failed": TaskStatus.FAILED,
    "canceled": TaskStatus.CANCELED,
    "aborted": TaskStatus.CANCELED,
}
TEXT = "text/plain; charset=utf-8"
_MODEL = re.compile(r"^(?P<owner>[\w.-]+)/(?P<name>[\w.-]+)(?::(?P<version>[0-9a-f]{64}))?$")
_ABORTED = "the prediction passed its deadline before it started running"
_CANCELED = "the prediction was stopped at Replicate (past its deadline, or by its owner)"


def prediction_status(prediction: Mapping[str, Any]) -> JobStatus:
    """A prediction object (an API answer or a webhook body) in the one vocabulary."""
    raw = str(prediction.get("status", ""))
    state = _STATES.get(raw)
    error = str(prediction.get("error") or "")
    if state is None:
        message = f"Replicate answered an unknown prediction status {raw!r}"
        return JobStatus(TaskStatus.FAILED, raw, message, ErrorKind.INTERNAL)
    kind = None
    if raw == "failed":
        kind = _failure_kind(error)
    elif raw == "aborted":
        kind, error = ErrorKind.TIMEOUT, error or _ABORTED
    elif raw == "canceled":
        kind, error = ErrorKind.TIMEOUT, error or _CANCELED
    return JobStatus(
        state,
        raw,
        error,
        kind,
        outputs=_output_urls(prediction.get("output")),
        usage=_usage(prediction.get("metrics")),
        text=_output_text(prediction.get("output")),
    )


def _output_text(output: Any) -> str | None:
    """A language model's answer: its output is a list of text pieces, not of files."""
    if not isinstance(output, list) or not output:
        return None
    if not all(isinstance(piece, str) for piece in output):
        return None
    if any(piece.startswith(("http://", "https://", "data:")) for piece in output):
        return None
    return "".join(output)


def _failure_kind(error: str) -> ErrorKind:
    if is_refusal(error):
        return ErrorKind.CONTENT_REFUSED
    lowered = error.lower()
    if "interrupted" in lowered or "please retry" in lowered:
        return ErrorKind.UNAVAILABLE
    return ErrorKind.INTERNAL


def _output_urls(output: Any) -> tuple[str, ...]:
    if isinstance(output, str):
        return (output,)
    if isinstance(output, list) and _output_text(output) is None:
        return tuple(item for item in output if isinstance(item, str))
    if isinstance(output, dict):
        values = output.values()
        return tuple(v for v in values if isinstance(v, str) and v.startswith(("http", "data:")))
    return ()


def _usage(metrics: Any) -> dict[str, float]:
    if isinstance(metrics, dict) and isinstance(metrics.get("predict_time"), int | float):
        return {"predict_time": float(metrics["predict_time"])}
    return {}


def create_call(request: HostedRequest) -> tuple[str, dict[str, Any]]:
    """The path and body that create a prediction of `request.model`."""
    match = _MODEL.match(request.model)
    if match is None:
        raise TaskFailure(
            ErrorKind.INVALID_INPUT,
            f"{request.model!r} is not a Replicate model: use owner/name or owner/name:version",
        )
    if match["version"]:
        return "/v1/predictions", {"version": request.model, "input": request.input}
    return f"/v1/models/{match['owner']}/{match['name']}/predictions", {"input": request.input}


class ReplicateProvider:
    name = "replicate"
    billed_by = "predict_time"

    def __init__(
        self,
        settings: ProviderSettings,
        *,
        sync_wait: int = 10,
        deadline: float | None = None,
        timeout: float = 30.0,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        if not 0 <= sync_wait <= 60:
            raise ValueError(f"Prefer: wait takes 1 to 60 seconds (0: off), not {sync_wait}")
        auth = {"Authorization": f"Bearer {settings.key.reveal()}"}
        self._http = ProviderHttp(settings, auth, timeout, tls)
        self._sync_wait = sync_wait
        self._deadline = deadline
        self._timeout = timeout

    def __repr__(self) -> str:
        return f"ReplicateProvider({self._http.base_url})"

    async def submit(self, request: HostedRequest) -> Job:
        path, body = create_call(request)
        headers = {}
        if self._sync_wait:
            headers["Prefer"] = f"wait={self._sync_wait}"
        if self._deadline:
            headers["Cancel-After"] = f"{math.ceil(self._deadline)}s"
        action = f"creating a prediction of {request.model}"
        # the answer may take the whole `Prefer: wait`, so the read timeout covers it
        timeout = httpx.Timeout(self._timeout, read=self._timeout + self._sync_wait)
        response = await self._http.call(
            action, "POST", path, json=body, headers=headers, timeout=timeout
        )
        prediction = self._prediction(response, action)
        urls = prediction.get("urls") or {}
        return Job(
            provider=self.name,
            id=str(prediction["id"]),
            model=request.model,
            urls={k: v for k, v in urls.items() if isinstance(v, str)},
            last=self._status_of(prediction),
        )

    async def status(self, job: Job) -> JobStatus:
        action = f"reading prediction {job.id} of {job.model}"
        response = await self._http.call(action, "GET", f"/v1/predictions/{job.id}")
        return self._status_of(self._prediction(response, action))

    async def result(self, job: Job) -> JobResult:
        status = job.last if job.last and job.last.settled else await self.status(job)
        if status.state != TaskStatus.SUCCEEDED:
            kind = status.error_kind or ErrorKind.INTERNAL
            message = f"prediction {job.id} of {job.model} is {status.provider_status}"
            raise TaskFailure(kind, f"{message}: {status.message}" if status.message else message)
        if status.text is not None:
            return JobResult(status.text.encode(), TEXT, "inline")
        if not status.outputs:
            message = f"prediction {job.id} of {job.model} succeeded with no output"
            raise TaskFailure(ErrorKind.INTERNAL, message)
        action = f"downloading the output of prediction {job.id} of {job.model}"
        data, media_type = await self._http.download(action, status.outputs[0])
        return JobResult(data, media_type, status.outputs[0][:200])

    async def cancel(self, job: Job) -> None:
        if job.last is not None and job.last.settled:
            return
        action = f"canceling prediction {job.id} of {job.model}"
        await self._http.call(action, "POST", f"/v1/predictions/{job.id}/cancel")

    async def upload(self, data: bytes, media_type: str) -> str:
        """A file for a prediction's input (files API): its `urls.get`, which Replicate's
        models read (it expires after a day)."""
        action = f"uploading a {media_type} input of {len(data)} bytes"
        name = "input" + (mimetypes.guess_extension(media_type) or "")
        files = {"content": (name, data, media_type)}
        response = await self._http.call(action, "POST", "/v1/files", files=files)
        try:
            url = response.json()["urls"]["get"]
        except (ValueError, KeyError, TypeError):
            url = None
        if not isinstance(url, str):
            raise TaskFailure(ErrorKind.UNAVAILABLE, f"replicate answered {action} with no URL")
        return url

    async def aclose(self) -> None:
        await self._http.aclose()

    def _status_of(self, prediction: Mapping[str, Any]) -> JobStatus:
        status = prediction_status(prediction)
        return msgspec.structs.replace(status, message=self._http.scrub(status.message))

    def _prediction(self, response: httpx.Response, action: str) -> dict[str, Any]:
        try:
            prediction = response.json()
        except ValueError:
            prediction = None
        if not isinstance(prediction, dict) or "id" not in prediction:
            message = f"replicate answered {action} with something that is not a prediction"
            raise TaskFailure(ErrorKind.UNAVAILABLE, message)
        return prediction
