"""Web sources: pages, feeds and sitemaps -> articles, fetched while rag.ingest.run stores them.

A `WebSource` is a page, a feed (RSS, Atom, JSON Feed, or a site's home page announcing one)
or a news sitemap, with an optional source name and limits (from the command line, a sources
file or an OPML file). `WebRun` fetches them in a background thread (rag.ingest.web.fetch),
reads feeds and sitemaps, extracts pages (rag.ingest.web.extract) and hands each article to
the ingest as it arrives. What it remembers between runs is rag.ingest.web.state: validators
are sent only while the articles they stand for are stored unchanged.

A feed entry whose page fails keeps its stored article; a new one is stored from the entry's
own text, reported as such, and its page is tried again next run (then replacing the summary).
A paywall teaser or an over-long article is reported, not stored. Every failure comes back as
a `LoadFailure` naming the URL; what is unchanged (a 304) or failed is kept, never removed.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import Counter
from collections.abc import Container, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit

from rag.errors import FetchError
from rag.ingest.article import Article, LoadFailure
from rag.ingest.formats import FormatError, clean, pdf_draft
from rag.ingest.identity import canonical_url, record_id
from rag.ingest.web.extract import extract
from rag.ingest.web.feeds import FeedEntry, discover_feeds, parse_feed
from rag.ingest.web.fetch import FEED_TYPES, HTML_TYPES, Fetched, Fetcher
from rag.ingest.web.paywall import paywall_reason
from rag.ingest.web.sitemaps import parse_sitemap
from rag.ingest.web.state import FetchState, UrlState
from rag.store.chroma import ArticleRecord
from rag.text.boilerplate import drop_promotions

if TYPE_CHECKING:
    from rag.ingest.run import IngestReport

SourceKind = Literal["page", "feed", "sitemap"]
EMPTY_PAGE = "no readable story text on the page (a script-only page?)"
PDF_TYPES = ("application/pdf",)
SITEMAP_TYPES = ("application/xml", "text/xml", "text/plain")
SITEMAP_DEFAULT_MAX = 100  # pages taken from a sitemap without max=N (a site's sitemap may list thousands)
MAX_SITEMAPS = 20  # child sitemaps read from a sitemap index
QUEUE_ARTICLES = 16  # articles fetched ahead of the embedder (bounds memory)


@dataclass(frozen=True)
class WebSource:
    url: str
    kind: SourceKind = "page"
    name: str = ""  # source name for its articles; default: the site's own name
    max_entries: int | None = None  # newest entries taken from a feed or sitemap
    max_age_days: float | None = None  # entries older than this are not fetched
    every: float | None = None  # seconds between two refreshes in `rag watch`

    @property
    def origin(self) -> str:
        return canonical_url(self.url)


@dataclass(frozen=True)
class HarvestOptions:
    max_article_bytes: int = 500_000
    sources_file: str = ""  # the sources/OPML file these sources came from (its dropped lines go with --sync)
    listed: tuple[str, ...] | None = None  # origins the file lists now, when only some are fetched (rag watch)
    today: date | None = None  # for max age (tests)


@dataclass
class Harvest:
    failures: list[LoadFailure] = field(default_factory=list)
    fallbacks: list[LoadFailure] = field(default_factory=list)  # stored from the feed summary; retried next run
    kept: list[str] = field(default_factory=list)  # stored ids to keep: unchanged (304) or failed this time
    unchanged: int = 0  # articles behind 304s
    synced: list[str] = field(default_factory=list)  # origins read in full: --sync may drop their vanished entries
    pages: int = 0  # documents fetched
    seconds: float = 0.0  # fetching and extracting (not the time spent waiting for the embedder)
    articles: list[Article] = field(default_factory=list)  # filled by `harvest` only (WebRun hands them over)
    pending: dict[str, UrlState] = field(default_factory=dict)  # url -> state to remember once its articles are stored
    emitted: dict[str, list[str]] = field(default_factory=dict)  # url -> ids of the articles made from it


_DONE = object()


class WebRun:
    """Fetches `sources` in a background thread while the ingest stores what arrives (rag.ingest.run.WebInput)."""

    def __init__(
        self, sources: list[WebSource], fetcher: Fetcher, state: FetchState, options: HarvestOptions | None = None
    ) -> None:
        self.sources, self.fetcher, self.state = sources, fetcher, state
        self.options = options or HarvestOptions()
        self.harvest = Harvest()
        self._committed: Mapping[str, ArticleRecord] = {}
        self._queue: queue.Queue[object] = queue.Queue(maxsize=QUEUE_ARTICLES)
        self._deferred: list[tuple[str, str, FeedEntry]] = []  # a feed's entries whose pages failed
        self._sources: dict[str, str] = {}  # url -> source name of the article made from it this run
        self._syncing = False  # --sync: dropped source lines are removed (and forgotten)
        self._waited = 0.0  # seconds the fetching thread waited for the embedder (not fetching)

    # --- rag.ingest.run.WebInput ----------------------------------------------------------------
    def articles(self, committed: Mapping[str, ArticleRecord]) -> Iterator[tuple[Article, str]]:
        self._committed = committed
        errors: list[BaseException] = []
        thread = threading.Thread(target=self._run, args=(errors,), name="rag-fetch", daemon=True)
        thread.start()
        while (item := self._queue.get()) is not _DONE:
            yield item  # type: ignore[misc]
        thread.join()
        if errors:
            raise errors[0]

    def kept(self) -> list[str]:
        return self.harvest.kept

    def report_into(self, report: IngestReport) -> None:
        report.failures.extend(self.harvest.failures)
        report.fallbacks.extend(self.harvest.fallbacks)
        report.unchanged += self.harvest.unchanged
        report.pages += self.harvest.pages
        report.fetch_seconds += self.harvest.seconds

    def vanished(self, committed: Mapping[str, ArticleRecord], seen: Container[str]) -> list[str]:
        self._syncing = True
        gone = set(self.harvest.synced)
        if self.options.sources_file:
            named = set(self._listed())
            gone |= set(self.state.files.get(self.options.sources_file, [])) - named  # lines dropped from the file
        return [record.id for record in committed.values() if record.origin in gone and record.id not in seen]

    def remember(self, manifest: Mapping[str, ArticleRecord]) -> None:
        """Keep the state of URLs whose articles are stored (validators usable next time); forget the rest:
        a page whose article was not stored, or was recorded as a re-publication of another story (fetched
        in full every run, so it can take that story's place when the story is removed)."""
        for url, state in self.harvest.pending.items():
            ids = self.harvest.emitted.get(url, [])
            if all(i in manifest for i in ids) and (ids or state.entries):
                self.state.set(url, replace(state, articles={i: manifest[i].content_hash for i in ids}))
            else:
                self.state.drop(url)
        if self.options.sources_file:  # without --sync a dropped line is remembered until a run with it
            before = [] if self._syncing else self.state.files.get(self.options.sources_file, [])
            self.state.files[self.options.sources_file] = list(dict.fromkeys([*before, *self._listed()]))
        self.state.save()

    def _listed(self) -> list[str]:
        listed = self.options.listed
        return list(listed) if listed is not None else [source.origin for source in self.sources]

    # --- the fetching thread ----------------------------------------------------------------------
    def _run(self, errors: list[BaseException]) -> None:
        started = time.perf_counter()
        try:
            pages = [source for source in self.sources if source.kind == "page"]
            entries = [(source.origin, source, FeedEntry(source.origin, "", "", "")) for source in pages]
            self._take_pages(entries, feed_title="")
            for source in self.sources:
                if source.kind == "feed":
                    self._take_feed(source)
                elif source.kind == "sitemap":
                    self._take_sitemap(source)
        except BaseException as error:
            errors.append(error)
        finally:
            self.harvest.seconds = time.perf_counter() - started - self._waited
            self._queue.put(_DONE)

    def _emit(self, url: str, article: Article, replaces: str = "") -> None:
        self.harvest.emitted.setdefault(url, []).append(article.id)
        self._sources[url] = article.source
        started = time.perf_counter()
        self._queue.put((article, replaces))  # blocks while the embedder is QUEUE_ARTICLES articles behind
        self._waited += time.perf_counter() - started

    def _fetch(self, url: str, accept: tuple[str, ...]) -> Fetched | FetchError:
        validators = self.state.validators(url, self._committed)
        self.harvest.pages += 1
        try:
            return self.fetcher.fetch(url, accept, validators)
        except FetchError as error:
            return error

    def _stored(self, url: str) -> list[str]:
        """Stored ids `url` made last time (or its canonical id, stored by an older version)."""
        known = self.state.get(url)
        ids = [i for i in (known.articles if known else {}) if i in self._committed]
        ids += [known.summary] if known and known.summary in self._committed else []
        return ids or [i for i in (canonical_url(url),) if i in self._committed]

    # --- pages ----------------------------------------------------------------------------------
    def _take_pages(
        self, items: list[tuple[str, WebSource, FeedEntry]], feed_title: str, entry_text: bool = False
    ) -> None:
        """Fetch and extract pages, `concurrency` at once (entries of a feed when `entry_text`: their own
        text is the fallback), and take each in order."""

        def work(item: tuple[str, WebSource, FeedEntry]) -> tuple[Fetched | FetchError, Article | None, str]:
            origin, source, entry = item
            outcome = self._fetch(entry.link or source.url, (*HTML_TYPES, *PDF_TYPES))
            if isinstance(outcome, FetchError) or outcome.not_modified:
                return outcome, None, ""
            return (outcome, *self._article(outcome, source, origin, entry if entry_text else None, feed_title))

        for (origin, source, entry), done in zip(items, self.fetcher.map(work, items), strict=True):
            self._take_page(entry.link or source.url, done, source, origin, entry if entry_text else None, feed_title)

    def _take_page(
        self,
        url: str,
        done: tuple[Fetched | FetchError, Article | None, str],
        source: WebSource,
        origin: str,
        entry: FeedEntry | None,
        feed_title: str,
    ) -> None:
        """One fetched page (of a feed's `entry`, if given) -> an article, a failure, a fallback, or a kept id."""
        outcome, article, problem = done
        if isinstance(outcome, FetchError) or (article is None and not outcome.not_modified):
            self._page_failed(url, problem or str(outcome), source, origin, entry, feed_title)
        elif article is None:  # 304: what it stands for is stored unchanged
            ids = self.state.stored(url, self._committed) or []
            self.harvest.unchanged += len(ids)
            self.harvest.kept.extend(ids)
        else:
            known = self.state.get(url)
            replaces = known.summary if known and known.summary and known.summary != article.id else ""
            self.harvest.pending[url] = UrlState(outcome.etag, outcome.last_modified)
            self._emit(url, article, replaces)

    def _article(
        self, fetched: Fetched, source: WebSource, origin: str, entry: FeedEntry | None, feed_title: str
    ) -> tuple[Article | None, str]:
        """The article on a fetched page, or None and why not (no text, a paywall teaser, too long)."""
        if fetched.content_type in PDF_TYPES:
            return self._pdf_article(fetched, source, origin, entry)
        page = extract(fetched.content, fetched.final_url)
        if not page.text:
            return None, EMPTY_PAGE
        problem = paywall_reason(fetched.content, page.text) or self._too_long(page.text)
        if problem:
            return None, problem
        address = page.url or canonical_url(fetched.final_url)
        name = source.name or page.site_name or feed_title or _host(address)
        title = page.title or (entry.title if entry else "")
        when = page.date or (entry.date if entry else "")
        return Article(address, title, drop_promotions(page.text), when, name, address, origin), ""

    def _pdf_article(
        self, fetched: Fetched, source: WebSource, origin: str, entry: FeedEntry | None
    ) -> tuple[Article | None, str]:
        try:
            draft = pdf_draft(fetched.content)
        except FormatError as error:
            return None, str(error)
        text = clean(draft.text)
        if not text:
            return None, f"no body text ({draft.needs})"
        address = canonical_url(fetched.final_url)
        title = (entry.title if entry else "") or draft.title
        name = source.name or _host(address)
        return Article(address, title, text, entry.date if entry else "", name, address, origin), self._too_long(text)

    def _too_long(self, text: str) -> str:
        size = len(text.encode("utf-8"))
        limit = self.options.max_article_bytes
        if size <= limit:
            return ""
        return f"article text is {size:,} bytes, over the limit of {limit:,}; raise RAG_MAX_ARTICLE_BYTES to store it"

    def _page_failed(
        self, url: str, reason: str, source: WebSource, origin: str, entry: FeedEntry | None, feed_title: str
    ) -> None:
        """Keep what is stored; else store a feed entry's own text (once the feed's pages are read, under
        the site's name), reported and retried next run."""
        stored = self._stored(url)
        if stored:
            self.harvest.kept.extend(stored)
            self.harvest.failures.append(LoadFailure(url, f"{reason} (the stored version is kept)"))
        elif entry is not None and entry.text and not reason.startswith("paywalled"):
            self._deferred.append((url, reason, entry))
        else:
            self.harvest.failures.append(LoadFailure(url, reason))

    def _store_summaries(self, source: WebSource, feed_title: str) -> None:
        """The feed's entries whose pages failed, from their own text: under the source's name, else the name
        the feed's other pages give their site, else the feed's title."""
        sites = Counter(self._sources.get(url, "") for url in self.harvest.emitted)
        site = next((name for name, _ in sites.most_common() if name), "")
        for url, reason, entry in self._deferred:
            article = _entry_article(entry, source.name or site or feed_title, source.origin)
            self.harvest.fallbacks.append(
                LoadFailure(url, f"stored from the feed summary ({reason}); the page is tried again on the next run")
            )
            self.harvest.pending[url] = UrlState(summary=article.id)
            self._emit(url, article)
        self._deferred = []

    # --- feeds and sitemaps -------------------------------------------------------------------------
    def _take_feed(self, source: WebSource) -> None:
        outcome = self._fetch(source.url, (*FEED_TYPES, "text/plain", "application/json", *HTML_TYPES))
        if isinstance(outcome, Fetched) and not outcome.not_modified and outcome.content_type in HTML_TYPES:
            outcome = self._discovered(source.url, outcome)
        if isinstance(outcome, FetchError):
            self._source_failed(source, f"feed: {outcome}")
            return
        if outcome.not_modified:
            self._unchanged(source.url)
            return
        try:
            feed = parse_feed(outcome.content, outcome.final_url, outcome.content_type)
        except FetchError as error:
            self._source_failed(source, str(error))
            return
        taken = self._limited(feed.entries, source)
        items = [(source.origin, source, entry) for entry in taken if entry.link]
        before = len(self.harvest.fallbacks) + len(self.harvest.failures)
        self._take_pages(items, feed.title, entry_text=True)
        self._store_summaries(source, feed.title)
        for entry in taken:
            if not entry.link and entry.text:
                self._emit(source.url, _entry_article(entry, source.name or feed.title, source.origin))
        self._finish_list(source, outcome, [entry.link for entry in taken if entry.link], feed.complete, before)

    def _discovered(self, url: str, page: Fetched) -> Fetched | FetchError:
        """A home page given as a feed: the first feed it announces (`<link rel="alternate">`)."""
        found = discover_feeds(page.content, page.final_url)
        if not found:
            return FetchError(
                'no feed found: the page announces none (<link rel="alternate" type="application/rss+xml">); '
                "give the feed's own address"
            )
        return self._fetch(found[0], (*FEED_TYPES, "text/plain", "application/json"))

    def _take_sitemap(self, source: WebSource) -> None:
        outcome = self._fetch(source.url, SITEMAP_TYPES)
        if isinstance(outcome, FetchError):
            self._source_failed(source, f"sitemap: {outcome}")
            return
        if outcome.not_modified:
            self._unchanged(source.url)
            return
        try:
            sitemap = parse_sitemap(outcome.content, outcome.final_url)
            pages = sitemap.pages
            for child in sitemap.sitemaps[:MAX_SITEMAPS]:  # an index: its sitemaps (one level)
                fetched = self._fetch(child, SITEMAP_TYPES)
                if isinstance(fetched, FetchError) or fetched.not_modified:
                    raise fetched if isinstance(fetched, FetchError) else FetchError("child sitemap unchanged")
                pages += parse_sitemap(fetched.content, fetched.final_url).pages
        except FetchError as error:
            self._source_failed(source, f"sitemap: {error}")
            return
        limited = replace(source, max_entries=source.max_entries or SITEMAP_DEFAULT_MAX)
        taken = self._limited(pages, limited)
        before = len(self.harvest.fallbacks) + len(self.harvest.failures)
        self._take_pages([(source.origin, source, entry) for entry in taken], feed_title="")
        self._finish_list(source, outcome, [entry.link for entry in taken], complete=True, before=before)

    def _limited(self, entries: list[FeedEntry], source: WebSource) -> list[FeedEntry]:
        """The entries within the source's limits (newest first); those left out keep their stored articles."""
        taken = list(entries)
        if source.max_age_days is not None:
            cutoff = ((self.options.today or date.today()) - timedelta(days=source.max_age_days)).isoformat()
            taken = [entry for entry in taken if not entry.date or entry.date >= cutoff[: len(entry.date)]]
        if source.max_entries is not None:
            taken = sorted(taken, key=lambda entry: entry.date, reverse=True)[: source.max_entries]
        for entry in entries:
            if entry not in taken and entry.link:
                self.harvest.kept.extend(self._stored(entry.link))
        return taken

    def _finish_list(self, source: WebSource, fetched: Fetched, links: list[str], complete: bool, before: int) -> None:
        """A feed or sitemap read: remember its entries (validators only when none of them failed)."""
        if complete:
            self.harvest.synced.append(source.origin)
        clean = len(self.harvest.fallbacks) + len(self.harvest.failures) == before and fetched.url == source.url
        state = UrlState(fetched.etag if clean else "", fetched.last_modified if clean else "", entries=links)
        self.harvest.pending[source.url] = state

    def _unchanged(self, url: str) -> None:
        ids = self.state.stored(url, self._committed) or []
        self.harvest.unchanged += len(ids)
        self.harvest.kept.extend(ids)

    def _source_failed(self, source: WebSource, reason: str) -> None:
        self.harvest.failures.append(LoadFailure(source.url, reason))
        known = self.state.get(source.url)
        for link in known.entries if known else []:
            self.harvest.kept.extend(self._stored(link))


def harvest(sources: list[WebSource], fetcher: Fetcher, options: HarvestOptions | None = None) -> Harvest:
    """Fetch `sources` with nothing remembered and nothing stored; the articles and failures (for tools and tests)."""
    run = WebRun(sources, fetcher, FetchState(), options)
    run.harvest.articles = [article for article, _ in run.articles({})]
    return run.harvest


def _entry_article(entry: FeedEntry, name: str, origin: str) -> Article:
    ident = entry.link or record_id(entry.title, entry.date, name, entry.text)
    return Article(ident, entry.title, entry.text, entry.date, name, entry.link, origin)


def _host(url: str) -> str:
    return urlsplit(url).hostname or ""
