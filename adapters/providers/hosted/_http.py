"""The one way hosted adapters speak HTTP: a transport error, a timeout or an error answer
becomes a TaskFailure, and media downloads go through a second client that carries no
credentials, because outputs live on CDNs that must never see a provider's key."""

from __future__ import annotations

import ssl
import time
import urllib.parse
from collections.abc import Mapping
from typing import Any

import httpx

from adapters.providers.hosted._failures import failure_for_answer
from adapters.providers.hosted.keys import ProviderSettings
from adapters.providers.hosted.media import decode_data_uri, media_type_of
from engine.errors import TaskFailure
from engine.tasks import ErrorKind


class ProviderHttp:
    """One provider's two HTTP clients: `api`, which sends its credentials to its base
    URL, and one for downloads, which sends none anywhere."""

    def __init__(
        self,
        settings: ProviderSettings,
        auth_headers: Mapping[str, str],
        timeout: float,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.provider = settings.name
        self.base_url = settings.base_url
        self._settings = settings
        tls = tls or httpx.create_ssl_context()  # shared where it can be: building one is slow
        self.api = httpx.AsyncClient(
            base_url=settings.base_url, headers=dict(auth_headers), timeout=timeout, verify=tls
        )
        self._downloads = httpx.AsyncClient(timeout=timeout, follow_redirects=True, verify=tls)

    def scrub(self, text: str) -> str:
        return self._settings.key.scrub(text)

    def same_origin(self, url: str) -> bool:
        """True when `url` is on the API host, so it may be sent the key."""
        ours, theirs = urllib.parse.urlsplit(self.base_url), urllib.parse.urlsplit(url)
        return (ours.scheme, ours.netloc) == (theirs.scheme, theirs.netloc)

    async def call(
        self, action: str, method: str, url: str, *, accept: tuple[int, ...] = (), **kwargs: Any
    ) -> httpx.Response:
        """Send one API request; any answer but a 2xx (or a status in `accept`) raises the
        TaskFailure it means."""
        try:
            response = await self.api.request(method, url, **kwargs)
        except httpx.TimeoutException as exc:
            message = (
                f"{self.provider} did not answer in time while {action} ({type(exc).__name__})"
            )
            raise TaskFailure(ErrorKind.TIMEOUT, message) from None
        except httpx.TransportError as exc:
            message = f"could not reach {self.provider} while {action}: {type(exc).__name__}: {exc}"
            raise TaskFailure(ErrorKind.UNAVAILABLE, self.scrub(message)) from None
        if response.is_success or response.status_code in accept:
            return response
        raise failure_for_answer(
            self.provider,
            self._settings.key,
            self._settings.key_variable,
            action,
            response.status_code,
            response.headers,
            response.content,
            time.time(),
        )

    async def download(self, action: str, url: str) -> tuple[bytes, str]:
        """The bytes and media type at an output URL (or in an output data: URI)."""
        if url.startswith("data:"):
            try:
                data, declared = decode_data_uri(url)
            except ValueError as exc:
                raise TaskFailure(ErrorKind.INTERNAL, f"{action}: {exc}") from None
            return data, media_type_of(data, declared, "")
        where = self.scrub(_without_query(url))
        if not url.startswith(("http://", "https://")):
            message = (
                f"{self.provider} gave an output URL we will not fetch while {action}: {where}"
            )
            raise TaskFailure(ErrorKind.INTERNAL, message)
        try:
            response = await self._downloads.get(url)
        except httpx.TimeoutException:
            raise TaskFailure(ErrorKind.TIMEOUT, f"{action}: {where} timed out") from None
        except httpx.TransportError as exc:
            message = f"{action}: could not fetch {where}: {type(exc).__name__}"
            raise TaskFailure(ErrorKind.UNAVAILABLE, message) from None
        if response.status_code == 429:
            raise TaskFailure(ErrorKind.RATE_LIMITED, f"{action}: {where} answered HTTP 429")
        if not response.is_success:
            # an output that expired or a CDN that failed: making it again is the cure
            message = f"{action}: {where} answered HTTP {response.status_code}"
            raise TaskFailure(ErrorKind.UNAVAILABLE, message)
        declared = response.headers.get("content-type")
        return response.content, media_type_of(response.content, declared, url)

    async def put_file(self, action: str, url: str, data: bytes, media_type: str) -> None:
        """PUT bytes to a presigned upload URL, with no credentials (it carries its own)."""
        try:
            response = await self._downloads.put(
                url, content=data, headers={"Content-Type": media_type}
            )
        except httpx.TimeoutException:
            raise TaskFailure(ErrorKind.TIMEOUT, f"{action}: the upload timed out") from None
        except httpx.TransportError as exc:
            message = f"{action}: could not upload: {type(exc).__name__}"
            raise TaskFailure(ErrorKind.UNAVAILABLE, message) from None
        if not response.is_success:
            message = f"{action}: the upload answered HTTP {response.status_code}"
            raise TaskFailure(ErrorKind.UNAVAILABLE, message)

    async def aclose(self) -> None:
        await self.api.aclose()
        await self._downloads.aclose()


def _without_query(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
