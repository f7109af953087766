"""A news site on loopback for the web-ingestion tests: real HTTP (threading http.server).

Article pages wrap story text (the demo article, and stories the tests write) in real-world
boilerplate: navigation, a cookie banner, teaser <article> tiles before the story, related
links, comments. It also serves a windows-1252 page, RSS 2.0 / RSS 1.0 / Atom feeds, robots.txt,
ETag-based 304s, and every failure rag.ingest.web.fetch must report.
"""

from __future__ import annotations

import contextlib
import hashlib
import html
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.conftest import DEMO_ARTICLE


@dataclass
class Story:
    slug: str
    title: str
    date: str  # YYYY-MM-DD
    paragraphs: list[str]


def demo_story() -> Story:
    text = DEMO_ARTICLE.read_text(encoding="utf-8")
    paragraphs = [p.strip() for p in text.split("\n\n") if p.strip()]
    return Story("istanbul-talks", "Russia-Ukraine peace talks in Istanbul", "2022-03-30", paragraphs)


def generated_story(n: int) -> Story:
    town = ["Harbourside", "Millbrook", "Eastfield", "Stonebridge", "Kingsport"][n % 5]
    return Story(
        f"story-{n}",
        f"{town} council approves plan number {n}",
        f"2023-10-{n + 1:02d}",
        [
            f"The council of {town} approved plan number {n} on Tuesday after a debate that lasted four hours.",
            f"Under plan {n}, the town will rebuild its old library and open a new market hall by the spring.",
            f"Residents of {town} said at the meeting that they welcomed the plan but worried about its cost.",
            f"The mayor said plan {n} would be paid for by a regional grant and would not raise local taxes.",
        ],
    )


def page(story: Story, base: str = "", site: str = "The Loopback Gazette", canonical: str = "", head: str = "") -> str:
    teasers = "".join(
        f'<article class="teaser"><h3><a href="/news/other-{i}.html">Other story {i}</a></h3>'
        f"<p>A short teaser for another story number {i}.</p></article>"
        for i in range(3)
    )
    body = "".join(f"<p>{html.escape(p)}</p>" for p in story.paragraphs)
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>{html.escape(story.title)} | {site}</title>
<meta property="og:site_name" content="{site}">
<meta property="og:title" content="{html.escape(story.title)}">
<meta property="article:published_time" content="{story.date}T09:30:00+00:00">
<link rel="canonical" href="{canonical or f"{base}/news/{story.slug}.html?utm_source=canonical"}">{head}
<script>window.analytics = "TRACKING-SCRIPT";</script></head>
<body>
<div id="cookie-banner"><p>We use cookies to improve your experience. Accept all cookies?</p>
<button>Accept</button></div>
<header><nav><a href="/">Home</a> <a href="/world">World</a> <a href="/sport">Sport</a> SITE-NAVIGATION</nav></header>
<aside class="trending">{teasers}</aside>
<main><article class="story"><h1>{html.escape(story.title)}</h1>
<p class="byline">By Staff Reporter · <time datetime="{story.date}T09:30:00Z">{story.date}</time></p>
{body}</article>
<section class="related"><h2>Related stories</h2><ul><li><a href="/news/r1.html">RELATED-LINK one</a></li>
<li><a href="/news/r2.html">RELATED-LINK two</a></li></ul></section>
<section class="comments"><h2>Comments</h2><div class="comment"><p>COMMENT-TEXT: first!</p></div>
<p>Comments are moderated. Read our community guidelines.</p></section></main>
<footer><p>© 2023 {site}. All rights reserved. FOOTER-TEXT</p></footer></body></html>"""


LATIN_STORY = Story(
    "cafe",
    "Café reopens in Zürich",
    "2023-10-20",
    [
        "The café on the Münsterhof reopened on Friday – three years after the fire, the owner said.",
        "Guests paid 4,50 francs for a coffee, and the façade was restored in the original style.",
        "The city’s mayor called the reopening “a small miracle” in a short speech outside.",
    ],
)
BIG_BYTES = 300_000


@dataclass
class NewsSite:
    """State of the site; tests change `stories` and `feed_slugs` between runs."""

    stories: dict[str, Story] = field(default_factory=dict)
    feed_slugs: list[str] = field(default_factory=list)
    hits: Counter[str] = field(default_factory=Counter)
    not_modified: Counter[str] = field(default_factory=Counter)
    failing: set[str] = field(default_factory=set)  # paths that answer 503 for now
    redirects: dict[str, str] = field(default_factory=dict)  # path -> Location of a 302
    documents: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # path -> (content type, body) tests add
    entry_links: dict[str, str] = field(default_factory=dict)  # slug -> the link its feed entries give instead
    relative_links: bool = False  # feeds give entry links as paths (/news/x.html), not absolute URLs
    gates: dict[str, threading.Event] = field(default_factory=dict)  # path -> answered only once the event is set
    gate_timeouts: set[str] = field(default_factory=set)  # gated paths answered without their event (a test fails)
    hosts: set[str] = field(default_factory=set)  # Host headers seen
    port: int = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return self.base + path

    def link(self, slug: str, query: str = "") -> str:
        """An entry's link to a story: its page (absolute or, with `relative_links`, a path), or `entry_links`."""
        path = self.entry_links.get(slug, f"/news/{slug}.html{query}")
        return path if self.relative_links or path.startswith("http") else self.base + path

    def rss(self) -> str:
        items = "".join(
            f"<item><title>{html.escape(self.stories[s].title)}</title>"
            f"<link>{html.escape(self.link(s, '?utm_medium=rss'))}</link>"
            f"<pubDate>Tue, {self.stories[s].date[8:]} Oct 2023 09:30:00 +0000</pubDate>"
            f"<description>{html.escape(self.stories[s].paragraphs[0])}</description></item>"
            for s in self.feed_slugs
        )
        fallback = (
            f"<item><title>Entry whose page is gone</title><link>{self.base}/missing</link>"
            "<pubDate>Wed, 18 Oct 2023 10:00:00 +0000</pubDate><description>FALLBACK-CONTENT: the ferry service "
            "between the two islands resumes next week after the storm damage was repaired.</description></item>"
        )
        return (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Loopback Gazette RSS</title>'
            f"<link>{self.base}/</link><description>News</description>{items}{fallback}</channel></rss>"
        )

    def atom(self) -> str:
        entries = "".join(
            f'<entry><title>{html.escape(self.stories[s].title)}</title><link href="{html.escape(self.link(s))}"/>'
            f"<id>{self.base}/news/{s}.html</id><updated>{self.stories[s].date}T09:30:00Z</updated>"
            f"<summary>{html.escape(self.stories[s].paragraphs[0])}</summary></entry>"
            for s in self.feed_slugs
        )
        return (
            '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
            f"<title>Loopback Gazette Atom</title><id>{self.base}/</id><updated>2023-10-20T00:00:00Z</updated>"
            f"{entries}</feed>"
        )

    def rdf(self) -> str:
        items = "".join(
            f'<item rdf:about="{self.base}/news/{s}.html"><title>{html.escape(self.stories[s].title)}</title>'
            f"<link>{self.base}/news/{s}.html</link></item>"
            for s in self.feed_slugs
        )
        return (
            '<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
            'xmlns="http://purl.org/rss/1.0/"><channel rdf:about="x"><title>Loopback Gazette RDF</title>'
            f"<link>{self.base}/</link><description>News</description></channel>{items}</rdf:RDF>"
        )

    def respond(self, handler: BaseHTTPRequestHandler) -> None:
        path = handler.path.split("?", 1)[0]
        self.hits[path] += 1
        self.hosts.add(handler.headers.get("Host", ""))
        documents: dict[str, tuple[str, str | bytes]] = {
            "/robots.txt": ("text/plain", "User-agent: *\nDisallow: /private/\n"),
            "/feed.rss": ("application/rss+xml", self.rss()),
            "/feed.atom": ("application/atom+xml", self.atom()),
            "/feed.rdf": ("application/rdf+xml", self.rdf()),
            "/broken.rss": ("application/rss+xml", "<rss><channel><item><title>Cut off"),
            "/not-a-feed.rss": ("text/html", "<html><body><p>This is a web page, not a feed.</p></body></html>"),
            "/paywall.html": (
                "text/html",
                "<html><body><script>renderStory()</script><div id=app></div></body></html>",
            ),
            "/private/secret.html": ("text/html", page(generated_story(99))),
            "/report.pdf": ("application/pdf", "%PDF-1.4 not html"),
            "/favicon.ico": ("image/x-icon", "\x00\x00\x01\x00"),
            "/huge.html": ("text/html", page(generated_story(98)) + "<!--" + "x" * BIG_BYTES + "-->"),
        }
        documents.update(self.documents)
        if path in self.gates and not self.gates[path].wait(timeout=60):  # a safety net: the test sets the event
            self.gate_timeouts.add(path)
        if path.startswith("/news/") and path[6:-5] in self.stories:
            documents[path] = ("text/html", page(self.stories[path[6:-5]], self.base))
        if path in self.failing:
            self._send(handler, 503, "text/html", b"down for maintenance")
        elif path in self.redirects:
            self._send(handler, 302, "text/html", b"", {"Location": self.redirects[path]})
        elif path == "/news/cafe.html":
            self._send(
                handler, 200, "text/html; charset=windows-1252", page(LATIN_STORY, self.base).encode("windows-1252")
            )
        elif path in documents:
            kind, text = documents[path]
            body = text.encode("utf-8") if isinstance(text, str) else text
            etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
            if handler.headers.get("If-None-Match") == etag:
                self.not_modified[path] += 1
                self._send(handler, 304, kind, b"", {"ETag": etag})
            else:
                self._send(handler, 200, kind, body, {"ETag": etag})
        elif path == "/gone":
            self._send(handler, 410, "text/html", b"gone")
        elif path == "/error":
            self._send(handler, 503, "text/html", b"busy")
        elif path == "/loop":
            self._send(handler, 302, "text/html", b"", {"Location": "/loop"})
        elif path == "/slow":
            time.sleep(3)
            self._send(handler, 200, "text/html", page(generated_story(97)).encode())
        elif path == "/drip":
            handler.send_response(200)
            handler.send_header("Content-Type", "text/html")
            handler.end_headers()
            with contextlib.suppress(OSError):  # the client gives up, as it should
                for _ in range(40):
                    handler.wfile.write(b"<p>")
                    handler.wfile.flush()
                    time.sleep(0.2)
        else:
            self._send(handler, 404, "text/html", b"not found")

    @staticmethod
    def _send(
        handler: BaseHTTPRequestHandler, status: int, kind: str, body: bytes, headers: dict[str, str] | None = None
    ) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", kind)
        handler.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.end_headers()
        if body:
            with contextlib.suppress(OSError):  # the client gave up (a timeout under test)
                handler.wfile.write(body)


@contextmanager
def news_site(site: NewsSite) -> Iterator[NewsSite]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            site.respond(self)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    site.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()
