"""A loopback Replicate that answers as replicate.com/docs/reference/http documents:
predictions move starting -> processing -> succeeded (or failed, canceled, aborted)
one status read at a time; `Prefer: wait` answers a quick prediction already settled;
errors are problem+json; 429 carries `retry-after`; outputs are file URLs, or for a
language model the list of text pieces it streamed."""

from __future__ import annotations

import asyncio
import email
import email.policy
import uuid
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from . import samples


@dataclass
class ReplicatePlan:
    """How the predictions the fake creates behave."""

    starting_reads: int = 1  # status reads that still answer `starting`
    processing_reads: int = 1  # then reads that answer `processing`
    outcome: str = "succeeded"  # or failed, canceled, aborted
    error: str | None = None
    quick: bool = False  # settles within `Prefer: wait`: the create answers it settled
    throttled_creates: int = 0  # creates answered 429 first
    retry_after: str = "7"
    unavailable_creates: int = 0  # creates answered 503 first
    unavailable_reads: int = 0  # status reads answered 502 first
    throttled_reads: int = 0  # status reads answered 429 (with retry_after) first
    echo_token: bool = False  # error details repeat the token sent (to prove it is scrubbed)
    media: str = "image"  # image, video or text
    text: str = '"Watch the film"'  # what a language model answers (it likes quotes)
    predict_time: float = 2.5
    create_delay: float = 0.0  # seconds a create takes to answer


@dataclass
class FakeReplicate:
    token: str
    plan: ReplicatePlan = field(default_factory=ReplicatePlan)
    predictions: dict[str, dict[str, Any]] = field(default_factory=dict)
    reads: dict[str, int] = field(default_factory=dict)
    created: list[dict[str, Any]] = field(default_factory=list)  # path, headers, body
    canceled: list[str] = field(default_factory=list)
    downloads: list[dict[str, str]] = field(default_factory=list)  # headers of file GETs
    uploads: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # id: type, bytes

    def reset(self) -> None:
        self.plan = ReplicatePlan()
        for record in (self.predictions, self.reads):
            record.clear()
        for log in (self.created, self.canceled, self.downloads):
            log.clear()
        self.uploads.clear()

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/v1/models/{owner}/{name}/predictions", self._create, methods=["POST"]),
                Route("/v1/predictions", self._create, methods=["POST"]),
                Route("/v1/predictions/{id}", self._read, methods=["GET"]),
                Route("/v1/predictions/{id}/cancel", self._cancel, methods=["POST"]),
                Route("/files/{name}", self._file, methods=["GET"]),
                Route("/v1/files", self._upload, methods=["POST"]),
            ]
        )

    def _problem(
        self, request: Request, status: int, title: str, detail: str, **headers: str
    ) -> Response:
        if self.plan.echo_token:
            detail = f"{detail} (you sent {request.headers.get('authorization')!r})"
        body = {"title": title, "detail": detail, "status": status}
        return JSONResponse(body, status, headers=headers, media_type="application/problem+json")

    def _refusal(self, request: Request) -> Response | None:
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return self._problem(
                request, 401, "Unauthenticated", "You did not pass a valid authentication token"
            )
        return None

    async def _create(self, request: Request) -> Response:
        if refused := self._refusal(request):
            return refused
        if self.plan.throttled_creates > 0:
            self.plan.throttled_creates -= 1
            return self._problem(
                request,
                429,
                "Request was throttled.",
                "Request was throttled.",
                **{"Retry-After": self.plan.retry_after},
            )
        if self.plan.unavailable_creates > 0:
            self.plan.unavailable_creates -= 1
            return self._problem(
                request, 503, "Service Unavailable", "Replicate is temporarily unavailable"
            )
        await asyncio.sleep(self.plan.create_delay)
        body = await request.json()
        self.created.append(
            {"path": request.url.path, "headers": dict(request.headers), "body": body}
        )
        if not isinstance(body.get("input"), dict) or not (body["input"].get("prompt")):
            return self._problem(
                request, 422, "Input validation failed", "- input: prompt is required"
            )
        prediction_id = uuid.uuid4().hex[:26]
        base = str(request.base_url).rstrip("/")
        self.predictions[prediction_id] = {
            "id": prediction_id,
            "model": request.path_params.get("owner", "")
            + "/"
            + request.path_params.get("name", ""),
            "version": body.get("version", ""),
            "input": body["input"],
            "logs": "",
            "output": None,
            "error": None,
            "status": "starting",
            "created_at": "2025-01-01T00:00:00.000Z",
            "urls": {
                "get": f"{base}/v1/predictions/{prediction_id}",
                "cancel": f"{base}/v1/predictions/{prediction_id}/cancel",
            },
        }
        self.reads[prediction_id] = 0
        if self.plan.quick and request.headers.get("prefer", "").startswith("wait"):
            self._settle(prediction_id, base)
        return JSONResponse(self.predictions[prediction_id], 201)

    async def _read(self, request: Request) -> Response:
        if refused := self._refusal(request):
            return refused
        prediction_id = request.path_params["id"]
        if prediction_id not in self.predictions:
            return self._problem(
                request, 404, "Not found", "The requested resource could not be found."
            )
        if self.plan.throttled_reads > 0:
            self.plan.throttled_reads -= 1
            retry = {"Retry-After": self.plan.retry_after}
            return self._problem(request, 429, "Request was throttled.", "Slow down.", **retry)
        if self.plan.unavailable_reads > 0:
            self.plan.unavailable_reads -= 1
            return self._problem(request, 502, "Bad Gateway", "upstream connect error")
        self._advance(prediction_id, str(request.base_url).rstrip("/"))
        return JSONResponse(self.predictions[prediction_id])

    def _advance(self, prediction_id: str, base: str) -> None:
        prediction = self.predictions[prediction_id]
        if prediction["status"] not in ("starting", "processing"):
            return
        self.reads[prediction_id] += 1
        reads, plan = self.reads[prediction_id], self.plan
        if plan.outcome == "aborted" and reads > plan.starting_reads:
            prediction["status"] = "aborted"
        elif reads > plan.starting_reads + plan.processing_reads:
            self._settle(prediction_id, base)
        elif reads > plan.starting_reads:
            prediction["status"] = "processing"
            prediction["logs"] = "Running predict()...\n"

    def _settle(self, prediction_id: str, base: str) -> None:
        prediction, plan = self.predictions[prediction_id], self.plan
        prediction["status"] = plan.outcome
        prediction["completed_at"] = "2025-01-01T00:00:03.000Z"
        if plan.outcome == "succeeded" and plan.media == "text":
            pieces = plan.text.split(" ")
            prediction["output"] = [pieces[0], *(" " + piece for piece in pieces[1:])]
            prediction["metrics"] = {"predict_time": plan.predict_time, "total_time": 3.1}
        elif plan.outcome == "succeeded":
            extension = "png" if plan.media == "image" else "mp4"
            prediction["output"] = [f"{base}/files/{prediction_id}.{extension}"]
            prediction["metrics"] = {"predict_time": plan.predict_time, "total_time": 3.1}
        elif plan.outcome == "failed":
            prediction["error"] = plan.error or "CUDA out of memory"

    async def _cancel(self, request: Request) -> Response:
        if refused := self._refusal(request):
            return refused
        prediction_id = request.path_params["id"]
        prediction = self.predictions.get(prediction_id)
        if prediction is None:
            return self._problem(
                request, 404, "Not found", "The requested resource could not be found."
            )
        self.canceled.append(prediction_id)
        if prediction["status"] in ("starting", "processing"):
            prediction["status"] = "canceled"
        return JSONResponse(prediction)

    async def _upload(self, request: Request) -> Response:
        """The files API: multipart with the bytes in `content`; answers the file object."""
        if refused := self._refusal(request):
            return refused
        head = f"Content-Type: {request.headers['content-type']}\r\n\r\n".encode()
        form = email.message_from_bytes(head + await request.body(), policy=email.policy.HTTP)
        parts = {
            part.get_param("name", header="content-disposition"): part for part in form.iter_parts()
        }
        if "content" not in parts:
            return self._problem(request, 400, "Bad request", "- content: file is required")
        content = parts["content"]
        file_id = uuid.uuid4().hex[:26]
        data = content.get_payload(decode=True)
        self.uploads[file_id] = (content.get_content_type(), data)
        base = str(request.base_url).rstrip("/")
        body = {
            "id": file_id,
            "name": content.get_filename(),
            "content_type": content.get_content_type(),
            "size": len(data),
            "urls": {"get": f"{base}/v1/files/{file_id}"},
        }
        return JSONResponse(body, 201)

    async def _file(self, request: Request) -> Response:
        self.downloads.append(dict(request.headers))
        name = request.path_params["name"]
        if name.endswith(".png"):
            return Response(samples.png(), media_type="image/png")
        return Response(samples.mp4(), media_type="video/mp4")
