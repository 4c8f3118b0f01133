"""Webhook deliveries over HTTP (`engine.ports.WebhookTransport`), through httpx.

One POST per attempt, redirects never followed (a receiver that redirects does not
get to choose where a signed body goes next); a request that gets no answer comes
back as an error naming why, never as an exception.
"""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from engine.ports import WebhookAnswer

TIMEOUT = 10.0  # seconds for one attempt


class HttpWebhookTransport:
    def __init__(self, timeout: float = TIMEOUT) -> None:
        self._client = httpx.AsyncClient(timeout=timeout, follow_redirects=False)

    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> WebhookAnswer:
        try:
            response = await self._client.post(url, content=body, headers=dict(headers))
        except httpx.HTTPError as exc:
            reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            return WebhookAnswer(None, reason)
        return WebhookAnswer(response.status_code)

    async def close(self) -> None:
        await self._client.aclose()
