"""Old hand-written rules vs the libraries now used, on real data: canonical URLs (courlan),
date strings (python-dateutil) and dates from HTML pages (trafilatura's, found by htmldate).

The rules the project used before (rag/identity.py, rag/dates.py and rag/extract.py's
second HTML parse, as of commit 943c994) are frozen below as the baseline. Prints, per data
set, how many items agree, and every difference (the README's identity and date figures).

    python -m bench.dates_ids                    # shared data beside the checkout
    python -m bench.dates_ids --data ../shared/data --show 20
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import time
from collections.abc import Callable, Iterable
from datetime import date, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import unquote_plus, urlsplit, urlunsplit

import lxml.html
import trafilatura
from lxml.etree import ParserError

from rag.ingest.identity import canonical_url
from rag.ingest.web.extract import extract
from rag.text.dates import normalise_date
from tests import news_site

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
URL = re.compile(r"https?://[^\s\"'<>(){}\\]+")

# --------------------------------------------------------------------------- the old rules (baseline)

_OLD_TRACKING = frozenset(
    {"fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "mc_cid", "mc_eid", "igshid", "yclid", "_ga"}
)
_OLD_PORTS = {"http": 80, "https": 443}
_OLD_NUMERIC = re.compile(r"(\d{4})(?:[-/.](\d{1,2})(?:[-/.](\d{1,2})(?:[T\s].*)?)?)?")
_OLD_WORDY = ("%B %d, %Y", "%b %d, %Y", "%b. %d, %Y", "%B %d %Y", "%d %B %Y", "%d %b %Y")
_OLD_META = ("article:published_time", "og:published_time", "datePublished", "date", "dc.date", "pubdate")


def old_canonical_url(url: str) -> str:
    url = url.strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return url
    scheme = parts.scheme.lower()
    if scheme not in _OLD_PORTS or not parts.hostname:
        return url
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port is None or port == _OLD_PORTS[scheme] else f"{host}:{port}"
    if parts.username is not None:
        credentials = parts.username + (f":{parts.password}" if parts.password is not None else "")
        netloc = f"{credentials}@{netloc}"

    def tracking(pair: str) -> bool:
        name = unquote_plus(pair.split("=", 1)[0]).lower()
        return name.startswith("utm_") or name in _OLD_TRACKING

    kept = [pair for pair in parts.query.split("&") if pair and not tracking(pair)]
    return urlunsplit((scheme, netloc, parts.path or "/", "&".join(kept), ""))


def old_normalise_date(value: str) -> str:
    value = " ".join(value.split())
    match = _OLD_NUMERIC.fullmatch(value)
    if match:
        year, month, day = match.groups()
        try:
            if day:
                return date(int(year), int(month), int(day)).isoformat()
            return date(int(year), int(month), 1).isoformat()[:7] if month else year
        except ValueError:
            return ""
    for fmt in _OLD_WORDY:
        try:
            return datetime.strptime(value, fmt).date().isoformat()
        except ValueError:
            continue
    try:
        return parsedate_to_datetime(value).date().isoformat()
    except (TypeError, ValueError, IndexError):
        return ""


def old_page_date(data: bytes, url: str = "") -> str:
    """The old extract's date: an explicit meta tag or <time>, from a second parse, else trafilatura's guess."""
    try:
        root = lxml.html.fromstring(data)
        metas = {
            (m.get("property") or m.get("name") or m.get("itemprop") or "").strip(): m.get("content") or ""
            for m in root.iter("meta")
        }
        explicit = [metas.get(key, "") for key in _OLD_META] + [t.get("datetime") or "" for t in root.iter("time")]
    except (ParserError, ValueError):
        explicit = []
    for value in explicit:
        found = old_normalise_date(value[:10])
        if found:
            return found
    document = trafilatura.bare_extraction(data, url=url or None, with_metadata=True)
    return "" if document is None or isinstance(document, dict) else old_normalise_date((document.date or "")[:10])


# --------------------------------------------------------------------------- the data


def multihop(data: Path) -> list[dict[str, str]]:
    path = data / "multihop-rag" / "corpus.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else []


def ukraine_dates(data: Path) -> list[str]:
    dates = []
    for path in sorted((data / "ukraine-2022").glob("*.csv")):
        with path.open(encoding="utf-8", newline="") as handle:
            dates += [row["published"] for row in csv.DictReader(handle)]
    return dates


def fixture_urls() -> list[str]:
    """Literal URLs in the tests (f-string templates left out; not test_identity.py's, written for the new rules)."""
    paths = [p for p in (ROOT / "tests").rglob("*.py") if p.name != "test_identity.py"]
    return sorted({match.rstrip(".,;:") for path in paths for match in URL.findall(path.read_text())})


EDGE_URLS = [
    "https://espn.example/nfl/recap?gameId=401547417",  # courlan alone would drop gameId (prefix 'ga')
    "https://x.example/photos?gallery=3&utm_source=tw",
    "https://x.example/a?b=2&a=1",
    "https://x.example/a?ref=homepage",
    "https://x.example/a?print&id=4",
    "https://xn--bcher-kva.example/a b",
    "https://x.example//a/./b",
]
EDGE_DATES = ["03/04/2022", "30.03.2022", "March 2022", "20220330", "2022-03-30T25:00:00", "99", "Friday", "May 2022"]


def edge_pages() -> dict[str, bytes]:
    """Pages built to tell the two apart: which date wins when the markup disagrees with itself."""
    story = "<p>" + "The talks went on late into the evening, and both sides said they would meet again. " * 3
    head = '<meta property="article:published_time" content="{}T10:00:00Z">'
    pages = {
        "published 2023-09-28, URL /2023/10/05/": (head.format("2023-09-28"), "https://x.example/2023/10/05/a"),
        "published 1989-11-09": (head.format("1989-11-09"), ""),
        "published 2090-01-01 (after today)": (head.format("2090-01-01"), ""),
        "JSON-LD datePublished only": (
            '<script type="application/ld+json">{"@type": "NewsArticle", "datePublished": "2023-09-28"}</script>',
            "",
        ),
        "a teaser's <time> before the story's": ("", ""),
    }
    built = {}
    for name, (meta, url) in pages.items():
        body = story + "</p>"
        if name.startswith("a teaser"):
            body = '<aside><time datetime="2023-01-02">Jan 2</time> teaser</aside><article><time datetime="2023-09-28">'
            body += "Sep 28</time>" + story + "</p></article>"
        built[f"{name} | {url}"] = f"<html><head><title>T</title>{meta}</head><body>{body}</body></html>".encode()
    return built


def fixture_dates() -> list[str]:
    """Date strings the tests give the loaders: front matter, JSON fields, CSV cells, feed dates."""
    pattern = re.compile(r'(?:Date: |"(?:date|published_at|published|pubDate)": ")([^"\\\n]+)')
    return sorted({m for path in (ROOT / "tests").rglob("*.py") for m in pattern.findall(path.read_text())})


def site_pages() -> dict[str, bytes]:
    """The loopback news site's article pages (the bytes it serves), and the HTML fixtures of the tests."""
    base = "http://127.0.0.1:8000"
    stories = [news_site.demo_story(), *(news_site.generated_story(n) for n in range(30))]
    pages = {f"{base}/news/{s.slug}.html": news_site.page(s, base).encode("utf-8") for s in stories}
    pages[f"{base}/news/cafe.html"] = news_site.page(news_site.LATIN_STORY, base).encode("windows-1252")
    from tests.ingest import test_files  # the HTML pages the loader tests give

    pages["fixture:story.html"] = test_files.HTML_PAGE.encode("utf-8")
    return pages


def site_feeds() -> tuple[list[str], list[str]]:
    """The URLs and dates in the news site's RSS, Atom and RDF feeds and pages."""
    site = news_site.NewsSite(port=8000)
    site.stories = {s.slug: s for s in [news_site.demo_story(), *(news_site.generated_story(n) for n in range(9))]}
    site.feed_slugs = list(site.stories)
    text = site.rss() + site.atom() + site.rdf() + "".join(news_site.page(s, site.base) for s in site.stories.values())
    dates = re.findall(r"<pubDate>([^<]+)</pubDate>|<updated>([^<]+)</updated>", text)
    return sorted(set(URL.findall(text))), [a or b for a, b in dates]


# --------------------------------------------------------------------------- comparing


def compare(name: str, items: Iterable[str], old: Callable[[str], str], new: Callable[[str], str], show: int) -> None:
    items = list(items)
    pairs = [(item, old(item), new(item)) for item in items]
    differ = [(item, a, b) for item, a, b in pairs if a != b]
    known_old, known_new = sum(bool(a) for _, a, _ in pairs), sum(bool(b) for _, _, b in pairs)
    print(f"{name:<44} {len(items):>5} {len(items) - len(differ):>6}   {known_old:>5} -> {known_new:<5}")
    for item, a, b in differ[:show]:
        print(f"      {_tail(item)}\n        old {_tail(a)}\n        new {_tail(b)}")
    if len(differ) > show:
        print(f"      ... and {len(differ) - show} more")


def _tail(text: str, width: int = 96) -> str:
    return repr(text if len(text) <= width else "…" + text[-width:])


def distinct(name: str, urls: list[str]) -> None:
    """Canonicalisation must never give two different stories one id."""
    old, new = len(set(map(old_canonical_url, urls))), len(set(map(canonical_url, urls)))
    print(f"{name:<44} {len(urls)} URLs, distinct ids: old {old}, new {new}")


def per_call(function: Callable[[str], str], values: list[str]) -> float:
    started = time.perf_counter()
    for value in values:
        function(value)
    return (time.perf_counter() - started) / max(len(values), 1) * 1e6


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA, help="the shared data folder")
    parser.add_argument("--show", type=int, default=8, help="differences to print per data set")
    args = parser.parse_args(argv)
    corpus = multihop(args.data)
    feed_urls, feed_dates = site_feeds()
    print(f"{'data set':<44} {'items':>5} {'agree':>6}   known old -> new")
    print("canonical URLs")
    compare("  MultiHop corpus URLs", [a["url"] for a in corpus], old_canonical_url, canonical_url, args.show)
    compare("  test fixture URLs", fixture_urls(), old_canonical_url, canonical_url, args.show)
    compare("  loopback news site URLs (feeds, pages)", feed_urls, old_canonical_url, canonical_url, args.show)
    compare("  edge cases", EDGE_URLS, old_canonical_url, canonical_url, args.show)
    distinct("  MultiHop corpus URLs", [a["url"] for a in corpus])
    print("date strings")
    multihop_dates = [a["published_at"] for a in corpus]
    compare("  MultiHop published_at", multihop_dates, old_normalise_date, normalise_date, args.show)
    compare(
        "  Ukraine CSVs (Guardian, NYT) published",
        ukraine_dates(args.data),
        old_normalise_date,
        normalise_date,
        args.show,
    )
    compare("  loopback news site feed dates", feed_dates, old_normalise_date, normalise_date, args.show)
    compare("  test fixture dates", fixture_dates(), old_normalise_date, normalise_date, args.show)
    compare("  edge cases", EDGE_DATES, old_normalise_date, normalise_date, args.show)
    print("dates from HTML pages")
    pages = site_pages()
    edges = edge_pages()
    compare(
        "  news site pages + HTML fixture",
        list(pages),
        lambda key: old_page_date(pages[key], key),
        lambda key: extract(pages[key], key).date,
        args.show,
    )
    compare(
        "  edge cases",
        list(edges),
        lambda key: old_page_date(edges[key], key.split(" | ")[1]),
        lambda key: extract(edges[key], key.split(" | ")[1]).date,
        args.show,
    )
    sample = (multihop_dates + ukraine_dates(args.data) + feed_dates) or ["2023-10-01"]
    old, new = per_call(old_normalise_date, sample), per_call(normalise_date, sample)
    print(f"\nnormalise_date per call on {len(sample)} real dates: old {old:.0f} µs, new {new:.0f} µs")


if __name__ == "__main__":
    main()
