"""Sitemaps: a news sitemap (or any XML sitemap) -> the article pages it lists; a sitemap index -> its sitemaps.

Google News sitemaps (`<news:news>` with `<news:title>` and `<news:publication_date>`) give a
title and date for each page; plain sitemaps give `<lastmod>`. Parsed with lxml without
network access, entity expansion or huge trees (untrusted XML). Written here because the
sitemap libraries fetch URLs themselves, which would bypass the fetch guard and politeness
of rag.ingest.web.fetch; the format is a flat list of `<url>` elements.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urljoin

from lxml import etree

from rag.errors import FetchError
from rag.ingest.web.feeds import FeedEntry, _absolute
from rag.text.dates import normalise_date

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, recover=False)


@dataclass(frozen=True)
class Sitemap:
    pages: list[FeedEntry]  # the pages listed (title and date from news tags when given; no text)
    sitemaps: list[str]  # for a sitemap index: the sitemaps it lists


def parse_sitemap(data: bytes, base_url: str) -> Sitemap:
    """A sitemap's pages, or a sitemap index's sitemaps; a `FetchError` when it is not a sitemap."""
    try:
        root = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as error:
        raise FetchError(f"not a readable XML sitemap ({error}); check the sitemap address") from None
    kind = etree.QName(root).localname
    if kind == "sitemapindex":
        locations = [_text(item, "loc") for item in root if etree.QName(item).localname == "sitemap"]
        return Sitemap([], [urljoin(base_url, loc) for loc in locations if loc])
    if kind != "urlset":
        raise FetchError(f"not a sitemap (its root element is <{kind}>, not <urlset>); check the sitemap address")
    pages = []
    for item in root:
        if etree.QName(item).localname != "url":
            continue
        link = _absolute(_text(item, "loc"), base_url)
        news = next((child for child in item if etree.QName(child).localname == "news"), None)
        title = _text(news, "title") if news is not None else ""
        date = (_text(news, "publication_date") if news is not None else "") or _text(item, "lastmod")
        if link:
            pages.append(FeedEntry(link, " ".join(title.split()), normalise_date(date[:10]), ""))
    return Sitemap(pages, [])


def _text(element: etree._Element | None, name: str) -> str:
    """The text of `element`'s first descendant named `name` (any namespace), stripped."""
    if element is None:
        return ""
    for child in element.iter():
        if isinstance(child.tag, str) and etree.QName(child).localname == name:
            return (child.text or "").strip()
    return ""
