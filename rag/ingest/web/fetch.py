"""Fetching web pages and feeds politely and safely (httpx).

`Fetcher` owns everything between a URL and its bytes: connect, read and total timeouts
(a server that drips bytes is cut off), a maximum size read as a stream, a redirect limit,
a User-Agent naming the project, robots.txt honoured, no internal address
(rag.ingest.web.guard), a delay between two requests to the
same host, bounded concurrency, and conditional GET (the caller gives the validators it
remembered, rag.ingest.web.state). Every failure is a `FetchError` saying why.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import urlsplit
from urllib.robotparser import RobotFileParser

import httpx

from rag.errors import FetchError
from rag.ingest.identity import split_url
from rag.ingest.web.guard import GuardedTransport, check_url

if TYPE_CHECKING:
    from rag.config import Settings

USER_AGENT = "rag-news/0.1 (news question answering; article ingestion)"
HTML_TYPES = ("text/html", "application/xhtml+xml")
FEED_TYPES = (
    "application/rss+xml",
    "application/atom+xml",
    "application/rdf+xml",
    "application/xml",
    "text/xml",
    "application/feed+json",
)

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class FetchOptions:
    connect_timeout: float = 5.0
    read_timeout: float = 15.0
    total_timeout: float = 60.0
    max_bytes: int = 5_000_000
    max_redirects: int = 5
    host_delay: float = 1.0
    concurrency: int = 4
    user_agent: str = USER_AGENT
    allow_private: bool = False  # lift the guard against internal addresses (rag.ingest.web.guard)


@dataclass(frozen=True)
class Fetched:
    """A response: `not_modified` (a 304, no content) or the content of a 200."""

    url: str  # as asked
    final_url: str  # after redirects
    content: bytes
    content_type: str
    not_modified: bool = False
    etag: str = ""  # validators of a 200, for a conditional GET next time (rag.ingest.web.state)
    last_modified: str = ""


@dataclass(frozen=True)
class Validators:
    """What a conditional GET sends: the ETag and Last-Modified of the version stored."""

    etag: str = ""
    last_modified: str = ""


class Fetcher:
    """Fetches URLs; thread-safe. Use as a context manager."""

    def __init__(self, options: FetchOptions) -> None:
        self.options = options
        self._lock = threading.Lock()
        self._next_slot: dict[str, float] = {}
        self._robots: dict[str, RobotFileParser | None] = {}
        self._robots_locks: dict[str, threading.Lock] = {}
        self._client = httpx.Client(
            timeout=httpx.Timeout(options.read_timeout, connect=options.connect_timeout),
            follow_redirects=True,
            max_redirects=options.max_redirects,
            headers={"User-Agent": options.user_agent},
            transport=GuardedTransport(options.allow_private),
        )

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *_: object) -> None:
        self._client.close()

    def fetch(self, url: str, accept: tuple[str, ...] = HTML_TYPES, validators: Validators | None = None) -> Fetched:
        """The page at `url` (a 304 when `validators` still match), or a `FetchError` with the reason
        (never another exception for network trouble)."""
        try:
            parts = split_url(url)
        except ValueError as error:  # "http://[::1", "http://host:port"
            raise FetchError(f"not a well-formed URL ({error}); check the address") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise FetchError("not an http(s) URL; give a full address like https://example.com/story")
        check_url(url, self.options.allow_private)
        if not self._allowed(url):
            raise FetchError("robots.txt of the site disallows fetching this page")
        headers = {}
        if validators is not None and validators.etag:
            headers["If-None-Match"] = validators.etag
        if validators is not None and validators.last_modified:
            headers["If-Modified-Since"] = validators.last_modified
        self._wait_turn(parts.hostname)
        try:
            return self._get(url, headers, accept)
        except httpx.TooManyRedirects:
            raise FetchError(f"more than {self.options.max_redirects} redirects (a redirect loop?)") from None
        except httpx.ConnectTimeout:
            raise FetchError(f"no connection within {self.options.connect_timeout:g} s (host down?)") from None
        except httpx.TimeoutException:
            raise FetchError(f"the server sent nothing for {self.options.read_timeout:g} s (timeout)") from None
        except httpx.ConnectError as error:
            reason = str(error)
            if "Name or service not known" in reason or "nodename nor servname" in reason or "-3]" in reason:
                raise FetchError(f"host {parts.hostname} not found (DNS); check the address") from None
            raise FetchError(f"cannot connect to {parts.hostname} ({reason}); is the site up?") from None
        except httpx.HTTPError as error:
            raise FetchError(f"transfer failed ({type(error).__name__}: {error})") from None

    def _get(self, url: str, headers: dict[str, str], accept: tuple[str, ...]) -> Fetched:
        deadline = time.monotonic() + self.options.total_timeout
        with self._client.stream("GET", url, headers=headers) as response:
            final = str(response.url)
            if response.status_code == 304:
                return Fetched(url, final, b"", "", not_modified=True)
            if response.status_code in (404, 410):
                raise FetchError(f"HTTP {response.status_code} {response.reason_phrase}: the page is gone")
            if response.status_code >= 400:
                raise FetchError(f"HTTP {response.status_code} {response.reason_phrase} from the server; try later")
            content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
            if content_type and content_type not in accept:
                raise FetchError(f"content type is {content_type}, not {' or '.join(accept[:2])}; not an article page")
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > self.options.max_bytes:
                raise FetchError(self._too_big(int(declared)))
            body = bytearray()
            for piece in response.iter_bytes():
                body += piece
                if len(body) > self.options.max_bytes:
                    raise FetchError(self._too_big(len(body), at_least=True))
                if time.monotonic() > deadline:
                    raise FetchError(f"the page took over {self.options.total_timeout:g} s to arrive (too slow)")
            etag, modified = response.headers.get("etag", ""), response.headers.get("last-modified", "")
            return Fetched(url, final, bytes(body), content_type, etag=etag, last_modified=modified)

    def _too_big(self, size: int, at_least: bool = False) -> str:
        return (
            f"the page is {'over ' if at_least else ''}{size:,} bytes, over the limit of "
            f"{self.options.max_bytes:,}; raise RAG_FETCH_MAX_BYTES to accept it"
        )

    def map(self, work: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        """`work` over items with at most `concurrency` at once; results in order, each as soon as it
        and those before it are done. At most twice `concurrency` results wait to be taken, so a
        slow consumer (the embedder) holds back the fetching instead of piling up pages in memory."""
        workers = max(1, self.options.concurrency)
        window: deque[Future[R]] = deque()
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for item in items:
                window.append(pool.submit(work, item))
                if len(window) >= 2 * workers:
                    yield window.popleft().result()
            while window:
                yield window.popleft().result()

    # --- politeness -----------------------------------------------------------------------
    def _wait_turn(self, host: str) -> None:
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next_slot.get(host, now))
            self._next_slot[host] = slot + self.options.host_delay
        if slot > now:
            time.sleep(slot - now)

    def _allowed(self, url: str) -> bool:
        parts = urlsplit(url)
        site = f"{parts.scheme}://{parts.netloc}"
        with self._lock:
            site_lock = self._robots_locks.setdefault(site, threading.Lock())
        with site_lock:
            if site not in self._robots:
                self._robots[site] = self._read_robots(site, parts.hostname or "")
        rules = self._robots[site]
        return rules is None or rules.can_fetch(self.options.user_agent, url)

    def _read_robots(self, site: str, host: str) -> RobotFileParser | None:
        """The site's robots.txt rules; None (everything allowed) when it has none or cannot be read."""
        self._wait_turn(host)
        try:
            response = self._client.get(f"{site}/robots.txt")
        except (httpx.HTTPError, FetchError):  # e.g. a redirect into a private range, refused by the guard
            return None  # the page fetch itself will report the connection problem
        if response.status_code != 200 or len(response.content) > self.options.max_bytes:
            return None
        rules = RobotFileParser()
        rules.parse(response.text.splitlines())
        return rules


def fetch_options(settings: Settings) -> FetchOptions:
    """FetchOptions from `rag.config.Settings`."""
    return FetchOptions(
        connect_timeout=settings.fetch_connect_timeout,
        read_timeout=settings.fetch_read_timeout,
        total_timeout=settings.fetch_total_timeout,
        max_bytes=settings.fetch_max_bytes,
        max_redirects=settings.fetch_max_redirects,
        host_delay=settings.fetch_host_delay,
        concurrency=settings.fetch_concurrency,
        allow_private=settings.fetch_allow_private,
    )
