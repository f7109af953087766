"""Feeds: RSS 0.9x/1.0/2.0 and Atom bytes -> entries (feedparser).

An entry gives the page to fetch (its link), its title, date, and its own content as a
fallback when the page cannot be fetched. A document that is not a feed is a `FetchError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from time import struct_time
from typing import Any

import feedparser
import lxml.html
from lxml.etree import ParserError

from rag.errors import FetchError
from rag.ingest.identity import canonical_url
from rag.text.dates import normalise_date


@dataclass(frozen=True)
class FeedEntry:
    link: str  # canonical URL of the entry's page ('' when the entry has none)
    title: str
    date: str  # normalised, '' when unknown
    text: str  # the entry's own content or summary as plain text


@dataclass(frozen=True)
class Feed:
    title: str
    entries: list[FeedEntry]
    complete: bool  # parsed without error: entries missing from it are really gone (safe for --sync)


def parse_feed(data: bytes) -> Feed:
    """The feed's entries; a `FetchError` when the document is not a feed or is too broken to use."""
    parsed = feedparser.parse(data)
    entries = [entry for entry in (_entry(item) for item in parsed.entries) if entry.link or entry.text]
    if not parsed.get("version") or (parsed.get("bozo") and not entries):
        problem = parsed.get("bozo_exception")
        detail = f" ({problem})" if problem else ""
        raise FetchError(f"not a readable RSS or Atom feed{detail}; check the feed address")
    return Feed(" ".join(str(parsed.feed.get("title", "")).split()), entries, complete=not parsed.get("bozo"))


def _entry(entry: Any) -> FeedEntry:
    contents = entry.get("content") or []
    html = contents[0].get("value", "") if contents else entry.get("summary", "")
    stamp = entry.get("published_parsed") or entry.get("updated_parsed")
    date = f"{stamp.tm_year:04d}-{stamp.tm_mon:02d}-{stamp.tm_mday:02d}" if isinstance(stamp, struct_time) else ""
    link = str(entry.get("link", ""))
    return FeedEntry(
        link=canonical_url(link) if link.startswith(("http://", "https://")) else "",
        title=" ".join(str(entry.get("title", "")).split()),
        date=normalise_date(date),
        text=_plain(str(html)),
    )


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
