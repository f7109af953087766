"""Extraction: an HTML page's raw bytes -> the story's text, title, date, site name and canonical URL.

Uses trafilatura (main-content detection that drops navigation, cookie banners, related
links, comments and teaser tiles; it detects the page's encoding from the bytes). An
explicit publication date in the page (`article:published_time` and similar meta tags,
then the first `<time datetime>`) takes precedence over trafilatura's date guess.
Used for fetched pages (rag.ingest.web.fetch) and for local .html files (rag.ingest.files).
"""

from __future__ import annotations

from dataclasses import dataclass

import lxml.html
import trafilatura
from lxml.etree import ParserError

from rag.ingest.identity import canonical_url
from rag.text.dates import normalise_date

_DATE_META = ("article:published_time", "og:published_time", "datePublished", "date", "dc.date", "pubdate")


@dataclass(frozen=True)
class Page:
    """What a page says about its story."""

    text: str  # '' when nothing readable was found (script-only or paywalled page)
    title: str
    date: str  # normalised (rag.text.dates), '' when unknown
    site_name: str
    url: str  # canonical URL the page declares, '' when none


def extract(data: bytes, url: str = "") -> Page:
    """The story in an HTML page given as bytes (any declared or detectable encoding)."""
    document = trafilatura.bare_extraction(
        data, url=url or None, with_metadata=True, include_comments=False, include_tables=True
    )
    explicit = _explicit_date(data)
    if document is None or isinstance(document, dict):
        return Page("", "", explicit, "", "")
    text = document.text or ""
    title = " ".join((document.title or "").split())
    first_line, _, rest = text.partition("\n")
    if title and first_line.strip() == title and rest.strip():  # the headline repeated as the first line
        text = rest
    return Page(
        text=text.strip(),
        title=title,
        date=explicit or normalise_date((document.date or "")[:10]),
        site_name=" ".join((document.sitename or "").split()),
        url=canonical_url(document.url or "") if (document.url or "").startswith(("http://", "https://")) else "",
    )


def _explicit_date(data: bytes) -> str:
    """The publication date a page states outright: a meta tag, else the first <time datetime>."""
    try:
        root = lxml.html.fromstring(data)
    except (ParserError, ValueError):
        return ""
    metas = {
        (meta.get("property") or meta.get("name") or meta.get("itemprop") or "").strip(): meta.get("content") or ""
        for meta in root.iter("meta")
    }
    for key in _DATE_META:
        found = normalise_date(metas.get(key, "")[:10])
        if found:
            return found
    for tag in root.iter("time"):
        found = normalise_date((tag.get("datetime") or "")[:10])
        if found:
            return found
    return ""
