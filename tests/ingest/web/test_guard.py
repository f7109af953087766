"""The fetch guard (issue 21): no request reaches a loopback, private, link-local, multicast or
reserved address, by any host form or redirect; the connection goes to the address checked.

No packet leaves loopback: refused addresses are never connected to (the tests fail if one is),
and the 'public' host is a name the test's resolver maps to a public address whose connections
the test routes to the loopback news site."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from rag.errors import FetchError
from rag.ingest.web.fetch import Fetcher, FetchOptions
from rag.ingest.web.guard import refusal
from tests.news_site import NewsSite, generated_story, news_site

PUBLIC = "93.184.216.34"  # what the test's resolver answers for news.example (never connected to)


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("10.0.0.5", "private address"),
        ("172.16.3.4", "private address"),
        ("192.168.1.1", "private address"),
        ("127.0.0.1", "loopback address"),
        ("127.8.9.10", "loopback address"),
        ("169.254.169.254", "link-local address"),  # cloud metadata
        ("224.0.0.1", "multicast address"),
        ("240.0.0.1", "reserved address"),
        ("0.0.0.0", "reserved address"),
        ("0.1.2.3", "reserved address"),
        ("100.64.0.1", "reserved address"),  # carrier-grade NAT
        ("255.255.255.255", "reserved address"),
        ("::1", "loopback address"),
        ("::", "reserved address"),
        ("fe80::1", "link-local address"),
        ("fc00::1", "private address"),
        ("fd12:3456::1", "private address"),
        ("ff02::1", "multicast address"),
        ("::ffff:10.0.0.5", "private address"),  # IPv4-mapped IPv6
        ("::ffff:127.0.0.1", "loopback address"),
        ("2002:7f00:1::", "loopback address"),  # 6to4 of 127.0.0.1
        (PUBLIC, None),
        ("2606:4700:4700::1111", None),
    ],
)
def test_each_address_class(address: str, reason: str | None) -> None:
    assert refusal(ipaddress.ip_address(address)) == reason


@pytest.fixture
def no_connection(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Fail any connection attempt (a refused address must never be connected to)."""
    attempts: list[Any] = []

    def connect(address: Any, *args: Any, **kwargs: Any) -> socket.socket:
        attempts.append(address)
        raise AssertionError(f"connected to {address}")

    monkeypatch.setattr(socket, "create_connection", connect)
    return attempts


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://10.0.0.5/story.html", "private address (10.0.0.5)"),
        ("http://169.254.169.254/latest/meta-data/", "link-local address (169.254.169.254)"),
        ("http://127.0.0.1:9/news.html", "loopback address (127.0.0.1)"),
        ("http://localhost/news.html", "loopback address (localhost resolves to "),
        ("http://2130706433/news.html", "loopback address (2130706433 resolves to 127.0.0.1)"),  # decimal
        ("http://0177.0.0.1/news.html", "loopback address (0177.0.0.1 resolves to 127.0.0.1)"),  # octal
        ("http://0x7f.1/news.html", "loopback address (0x7f.1 resolves to 127.0.0.1)"),  # hex, short form
        ("http://[::1]:8080/news.html", "loopback address (::1)"),
        ("http://[::ffff:a00:5]/news.html", "private address (::ffff:a00:5)"),
        ("https://[fe80::1]/news.html", "link-local address (fe80::1)"),
        ("http://224.0.0.1/news.html", "multicast address (224.0.0.1)"),
        ("http://240.0.0.1/news.html", "reserved address (240.0.0.1)"),
    ],
)
def test_internal_urls_are_refused_with_the_reason(url: str, reason: str, no_connection: list[Any]) -> None:
    message = fetch_refusal(url, no_connection)
    assert message.startswith(f"refused {url}: {reason}"), message
    assert "RAG_FETCH_ALLOW_PRIVATE=true" in message


def fetch_refusal(url: str, no_connection: list[Any]) -> str:
    """Why fetching `url` fails, having connected nowhere."""
    with Fetcher(FetchOptions(host_delay=0.0)) as fetcher, pytest.raises(FetchError) as refused:
        fetcher.fetch(url)
    assert no_connection == []
    return str(refused.value)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://[::1/news.html", "not a well-formed URL (Invalid IPv6 URL); check the address"),
        ("http://example.com:port/x", "not a well-formed URL (Port could not be cast to integer value as 'port')"),
        ("ftp://example.com/news.txt", "not an http(s) URL; give a full address like https://example.com/story"),
    ],
)
def test_malformed_urls_are_a_fetch_error_not_a_crash(url: str, reason: str, no_connection: list[Any]) -> None:
    assert fetch_refusal(url, no_connection).startswith(reason)


@pytest.fixture
def site() -> Iterator[NewsSite]:
    story = generated_story(1)
    with news_site(NewsSite(stories={story.slug: story})) as running:
        yield running


def test_the_loopback_site_only_under_the_opt_out(site: NewsSite) -> None:
    url = site.url("/news/story-1.html")
    with Fetcher(FetchOptions(host_delay=0.0)) as fetcher, pytest.raises(FetchError, match="loopback address"):
        fetcher.fetch(url)
    assert site.hits == {}  # not even robots.txt was asked
    with Fetcher(FetchOptions(host_delay=0.0, allow_private=True)) as fetcher:
        assert b"plan number 1" in fetcher.fetch(url).content


class Internet:
    """A resolver and a route standing in for the internet: news.example is at PUBLIC, whose
    connections reach the loopback site; every lookup and connection is recorded."""

    def __init__(self, site: NewsSite, monkeypatch: pytest.MonkeyPatch) -> None:
        self.site = site
        self.answers = {"news.example": [PUBLIC]}
        self.lookups: list[str] = []
        self.connections: list[tuple[str, int]] = []
        real_getaddrinfo, real_connect = socket.getaddrinfo, socket.create_connection

        def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
            if host in self.answers:
                self.lookups.append(host)
                answer = self.answers[host].pop(0) if len(self.answers[host]) > 1 else self.answers[host][0]
                return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answer, port))]
            return real_getaddrinfo(host, port, *args, **kwargs)

        def connect(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
            self.connections.append(address)
            assert address[0] == PUBLIC, f"connected to {address}"
            return real_connect(("127.0.0.1", site.port), *args, **kwargs)

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
        monkeypatch.setattr(socket, "create_connection", connect)

    def url(self, path: str) -> str:
        return f"http://news.example:{self.site.port}{path}"


def test_a_public_host_is_fetched_at_the_address_checked(site: NewsSite, monkeypatch: pytest.MonkeyPatch) -> None:
    internet = Internet(site, monkeypatch)
    with Fetcher(FetchOptions(host_delay=0.0)) as fetcher:
        fetched = fetcher.fetch(internet.url("/news/story-1.html"))
    assert b"plan number 1" in fetched.content
    assert {address for address in internet.connections} == {(PUBLIC, site.port)}  # never the name again
    assert len(internet.lookups) == len(internet.connections)  # one lookup per connection, the one checked
    assert site.hosts == {f"news.example:{site.port}"}  # the Host header still names the site


def test_a_redirect_into_a_private_range_is_refused(site: NewsSite, monkeypatch: pytest.MonkeyPatch) -> None:
    internet = Internet(site, monkeypatch)
    site.redirects["/latest"] = "http://10.0.0.5/admin"
    with Fetcher(FetchOptions(host_delay=0.0)) as fetcher, pytest.raises(FetchError) as refused:
        fetcher.fetch(internet.url("/latest"))
    assert str(refused.value).startswith("refused http://10.0.0.5/admin: private address (10.0.0.5)")
    assert {address[0] for address in internet.connections} == {PUBLIC}


def test_a_name_that_changes_its_answer_is_judged_by_the_answer_connected_to(
    site: NewsSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DNS rebinding: public at the first lookup, then 10.0.0.5; the connection is refused, never made."""
    internet = Internet(site, monkeypatch)
    internet.answers["rebind.example"] = [PUBLIC, "10.0.0.5"]
    url = f"http://rebind.example:{site.port}/news/story-1.html"
    with Fetcher(FetchOptions(host_delay=0.0)) as fetcher, pytest.raises(FetchError) as refused:
        fetcher.fetch(url)
    assert "private address (rebind.example resolves to 10.0.0.5)" in str(refused.value)
    assert all(address[0] == PUBLIC for address in internet.connections)
