"""A loopback ElevenLabs that answers as elevenlabs.io/docs/api-reference/text-to-speech
documents: the audio itself in the 200 answer, with `request-id` and `x-character-count`;
errors as `detail` {status, message} (401 invalid_api_key or quota_exceeded, 400
voice_not_found, 429 too_many_concurrent_requests) or a 422 list of {loc, msg, type}."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from . import samples

RACHEL = "21m00Tcm4TlvDq8ikWAM"


@dataclass
class ElevenLabsPlan:
    quota_exceeded: bool = False
    busy: int = 0  # answers 429 too_many_concurrent_requests first
    retry_after: str = "3"
    unavailable: int = 0  # answers 500 first


@dataclass
class FakeElevenLabs:
    key: str
    voices: tuple[str, ...] = (RACHEL,)
    plan: ElevenLabsPlan = field(default_factory=ElevenLabsPlan)
    spoken: list[dict[str, Any]] = field(default_factory=list)  # voice, query, headers, body

    def reset(self) -> None:
        self.plan = ElevenLabsPlan()
        self.spoken.clear()

    def app(self) -> Starlette:
        return Starlette(
            routes=[Route("/v1/text-to-speech/{voice_id}", self._speak, methods=["POST"])]
        )

    def _refusal(self, request: Request) -> Response | None:
        if request.headers.get("xi-api-key") != self.key:
            detail = {"status": "invalid_api_key", "message": "Invalid API key"}
            return JSONResponse({"detail": detail}, 401)
        if self.plan.quota_exceeded:
            message = "This request exceeds your quota of 10000. You have 12 credits remaining."
            return JSONResponse({"detail": {"status": "quota_exceeded", "message": message}}, 401)
        if self.plan.busy > 0:
            self.plan.busy -= 1
            detail = {
                "status": "too_many_concurrent_requests",
                "message": "Too many concurrent requests",
            }
            return JSONResponse(
                {"detail": detail}, 429, headers={"retry-after": self.plan.retry_after}
            )
        if self.plan.unavailable > 0:
            self.plan.unavailable -= 1
            return JSONResponse(
                {"detail": {"status": "internal_error", "message": "Internal error"}}, 500
            )
        return None

    async def _speak(self, request: Request) -> Response:
        if refused := self._refusal(request):
            return refused
        voice = request.path_params["voice_id"]
        body = await request.json()
        query = dict(request.query_params)
        self.spoken.append(
            {"voice": voice, "query": query, "headers": dict(request.headers), "body": body}
        )
        if not isinstance(body.get("text"), str) or not body["text"]:
            detail = [
                {"loc": ["body", "text"], "msg": "field required", "type": "value_error.missing"}
            ]
            return JSONResponse({"detail": detail}, 422)
        if voice not in self.voices:
            message = f"A voice with the voice_id {voice} was not found."
            return JSONResponse({"detail": {"status": "voice_not_found", "message": message}}, 400)
        output_format = query.get("output_format", "mp3_44100_128")
        headers = {"request-id": uuid.uuid4().hex, "x-character-count": str(len(body["text"]))}
        if output_format.startswith("pcm_"):
            audio = samples.pcm(int(output_format.split("_")[1]))
            return Response(audio, media_type="application/octet-stream", headers=headers)
        return Response(samples.mp3(), media_type="audio/mpeg", headers=headers)
