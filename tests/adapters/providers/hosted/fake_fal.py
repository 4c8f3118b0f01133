"""A loopback fal queue that answers as docs.fal.ai/model-apis/model-endpoints/queue
documents: a request waits IN_QUEUE with a falling queue_position, goes IN_PROGRESS, then
COMPLETED; status, result and cancel live under the app id without the model's subpath;
cancel answers 202 CANCELLATION_REQUESTED or 400 ALREADY_COMPLETED."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from . import samples


@dataclass
class FalPlan:
    queue_positions: tuple[int, ...] = (2, 1, 0)  # status reads answered IN_QUEUE
    progress_reads: int = 1  # then reads answered IN_PROGRESS
    error: str | None = None  # COMPLETED with this error...
    error_type: str = ""  # ...and this error_type
    nsfw: bool = False  # the image model flags its image in has_nsfw_concepts
    result_refusal: bool = False  # the result is a 422 content_policy_violation
    unavailable_submits: int = 0
    inference_time: float = 1.25
    foreign_urls: bool = False  # answer submit with URLs on another host
    text: str = "Watch the film"  # what fal-ai/any-llm answers in `output`


@dataclass
class FakeFal:
    key: str
    plan: FalPlan = field(default_factory=FalPlan)
    requests: dict[str, dict[str, Any]] = field(default_factory=dict)
    submitted: list[dict[str, Any]] = field(default_factory=list)  # path, headers, body
    paths: list[str] = field(default_factory=list)  # every API path asked for
    canceled: list[str] = field(default_factory=list)
    downloads: list[dict[str, str]] = field(default_factory=list)
    initiated: list[dict[str, Any]] = field(default_factory=list)  # headers, body
    uploads: dict[str, tuple[str, bytes, dict[str, str]]] = field(default_factory=dict)

    def reset(self) -> None:
        self.plan = FalPlan()
        self.requests.clear()
        for log in (self.submitted, self.paths, self.canceled, self.downloads, self.initiated):
            log.clear()
        self.uploads.clear()

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/files/{name}", self._file, methods=["GET"]),
                Route("/storage/upload/initiate", self._initiate, methods=["POST"]),
                Route("/uploads/{id}", self._receive, methods=["PUT"]),
                Route("/{owner}/{app}/requests/{id}/status", self._status, methods=["GET"]),
                Route("/{owner}/{app}/requests/{id}/cancel", self._cancel, methods=["PUT"]),
                Route("/{owner}/{app}/requests/{id}", self._result, methods=["GET"]),
                Route("/{model:path}", self._submit, methods=["POST"]),
            ]
        )

    def _unauthorized(self, request: Request) -> Response | None:
        self.paths.append(request.url.path)
        if request.headers.get("authorization") != f"Key {self.key}":
            return JSONResponse({"detail": "Unauthorized: invalid key"}, 401)
        return None

    def _known(self, request: Request) -> dict[str, Any] | None:
        app_id = f"{request.path_params['owner']}/{request.path_params['app']}"
        entry = self.requests.get(request.path_params["id"])
        return entry if entry is not None and entry["app"] == app_id else None

    async def _submit(self, request: Request) -> Response:
        if refused := self._unauthorized(request):
            return refused
        if self.plan.unavailable_submits > 0:
            self.plan.unavailable_submits -= 1
            body = {
                "detail": "No runner could be allocated",
                "error_type": "runner_scheduling_failure",
            }
            return JSONResponse(body, 503)
        model = request.path_params["model"]
        payload = await request.json()
        self.submitted.append(
            {"path": request.url.path, "headers": dict(request.headers), "body": payload}
        )
        if not payload.get("prompt") and not payload.get("text"):
            detail = [
                {"loc": ["body", "prompt"], "msg": "field required", "type": "value_error.missing"}
            ]
            return JSONResponse({"detail": detail}, 422)
        request_id = str(uuid.uuid4())
        app_id = "/".join(model.split("/")[:2])
        self.requests[request_id] = {"app": app_id, "model": model, "reads": 0, "state": "IN_QUEUE"}
        host = "https://queue.fal.run" if self.plan.foreign_urls else str(request.base_url)
        base = f"{host.rstrip('/')}/{app_id}/requests/{request_id}"
        answer = {
            "request_id": request_id,
            "response_url": base,
            "status_url": f"{base}/status",
            "cancel_url": f"{base}/cancel",
            "queue_position": self.plan.queue_positions[0] if self.plan.queue_positions else 0,
        }
        return JSONResponse(answer)

    async def _status(self, request: Request) -> Response:
        if refused := self._unauthorized(request):
            return refused
        entry = self._known(request)
        if entry is None:
            return JSONResponse({"detail": "Request not found"}, 404)
        self._advance(entry)
        base = f"{request.base_url}{entry['app']}/requests/{request.path_params['id']}"
        body: dict[str, Any] = {"status": entry["state"], "response_url": base}
        if entry["state"] == "IN_QUEUE":
            body["queue_position"] = entry["position"]
            return JSONResponse(body, 202)
        if entry["state"] == "IN_PROGRESS":
            body["logs"] = [
                {"message": "step 1/4", "level": "INFO", "timestamp": "2025-01-01T00:00:00"}
            ]
            return JSONResponse(body, 202)
        body["metrics"] = {"inference_time": self.plan.inference_time}
        if self.plan.error:
            body["error"], body["error_type"] = self.plan.error, self.plan.error_type
        return JSONResponse(body)

    def _advance(self, entry: dict[str, Any]) -> None:
        if entry["state"] in ("COMPLETED", "CANCELED"):
            return
        reads, positions = entry["reads"], self.plan.queue_positions
        entry["reads"] += 1
        if reads < len(positions):
            entry["state"], entry["position"] = "IN_QUEUE", positions[reads]
        elif reads < len(positions) + self.plan.progress_reads:
            entry["state"] = "IN_PROGRESS"
        else:
            entry["state"] = "COMPLETED"

    async def _result(self, request: Request) -> Response:
        if refused := self._unauthorized(request):
            return refused
        entry = self._known(request)
        if entry is None:
            return JSONResponse({"detail": "Request not found"}, 404)
        if entry["state"] != "COMPLETED":
            return JSONResponse({"detail": "Request is still in progress"}, 400)
        if self.plan.result_refusal:
            detail = [
                {
                    "loc": ["body", "prompt"],
                    "msg": "The content could not be processed because it contained "
                    "material flagged by a content checker.",
                    "type": "content_policy_violation",
                }
            ]
            return JSONResponse({"detail": detail}, 422)
        return JSONResponse(self._output(entry["model"], f"{request.base_url}files"))

    def _output(self, model: str, files: str) -> dict[str, Any]:
        name = uuid.uuid4().hex
        if model == "fal-ai/any-llm":
            return {"output": self.plan.text, "reasoning": None, "partial": False, "error": None}
        if "video" in model:
            video = {
                "url": f"{files}/{name}.mp4",
                "content_type": "video/mp4",
                "file_name": "output.mp4",
            }
            return {"video": video}
        if "tts" in model:
            return {"audio": {"url": f"{files}/{name}.mp3", "content_type": "audio/mpeg"}}
        image = {
            "url": f"{files}/{name}.png",
            "content_type": "image/png",
            "width": 160,
            "height": 90,
        }
        return {
            "images": [image],
            "seed": 42,
            "has_nsfw_concepts": [self.plan.nsfw],
            "timings": {"inference": 0.4},
        }

    async def _cancel(self, request: Request) -> Response:
        if refused := self._unauthorized(request):
            return refused
        entry = self._known(request)
        if entry is None:
            return JSONResponse({"status": "NOT_FOUND"}, 404)
        self.canceled.append(request.path_params["id"])
        if entry["state"] == "COMPLETED":
            return JSONResponse({"status": "ALREADY_COMPLETED"}, 400)
        entry["state"] = "CANCELED"
        return JSONResponse({"status": "CANCELLATION_REQUESTED"}, 202)

    async def _initiate(self, request: Request) -> Response:
        """Storage: a presigned URL to PUT the bytes to, and the URL they are read from."""
        if refused := self._unauthorized(request):
            return refused
        body = await request.json()
        self.initiated.append({"headers": dict(request.headers), "body": body})
        upload_id = uuid.uuid4().hex
        base = str(request.base_url).rstrip("/")
        return JSONResponse(
            {
                "upload_url": f"{base}/uploads/{upload_id}?X-Signature=presigned",
                "file_url": f"{base}/files/{upload_id}-{body.get('file_name', 'file')}",
            }
        )

    async def _receive(self, request: Request) -> Response:
        self.uploads[request.path_params["id"]] = (
            request.headers.get("content-type", ""),
            await request.body(),
            dict(request.headers),
        )
        return Response(status_code=200)

    async def _file(self, request: Request) -> Response:
        self.downloads.append(dict(request.headers))
        name = request.path_params["name"]
        if name.endswith(".mp4"):
            return Response(samples.mp4(), media_type="video/mp4")
        if name.endswith(".mp3"):
            return Response(samples.mp3(), media_type="audio/mpeg")
        return Response(samples.png(), media_type="image/png")
