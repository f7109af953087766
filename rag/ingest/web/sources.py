"""Web sources: pages and feeds -> articles, ready for rag.ingest.run.

A `WebSource` is a page or a feed URL with an optional source name (from the command
line or a sources file). `harvest` fetches them (rag.ingest.web.fetch), reads feeds (rag.ingest.web.feeds) and
extracts pages (rag.ingest.web.extract). A feed entry whose page cannot be fetched falls back to the
entry's own content. Every failure comes back as a `LoadFailure` naming the URL; what is
unchanged since the last run (a 304) or failed is listed in `kept` so nothing stored is
removed because of it; only feeds read successfully are listed in `synced_feeds`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from rag.errors import FetchError, UsageError
from rag.ingest.article import Article, LoadFailure
from rag.ingest.identity import canonical_url, record_id
from rag.ingest.web.extract import extract
from rag.ingest.web.feeds import FeedEntry, parse_feed
from rag.ingest.web.fetch import FEED_TYPES, Fetched, Fetcher

SourceKind = Literal["page", "feed"]
EMPTY_PAGE = "no readable story text on the page (a paywall, or a page built by scripts?)"


@dataclass(frozen=True)
class WebSource:
    url: str
    kind: SourceKind = "page"
    name: str = ""  # source name for its articles; default: the site's own name


@dataclass
class Harvest:
    articles: list[Article] = field(default_factory=list)
    failures: list[LoadFailure] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # stored ids to keep: unchanged (304) or failed this time
    unchanged: int = 0  # pages that answered 304
    synced_feeds: list[str] = field(default_factory=list)  # feeds read in full: --sync may drop their vanished entries
    processed: list[tuple[str, str]] = field(default_factory=list)  # (url, article id): validators to keep
    stored: frozenset[str] = frozenset()  # ids already stored


def read_sources_file(path: Path) -> list[WebSource]:
    """Lines `feed URL [name]` or `page URL [name]` (or just `URL [name]`: a page); `#` starts a comment."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"Cannot read the sources file {path} ({error}); give a UTF-8 text file.") from None
    sources = []
    for number, line in enumerate(lines, 1):
        words = line.split("#", 1)[0].split() if not line.lstrip().startswith("#") else []
        if not words:
            continue
        kind: SourceKind = "page"
        if words[0].lower() in ("feed", "page"):
            kind = "feed" if words[0].lower() == "feed" else "page"
            words = words[1:]
        if not words or not words[0].startswith(("http://", "https://")):
            raise UsageError(f"{path}, line {number}: expected `feed URL [name]` or `page URL [name]`, got {line!r}.")
        sources.append(WebSource(words[0], kind, " ".join(words[1:])))
    return sources


def harvest(sources: list[WebSource], fetcher: Fetcher, stored: frozenset[str] = frozenset()) -> Harvest:
    """Fetch and read `sources`; `stored`: ids already in the store (a feed entry whose page fails
    then keeps its stored version rather than falling back to the entry's shorter text)."""
    result = Harvest(stored=stored)
    pages = [source for source in sources if source.kind == "page"]
    for source, outcome in zip(pages, fetcher.map(lambda s: _try(fetcher, s.url), pages), strict=True):
        _take_page(result, source.url, outcome, source.name, origin=canonical_url(source.url))
    for source in (source for source in sources if source.kind == "feed"):
        _take_feed(result, source, fetcher)
    return result


def _try(fetcher: Fetcher, url: str, accept: tuple[str, ...] | None = None) -> Fetched | FetchError:
    try:
        return fetcher.fetch(url) if accept is None else fetcher.fetch(url, accept)
    except FetchError as error:
        return error


def _take_page(
    result: Harvest,
    url: str,
    outcome: Fetched | FetchError,
    name: str,
    origin: str,
    entry: FeedEntry | None = None,
    feed_title: str = "",
) -> None:
    """One fetched page (of a feed's `entry`, if given) -> an article, a failure, or a kept id."""
    fallback = entry is not None and bool(entry.text) and canonical_url(url) not in result.stored
    if isinstance(outcome, FetchError):
        if entry is not None and fallback:
            result.articles.append(_entry_article(entry, name or feed_title, origin))
            return
        result.failures.append(LoadFailure(url, str(outcome)))
        result.kept.append(canonical_url(url))
        return
    if outcome.not_modified:
        result.unchanged += 1
        result.kept.append(outcome.article_id or canonical_url(url))
        return
    page = extract(outcome.content, outcome.final_url)
    if not page.text:
        if entry is not None and fallback:
            result.articles.append(_entry_article(entry, name or feed_title, origin))
            return
        result.failures.append(LoadFailure(url, EMPTY_PAGE))
        result.kept.append(canonical_url(url))
        return
    address = page.url or canonical_url(outcome.final_url)
    source = name or page.site_name or feed_title or (urlsplit(address).hostname or "")
    title = page.title or (entry.title if entry else "")
    date = page.date or (entry.date if entry else "")
    article = Article(address, title, page.text, date, source, address, origin)
    result.articles.append(article)
    result.processed.append((url, article.id))


def _entry_article(entry: FeedEntry, name: str, origin: str) -> Article:
    ident = entry.link or record_id(entry.title, entry.date, name, entry.text)
    return Article(ident, entry.title, entry.text, entry.date, name, entry.link, origin)


def _take_feed(result: Harvest, source: WebSource, fetcher: Fetcher) -> None:
    outcome = _try(fetcher, source.url, (*FEED_TYPES, "text/plain"))
    if isinstance(outcome, FetchError):
        result.failures.append(LoadFailure(source.url, f"feed: {outcome}"))
        return
    if outcome.not_modified:  # nothing new in the feed; its stored entries stay as they are
        return
    try:
        feed = parse_feed(outcome.content)
    except FetchError as error:
        result.failures.append(LoadFailure(source.url, str(error)))
        return
    origin = canonical_url(source.url)
    linked = [entry for entry in feed.entries if entry.link]
    fetched = fetcher.map(lambda entry: _try(fetcher, entry.link), linked)
    for entry, page in zip(linked, fetched, strict=True):
        _take_page(result, entry.link, page, source.name, origin, entry, feed.title)
    for entry in feed.entries:
        if not entry.link and entry.text:
            result.articles.append(_entry_article(entry, source.name or feed.title, origin))
    if feed.complete:
        result.synced_feeds.append(origin)
        result.processed.append((source.url, ""))
