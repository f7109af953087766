"""Feeds: RSS 0.9x/1.0/2.0, Atom (feedparser) and JSON Feed bytes -> entries; feed discovery.

An entry gives the page to fetch (its link, resolved against the feed's URL when relative),
its title, date, and its own content as a fallback when the page cannot be fetched. A
document that is not a feed is a `FetchError`. `discover_feeds` finds the feeds a site's home
page announces (`<link rel="alternate" type="application/rss+xml" href=…>`), as feed readers do.

JSON Feed (jsonfeed.org) is read here by hand: feedparser 6 does not read it, and the format is
a small documented JSON object (`items` with `url`, `title`, `content_html`/`content_text`/
`summary`, `date_published`), which the few JSON Feed packages on PyPI add nothing to.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from time import struct_time
from typing import Any
from urllib.parse import urljoin

import feedparser
import lxml.html
from lxml.etree import ParserError

from rag.errors import FetchError
from rag.ingest.identity import canonical_url
from rag.text.dates import normalise_date

FEED_LINK_TYPES = ("application/rss+xml", "application/atom+xml", "application/feed+json", "application/json")


@dataclass(frozen=True)
class FeedEntry:
    link: str  # canonical absolute URL of the entry's page ('' when the entry has none)
    title: str
    date: str  # normalised, '' when unknown
    text: str  # the entry's own content or summary as plain text


@dataclass(frozen=True)
class Feed:
    title: str
    entries: list[FeedEntry]
    complete: bool  # parsed without error: entries missing from it are really gone (safe for --sync)


def parse_feed(data: bytes, base_url: str = "", content_type: str = "") -> Feed:
    """The feed's entries (links resolved against `base_url`, the feed's own URL); a `FetchError`
    when the document is not a feed or is too broken to use."""
    if data.lstrip()[:1] == b"{":
        return _json_feed(data, base_url)
    headers = {"content-location": base_url, "content-type": content_type or "application/xml"}
    parsed = feedparser.parse(data, response_headers=headers)
    entries = [entry for entry in (_entry(item, base_url) for item in parsed.entries) if entry.link or entry.text]
    if not parsed.get("version") or (parsed.get("bozo") and not entries):
        problem = parsed.get("bozo_exception")
        detail = f" ({problem})" if problem else ""
        raise FetchError(f"not a readable RSS, Atom or JSON feed{detail}; check the feed address")
    return Feed(" ".join(str(parsed.feed.get("title", "")).split()), entries, complete=not parsed.get("bozo"))


def _entry(entry: Any, base_url: str) -> FeedEntry:
    contents = entry.get("content") or []
    html = contents[0].get("value", "") if contents else entry.get("summary", "")
    stamp = entry.get("published_parsed") or entry.get("updated_parsed")
    date = f"{stamp.tm_year:04d}-{stamp.tm_mon:02d}-{stamp.tm_mday:02d}" if isinstance(stamp, struct_time) else ""
    return FeedEntry(
        link=_absolute(str(entry.get("link", "")), base_url),
        title=" ".join(str(entry.get("title", "")).split()),
        date=normalise_date(date),
        text=_plain(str(html)),
    )


def _absolute(link: str, base_url: str) -> str:
    """The canonical absolute URL of an entry's link (relative ones resolved), '' when there is none."""
    link = urljoin(base_url, link.strip()) if base_url and link.strip() else link.strip()
    return canonical_url(link) if link.lower().startswith(("http://", "https://")) else ""


def _json_feed(data: bytes, base_url: str) -> Feed:
    try:
        document = json.loads(data)
    except (ValueError, RecursionError) as error:
        raise FetchError(f"not a readable JSON feed ({error}); check the feed address") from None
    version = str(document.get("version", "")) if isinstance(document, dict) else ""
    if "jsonfeed.org" not in version or not isinstance(document.get("items"), list):
        raise FetchError("not a JSON feed (no jsonfeed.org version and items list); check the feed address")
    entries = []
    for item in document["items"]:
        if not isinstance(item, dict):
            continue
        html = item.get("content_html") or item.get("summary") or ""
        text = _plain(str(html)) if html else " ".join(str(item.get("content_text", "")).split())
        link = str(item.get("url") or item.get("external_url") or "")
        date = str(item.get("date_published") or item.get("date_modified") or "")[:10]
        entry = FeedEntry(
            _absolute(link, base_url), " ".join(str(item.get("title", "")).split()), normalise_date(date), text
        )
        if entry.link or entry.text:
            entries.append(entry)
    return Feed(" ".join(str(document.get("title", "")).split()), entries, complete=True)


def discover_feeds(data: bytes, base_url: str) -> list[str]:
    """The feeds an HTML page announces with `<link rel="alternate" type=…feed type… href=…>`, absolute."""
    try:
        root = lxml.html.fromstring(data)
    except (ParserError, ValueError):
        return []
    found = []
    for link in root.iter("link"):
        rel = (link.get("rel") or "").lower().split()
        kind = (link.get("type") or "").lower().split(";")[0].strip()
        href = (link.get("href") or "").strip()
        if "alternate" in rel and kind in FEED_LINK_TYPES and href:
            found.append(urljoin(base_url, href))
    return list(dict.fromkeys(found))


def _plain(html: str) -> str:
    if not html.strip():
        return ""
    try:
        root = lxml.html.fromstring(html)
    except (ParserError, ValueError):
        return html.strip()
    for block in root.iter("p", "br", "div", "li", "h1", "h2", "h3"):
        block.tail = "\n" + (block.tail or "")
    lines = (" ".join(line.split()) for line in root.text_content().split("\n"))
    return "\n".join(line for line in lines if line)
