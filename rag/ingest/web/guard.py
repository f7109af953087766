"""The fetch guard: no request reaches an internal address (server-side request forgery).

Every connection the fetcher makes (a page, a feed, a feed's entry, each redirect hop,
robots.txt) goes through `GuardedTransport`: its network backend resolves the host once,
refuses the connection when any address it resolves to is loopback, private, link-local,
multicast or reserved (IPv4 and IPv6, IPv4-mapped IPv6 and the IPv4 inside 6to4 / Teredo
included), and then connects to the address it checked, so no second DNS lookup can
answer differently (DNS rebinding). The Host header and TLS SNI still name the host, as
httpcore takes them from the URL, not from the socket. Numeric host forms the C resolver
accepts (`2130706433`, `0177.0.0.1`, `0x7f.1`) resolve to the address they mean and are
judged by it.

Written here because httpx has no such hook of its own; the address classes are the
standard library's `ipaddress` properties. `allow_private=True` (RAG_FETCH_ALLOW_PRIVATE)
lifts the guard, e.g. for a news site on loopback in tests.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

from rag.errors import FetchError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
ALLOW_HINT = "set RAG_FETCH_ALLOW_PRIVATE=true to fetch from internal addresses"


class AddressRefused(FetchError):
    """A host resolved to an address the guard does not connect to."""

    def __init__(self, host: str, address: str, reason: str) -> None:
        super().__init__(f"{host} is {address}, a {reason}")
        self.host, self.address, self.reason = host, address, reason

    def for_url(self, url: str) -> FetchError:
        """The refusal as a user reads it: `refused http://10.0.0.5/…: private address`."""
        shown = self.address if self.address == self.host else f"{self.host} resolves to {self.address}"
        return FetchError(f"refused {url}: {self.reason} ({shown}); {ALLOW_HINT}")


def refusal(address: IPAddress) -> str | None:
    """Why an address must not be fetched from, or None for a public (global) address."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour or (address.teredo[1] if address.teredo else None)
        if embedded is not None:
            return refusal(embedded)
    checks = (
        (address.is_loopback, "loopback address"),
        (address.is_link_local, "link-local address"),
        (address.is_multicast, "multicast address"),
        (address.is_unspecified or address.is_reserved, "reserved address"),
        (address in _THIS_NETWORK, "reserved address"),
        (address.is_private, "private address"),
        (not address.is_global, "reserved address"),  # e.g. 100.64.0.0/10 (carrier-grade NAT)
    )
    return next((reason for matched, reason in checks if matched), None)


_THIS_NETWORK = ipaddress.ip_network("0.0.0.0/8")


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address `host` resolves to (one lookup; numeric forms are parsed, not looked up)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:  # httpx reports it as a ConnectError, as it would its own lookup
        raise httpcore.ConnectError(f"[Errno {error.errno}] {error.strerror}") from None
    addresses: list[IPAddress] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])  # drop an IPv6 zone (fe80::1%eth0)
        if address not in addresses:
            addresses.append(address)
    return addresses


def check(host: str, addresses: Iterable[IPAddress]) -> None:
    """An `AddressRefused` when any of `addresses` may not be fetched from."""
    for address in addresses:
        reason = refusal(address)
        if reason is not None:
            raise AddressRefused(host, str(address), reason)


class _GuardedBackend(httpcore.SyncBackend):
    """Resolves, checks, and connects to the checked address (not to the host name again)."""

    def __init__(self, allow_private: bool) -> None:
        self.allow_private = allow_private

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        addresses = resolve(host, port)
        if not self.allow_private:
            check(host, addresses)
        last: Exception | None = None
        for address in addresses:  # like socket.create_connection: the first that answers
            try:
                return super().connect_tcp(str(address), port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as error:
                last = error
        raise last or httpcore.ConnectError(f"no address for {host}")


class GuardedTransport(httpx.HTTPTransport):
    """httpx's transport with the guarded backend; a refusal names the URL it was for (a redirect hop too).

    Environment proxies are not used: a proxy would make the connection, not this backend.
    """

    def __init__(self, allow_private: bool = False, **options: Any) -> None:
        super().__init__(trust_env=False, **options)
        limits = options.get("limits", httpx.Limits())
        self._pool = httpcore.ConnectionPool(  # httpx.HTTPTransport takes no network backend of its own
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_GuardedBackend(allow_private),
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return super().handle_request(request)
        except AddressRefused as refused:
            raise refused.for_url(str(request.url)) from None


def check_url(url: str, allow_private: bool) -> None:
    """Refuse `url` before anything is sent when its host is written as a refused address.

    Covers the numeric forms httpx would reject or pass on (`0177.0.0.1`, `2130706433`,
    `[::ffff:a00:5]`) without a DNS lookup; a host name is checked when the transport
    connects (the page's own URL is then named in the refusal, robots.txt is skipped).
    """
    host = urlsplit(url).hostname or ""
    if allow_private or not host:
        return
    try:
        address: IPAddress = ipaddress.ip_address(host)
    except ValueError:
        try:
            address = ipaddress.IPv4Address(socket.inet_aton(host))  # decimal, octal, hex, short forms
        except OSError:
            return  # a name
    reason = refusal(address)
    if reason is not None:
        raise AddressRefused(host, str(address), reason).for_url(url)
