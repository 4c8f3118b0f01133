"""Webhook deliveries over HTTP (`engine.ports.WebhookTransport`), through httpx, to
public destinations only.

A webhook must not become a way into the deployment's own network (server-side
request forgery), so a destination is checked twice:

- when it is registered (`check`): http or https, no credentials in the URL, no
  internal host name, and an address (in any spelling: `2130706433`, `0x7f000001`,
  `127.1`, `[::ffff:127.0.0.1]`) or the addresses a name resolves to, if it resolves,
  all public;
- at every delivery (`post`): the name is resolved again, every address must be
  public, and the request goes to the address that was checked (the Host header and
  TLS server name stay the webhook's), so a name that later resolves inward, or
  flips between answers, is caught.

Loopback, private, link-local, unique-local, shared (CGNAT), multicast, reserved and
unspecified addresses, and IPv4 addresses embedded in IPv6 (mapped, 6to4, Teredo,
NAT64) are refused. `allow_private` (SCENESTATE_WEBHOOK_ALLOW_PRIVATE=1) lets them
through, for development and tests. Redirects are never followed.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Mapping
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from engine.errors import InvalidIntent
from engine.ports import WebhookAnswer

if TYPE_CHECKING:
    import httpx

TIMEOUT = 10.0  # seconds for one attempt
INTERNAL_NAMES = frozenset(
    {
        "localhost",
        "metadata",
        "metadata.google.internal",
        "metadata.goog",
        "instance-data",
        "kubernetes.default",
    }
)
INTERNAL_SUFFIXES = (".localhost", ".internal", ".local", ".localdomain", ".svc", ".cluster.local")
NAT64 = ipaddress.ip_network("64:ff9b::/96")
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class Unreachable(Exception):
    """A destination that may not, or cannot, be sent to; the message says why."""


def _embedded_v4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_public(address: Address) -> bool:
    """Whether an address is on the public internet (and so is whatever it embeds)."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = _embedded_v4(address)
        if inner is not None and not is_public(inner):
            return False
    return address.is_global and not address.is_multicast


def literal_address(host: str) -> Address | None:
    """The address a host names literally, in any spelling the resolver accepts
    (`127.1`, `2130706433`, `0x7f000001`, `0177.0.0.1`, an IPv6 literal)."""
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def _host_of(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise Unreachable(f"the scheme {parts.scheme!r} is not http or https")
    if parts.username is not None or parts.password is not None:
        raise Unreachable("the URL carries credentials; put them in the receiver's config")
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        raise Unreachable("the URL names no host")
    return host, parts.port or (443 if parts.scheme == "https" else 80)


async def resolve(host: str, port: int) -> list[Address]:
    literal = literal_address(host)
    if literal is not None:
        return [literal]
    loop = asyncio.get_running_loop()
    try:
        found = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise Unreachable(f"the host {host!r} does not resolve ({exc.strerror or exc})") from None
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in found]


def _check_name(host: str) -> None:
    if host in INTERNAL_NAMES or host.endswith(INTERNAL_SUFFIXES):
        raise Unreachable(f"the host {host!r} is an internal name")


def _check_addresses(host: str, addresses: list[Address]) -> Address:
    inward = [a for a in addresses if not is_public(a)]
    if inward:
        raise Unreachable(f"the host {host!r} is at {inward[0]}, which is not a public address")
    return addresses[0]


class HttpWebhookTransport:
    def __init__(self, *, allow_private: bool = False, timeout: float = TIMEOUT) -> None:
        self.allow_private = allow_private
        self._timeout = timeout
        self._opened: httpx.AsyncClient | None = None

    @property
    def _client(self) -> httpx.AsyncClient:
        # httpx is loaded with the first delivery: most commands never send one
        if self._opened is None:
            import httpx

            self._opened = httpx.AsyncClient(timeout=self._timeout, follow_redirects=False)
        return self._opened

    async def check(self, url: str) -> None:
        """Refuse (InvalidIntent naming `url`) a destination deliveries may not go to;
        a name that does not resolve yet is let through and checked at each delivery."""
        try:
            host, port = _host_of(url)
            if self.allow_private:
                return
            _check_name(host)
            if literal_address(host) is not None:
                _check_addresses(host, await resolve(host, port))
                return
            try:
                addresses = await resolve(host, port)
            except Unreachable:
                return
            _check_addresses(host, addresses)
        except Unreachable as refusal:
            raise InvalidIntent("url", str(refusal)) from None

    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> WebhookAnswer:
        import httpx

        try:
            request = await self._request(url, body, headers)
            response = await self._client.send(request)
        except Unreachable as refusal:
            return WebhookAnswer(None, f"not sent: {refusal}")
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            return WebhookAnswer(None, reason)
        await response.aclose()
        return WebhookAnswer(response.status_code)

    async def _request(self, url: str, body: bytes, headers: Mapping[str, str]) -> httpx.Request:
        host, port = _host_of(url)
        request = self._client.build_request("POST", url, content=body, headers=dict(headers))
        if self.allow_private:
            return request
        _check_name(host)
        pinned = _check_addresses(host, await resolve(host, port))
        literal = f"[{pinned}]" if pinned.version == 6 else str(pinned)
        request.url = request.url.copy_with(host=literal)
        request.headers["Host"] = f"{host}:{port}" if urlsplit(url).port else host
        request.extensions["sni_hostname"] = host
        return request

    async def close(self) -> None:
        if self._opened is not None:
            await self._opened.aclose()
