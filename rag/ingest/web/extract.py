"""Extraction: an HTML page's raw bytes -> the story's text, title, date, site name and canonical URL.

Uses trafilatura (main-content detection that drops navigation, cookie banners, related
links, comments and teaser tiles; it detects the page's encoding from the bytes). The date
is trafilatura's, found by htmldate: the original publication date the markup states
(`article:published_time` and similar meta tags, JSON-LD, `<time datetime>`, a date in the
URL), else one found in the text; any date from 1900 up to today (htmldate's own floor,
1995, would lose archive pages).
Used for fetched pages (rag.ingest.web.fetch) and for local .html files (rag.ingest.files).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import trafilatura

from rag.ingest.identity import canonical_url
from rag.text.dates import normalise_date

EARLIEST_DATE = "1900-01-01"


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
    dates = {
        "original_date": True,
        "extensive_search": True,
        "min_date": EARLIEST_DATE,
        "max_date": date.today().isoformat(),
    }
    document = trafilatura.bare_extraction(
        data,
        url=url or None,
        with_metadata=True,
        include_comments=False,
        include_tables=True,
        date_extraction_params=dates,
    )
    if document is None or isinstance(document, dict):
        return Page("", "", "", "", "")
    text = document.text or ""
    title = " ".join((document.title or "").split())
    first_line, _, rest = text.partition("\n")
    if title and first_line.strip() == title and rest.strip():  # the headline repeated as the first line
        text = rest
    return Page(
        text=text.strip(),
        title=title,
        date=normalise_date(document.date or ""),
        site_name=" ".join((document.sitename or "").split()),
        url=canonical_url(document.url or "") if (document.url or "").startswith(("http://", "https://")) else "",
    )
