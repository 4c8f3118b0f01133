"""fal's queue API (docs.fal.ai/model-apis/model-endpoints/queue), as a HostedProvider.

    POST {queue}/{model_id}[/{subpath}]             -> request_id, status_url, response_url,
                                                       cancel_url
    GET  {queue}/{model_id}/requests/{id}/status    -> IN_QUEUE (queue_position) | IN_PROGRESS
                                                       | COMPLETED (metrics.inference_time)
    GET  {queue}/{model_id}/requests/{id}           -> the model's output
    PUT  {queue}/{model_id}/requests/{id}/cancel    -> 202 CANCELLATION_REQUESTED
                                                       | 400 ALREADY_COMPLETED
         Authorization: Key <FAL_KEY>
    POST {storage}/storage/upload/initiate  {content_type, file_name}  -> upload_url, file_url
    PUT  {upload_url}  the bytes (presigned: no key)   large inputs, by file_url

A subpath (`/schnell` of `fal-ai/flux/schnell`) belongs to the submit URL only, never
to the status, result or cancel URLs. A request that failed is COMPLETED with `error`
and `error_type` (request_timeout, runner_disconnected...: docs.fal.ai/model-apis/
request-errors); model errors are a `detail` list of {loc, msg, type}, type
content_policy_violation for refused content. Image models mark refused images in
`has_nsfw_concepts` and send a blank image in their place.
"""

from __future__ import annotations

import mimetypes
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

_FILE_FIELDS = ("video", "image", "images", "audio", "audio_file", "audio_url", "file")


def app_id(model: str) -> str:
    """The `owner/app` part of a model id, which the queue's request URLs use."""
    return "/".join(model.strip("/").split("/")[:2])


def request_status(body: Mapping[str, Any]) -> JobStatus:
    """A queue status answer in the one vocabulary."""
    raw = str(body.get("status", ""))
    if raw == "IN_QUEUE":
        position = body.get("queue_position")
        position = position if isinstance(position, int) else None
        ahead = f"{position} requests ahead" if position is not None else ""
        return JobStatus(TaskStatus.QUEUED, raw, ahead, queue_position=position)
    if raw == "IN_PROGRESS":
        return JobStatus(TaskStatus.RUNNING, raw, _last_log(body))
    if raw == "COMPLETED":
        error = body.get("error")
        if error:
            error_type = str(body.get("error_type") or "")
            message = f"{error} ({error_type})" if error_type else str(error)
            return JobStatus(TaskStatus.FAILED, raw, message, _error_kind(error_type, message))
        return JobStatus(TaskStatus.SUCCEEDED, raw, usage=_usage(body.get("metrics")))
    message = f"fal answered an unknown request status {raw!r}"
    return JobStatus(TaskStatus.FAILED, raw, message, ErrorKind.INTERNAL)


def _error_kind(error_type: str, message: str) -> ErrorKind:
    if "timeout" in error_type:
        return ErrorKind.TIMEOUT
    if error_type.startswith("runner_"):
        return ErrorKind.UNAVAILABLE
    if is_refusal(message):
        return ErrorKind.CONTENT_REFUSED
    return ErrorKind.INTERNAL


def _last_log(body: Mapping[str, Any]) -> str:
    logs = body.get("logs")
    if isinstance(logs, list) and logs and isinstance(logs[-1], dict):
        return str(logs[-1].get("message", ""))
    return ""


def _usage(metrics: Any) -> dict[str, float]:
    if isinstance(metrics, dict) and isinstance(metrics.get("inference_time"), int | float):
        return {"inference_time": float(metrics["inference_time"])}
    return {}


def output_file(payload: Mapping[str, Any]) -> tuple[str, str | None] | None:
    """The URL and declared content type of the media file in a model's output."""
    for field in _FILE_FIELDS:
        value = payload.get(field)
        if isinstance(value, list):
            value = value[0] if value else None
        if isinstance(value, dict) and isinstance(value.get("url"), str):
            content_type = value.get("content_type")
            return value["url"], content_type if isinstance(content_type, str) else None
        if isinstance(value, str):
            return value, None
    return None


def refused_images(payload: Mapping[str, Any]) -> bool:
    flags = payload.get("has_nsfw_concepts")
    return isinstance(flags, list) and any(flag is True for flag in flags)


class FalProvider:
    name = "fal"
    billed_by = "inference_time"

    def __init__(
        self,
        settings: ProviderSettings,
        *,
        timeout: float = 30.0,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        auth = {"Authorization": f"Key {settings.key.reveal()}"}
        self._http = ProviderHttp(settings, auth, timeout, tls)
        self._storage = settings.storage_url

    def __repr__(self) -> str:
        return f"FalProvider({self._http.base_url})"

    async def submit(self, request: HostedRequest) -> Job:
        action = f"queueing a request to {request.model}"
        model = request.model.strip("/")
        response = await self._http.call(action, "POST", f"/{model}", json=request.input)
        body = self._json(response, action)
        request_id = body.get("request_id")
        if not isinstance(request_id, str) or not request_id:
            raise TaskFailure(ErrorKind.UNAVAILABLE, f"fal answered {action} with no request_id")
        position = body.get("queue_position")
        queued = JobStatus(
            TaskStatus.QUEUED,
            "IN_QUEUE",
            queue_position=position if isinstance(position, int) else None,
        )
        urls = self._urls(model, request_id, body)
        return Job(self.name, request_id, model, urls=urls, last=queued)

    async def status(self, job: Job) -> JobStatus:
        action = f"reading the status of request {job.id} to {job.model}"
        body = self._json(await self._http.call(action, "GET", job.urls["status"]), action)
        status = request_status(body)
        return msgspec.structs.replace(status, message=self._http.scrub(status.message))

    async def result(self, job: Job) -> JobResult:
        status = job.last if job.last and job.last.settled else await self.status(job)
        if status.state != TaskStatus.SUCCEEDED:
            kind = status.error_kind or ErrorKind.INTERNAL
            message = f"request {job.id} to {job.model} is {status.provider_status}"
            raise TaskFailure(kind, f"{message}: {status.message}" if status.message else message)
        action = f"reading the result of request {job.id} to {job.model}"
        payload = self._json(await self._http.call(action, "GET", job.urls["response"]), action)
        if refused_images(payload):
            message = f"{job.model} flagged its image as not safe for work (request {job.id})"
            raise TaskFailure(ErrorKind.CONTENT_REFUSED, message)
        found = output_file(payload)
        answer = payload.get("output")
        if found is None and isinstance(answer, str):  # a language model's answer
            return JobResult(answer.encode(), "text/plain; charset=utf-8", "inline")
        if found is None:
            message = f"the result of request {job.id} to {job.model} holds no media file"
            raise TaskFailure(ErrorKind.INTERNAL, message)
        url, _ = found
        data, media_type = await self._http.download(f"downloading the output of {job.model}", url)
        return JobResult(data, media_type, url[:200])

    async def cancel(self, job: Job) -> None:
        if job.last is not None and job.last.settled:
            return
        action = f"canceling request {job.id} to {job.model}"
        # 400 ALREADY_COMPLETED: it finished before the cancel arrived, which is fine
        await self._http.call(action, "PUT", job.urls["cancel"], accept=(400,))

    async def upload(self, data: bytes, media_type: str) -> str:
        """Put an input in fal's storage (initiate, then PUT to the presigned URL); the
        file URL its models read."""
        action = f"uploading a {media_type} input of {len(data)} bytes"
        if self._storage is None:
            raise TaskFailure(ErrorKind.INVALID_INPUT, f"{action}: no fal storage URL is set")
        name = "input" + (mimetypes.guess_extension(media_type) or "")
        initiate = f"{self._storage}/storage/upload/initiate?storage_type=fal-cdn-v3"
        body = {"content_type": media_type, "file_name": name}
        answer = self._json(await self._http.call(action, "POST", initiate, json=body), action)
        upload, file_url = answer.get("upload_url"), answer.get("file_url")
        if not isinstance(upload, str) or not isinstance(file_url, str):
            raise TaskFailure(ErrorKind.UNAVAILABLE, f"fal answered {action} with no URLs")
        await self._http.put_file(action, upload, data, media_type)
        return file_url

    async def aclose(self) -> None:
        await self._http.aclose()

    def _urls(self, model: str, request_id: str, body: Mapping[str, Any]) -> dict[str, str]:
        """fal's own URLs when they point at the queue host we were given (only there
        may the key go), else the documented ones built from the app id."""
        base = f"{self._http.base_url}/{app_id(model)}/requests/{request_id}"
        urls = {"status": f"{base}/status", "response": base, "cancel": f"{base}/cancel"}
        for name in urls:
            given = body.get(f"{name}_url")
            if isinstance(given, str) and self._http.same_origin(given):
                urls[name] = given
        return urls

    def _json(self, response: httpx.Response, action: str) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise TaskFailure(ErrorKind.UNAVAILABLE, f"fal answered {action} with no JSON object")
        return body
