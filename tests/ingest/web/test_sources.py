"""What RSS-reader users expect, on the loopback news site: OPML import, feed discovery from a home
page, JSON Feed, news sitemaps, per-source limits, a dropped sources-file line removed with --sync,
and `rag watch` (each source on its own interval, failing ones backed off, one line per change)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from rag import cli
from rag.errors import UsageError
from rag.ingest.web.fetch import Fetcher, FetchOptions
from rag.ingest.web.lists import read_opml, read_sources_file
from rag.ingest.web.sources import HarvestOptions, WebSource, harvest
from rag.ingest.web.watch import Watcher
from rag.pipeline import Pipeline
from tests.conftest import make_settings
from tests.fake_embedder import HashEmbedder
from tests.news_site import NewsSite, generated_story, news_site

FAST = {"fetch_host_delay": 0.0, "fetch_allow_private": True}


@pytest.fixture
def site() -> Iterator[NewsSite]:
    stories = {s.slug: s for s in (generated_story(n) for n in range(1, 6))}
    with news_site(NewsSite(stories=stories, feed_slugs=["story-1", "story-2", "story-3"])) as running:
        yield running


@pytest.fixture
def web(tmp_path: Path, fast_embedder: HashEmbedder) -> Pipeline:
    return Pipeline.open(make_settings(tmp_path / "store", **FAST), fast_embedder)


def urls(site: NewsSite, *numbers: int) -> set[str]:
    return {site.url(f"/news/story-{n}.html") for n in numbers}


def test_opml_import(site: NewsSite, web: Pipeline, tmp_path: Path) -> None:
    opml = tmp_path / "subscriptions.opml"
    opml.write_text(
        '<?xml version="1.0"?><opml version="2.0"><head><title>My feeds</title></head><body>'
        '<outline text="News"><outline type="rss" text="Loopback Gazette" '
        f'xmlUrl="{site.url("/feed.atom")}" htmlUrl="{site.base}/"/></outline></body></opml>',
        encoding="utf-8",
    )
    sources = read_opml(opml)
    assert sources == [WebSource(site.url("/feed.atom"), "feed", "Loopback Gazette")]
    report = web.ingest([], progress=False, web_sources=sources)
    assert set(report.added) == urls(site, 1, 2, 3)
    meta = next(web.store.iter_chunks()).metadata
    assert meta["source"] == "Loopback Gazette"  # the outline's name
    opml.write_text("<opml><body><outline text='no feeds here'/></body></opml>", encoding="utf-8")
    with pytest.raises(UsageError, match="lists no feeds"):
        read_opml(opml)


def test_a_home_page_given_as_a_feed_leads_to_the_feed_it_announces(site: NewsSite, web: Pipeline) -> None:
    home = (
        '<html><head><link rel="alternate" type="application/atom+xml" href="/feed.atom"></head><body>Hi</body></html>'
    )
    site.documents["/"] = ("text/html", home.encode())
    report = web.ingest([], progress=False, web_sources=[WebSource(site.url("/"), "feed")])
    assert set(report.added) == urls(site, 1, 2, 3) and report.failures == []


def test_a_json_feed(site: NewsSite, web: Pipeline) -> None:
    items = [
        {"id": "1", "url": "/news/story-4.html", "title": "Four", "date_published": "2023-10-05T09:00:00Z"},
        {
            "id": "2",
            "title": "A note",
            "content_text": "NOTE-TEXT: the ferry resumes next week.",
            "date_published": "2023-10-06",
        },
    ]
    feed = {"version": "https://jsonfeed.org/version/1.1", "title": "Gazette JSON", "items": items}
    site.documents["/feed.json"] = ("application/feed+json", json.dumps(feed).encode())
    report = web.ingest([], progress=False, web_sources=[WebSource(site.url("/feed.json"), "feed")])
    assert urls(site, 4) <= set(report.added) and len(report.added) == 2 and report.failures == []
    texts = " ".join(chunk.text for chunk in web.store.iter_chunks())
    assert "NOTE-TEXT" in texts and "plan 4" in texts


def news_sitemap(site: NewsSite, numbers: list[int]) -> bytes:
    entries = "".join(
        f"<url><loc>{site.url(f'/news/story-{n}.html')}</loc><news:news><news:publication><news:name>Gazette"
        f"</news:name><news:language>en</news:language></news:publication><news:publication_date>"
        f"{site.stories[f'story-{n}'].date}</news:publication_date><news:title>Story {n}</news:title></news:news></url>"
        for n in numbers
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
        f'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">{entries}</urlset>'
    ).encode()


def test_a_news_sitemap_and_a_sitemap_index(site: NewsSite, web: Pipeline) -> None:
    site.documents["/news-sitemap.xml"] = ("application/xml", news_sitemap(site, [4, 5]))
    index = (
        '<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        "<sitemap><loc>/news-sitemap.xml</loc></sitemap></sitemapindex>"
    )
    site.documents["/sitemap.xml"] = ("application/xml", index.encode())
    report = web.ingest([], progress=False, web_sources=[WebSource(site.url("/sitemap.xml"), "sitemap")])
    assert set(report.added) == urls(site, 4, 5) and report.failures == []


def test_per_source_limits(site: NewsSite, web: Pipeline, fast_embedder: HashEmbedder) -> None:
    """max entries takes the newest; max age skips old entries; neither removes what is stored."""
    feed = site.url("/feed.atom")  # stories dated 2023-10-02, -03, -04
    newest = web.ingest([], progress=False, web_sources=[WebSource(feed, "feed", max_entries=2)])
    assert set(newest.added) == urls(site, 2, 3)
    site.feed_slugs.append("story-4")  # 2023-10-05
    with Fetcher(FetchOptions(host_delay=0, allow_private=True)) as fetcher:
        recent = harvest([WebSource(feed, "feed", max_age_days=2)], fetcher, HarvestOptions(today=date(2023, 10, 6)))
    assert {a.id for a in recent.articles} == urls(site, 3, 4)  # from 2023-10-04 on
    old = web.ingest([], progress=False, sync=True, web_sources=[WebSource(feed, "feed", max_age_days=2)])
    assert old.removed == [] and old.added == []  # every entry is years old today: none fetched, none removed
    assert set(web.store.manifest()) == urls(site, 2, 3)


def test_limits_in_a_sources_file(tmp_path: Path) -> None:
    path = tmp_path / "sources.txt"
    path.write_text(
        "feed https://a.example/rss The Wire max=20 age=7d every=15m\n"
        "sitemap https://b.example/news-sitemap.xml max=50\n",
        encoding="utf-8",
    )
    wire, sitemap = read_sources_file(path)
    assert (wire.name, wire.max_entries, wire.max_age_days, wire.every) == ("The Wire", 20, 7.0, 900.0)
    assert (sitemap.kind, sitemap.max_entries) == ("sitemap", 50)
    path.write_text("feed https://a.example/rss max=many\nfeed https://b.example/rss\nfeed b.example/rss\n", "utf-8")
    with pytest.raises(UsageError) as raised:  # every bad line at once, and nothing runs
        read_sources_file(path)
    assert str(raised.value) == (
        f"{path}, line 1: max=many is not a positive whole number.\n"
        f"{path}, line 3: expected `feed|page|sitemap URL [name] [max=N] [age=7d]`, got 'feed b.example/rss'.\n"
        "Nothing was ingested: fix the file and run again."
    )


def test_a_line_dropped_from_the_sources_file_removes_its_articles_with_sync(
    site: NewsSite, web: Pipeline, tmp_path: Path
) -> None:
    key = str(tmp_path / "sources.txt")
    page = WebSource(site.url("/news/story-5.html"))
    feed = WebSource(site.url("/feed.atom"), "feed")
    web.ingest([], progress=False, sync=True, web_sources=[feed, page], sources_file=key)
    assert len(web.store.manifest()) == 4
    kept = web.ingest([], progress=False, web_sources=[feed], sources_file=key)  # without --sync: nothing removed
    assert kept.removed == []
    dropped = web.ingest([], progress=False, sync=True, web_sources=[feed], sources_file=key)
    assert dropped.removed == [site.url("/news/story-5.html")]
    assert set(web.store.manifest()) == urls(site, 1, 2, 3)


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_watch_refreshes_each_source_on_its_interval_and_backs_off_failures(
    site: NewsSite, web: Pipeline, tmp_path: Path
) -> None:
    site.documents["/news-sitemap.xml"] = ("application/xml", news_sitemap(site, [5]))
    site.failing.add("/news-sitemap.xml")
    sources = tmp_path / "sources.txt"
    atom, sitemap = site.url("/feed.atom"), site.url("/news-sitemap.xml")
    sources.write_text(f"feed {atom} every=10m\nsitemap {sitemap} every=30m\n", encoding="utf-8")
    lines: list[str] = []
    clock = Clock()

    def refresh(source: WebSource, listed: list[WebSource]):
        return web.ingest([], True, False, [source], sources_file=str(sources), notice=lines.append, listed=listed)

    watcher = Watcher(lambda: read_sources_file(sources), refresh, lines.append, clock, clock.sleep, interval=1800)
    watcher.run(rounds=1)
    assert len(lines) == 2  # one line per source: the feed's three stories, the sitemap's failure
    assert lines[0].endswith(f"feed {atom}: added 3, updated 0, removed 0")
    assert f"sitemap {sitemap}: " in lines[1] and "HTTP 503" in lines[1]
    assert lines[1].endswith("next try in 1 h")  # its 30 minutes, doubled
    watcher.run(rounds=2)  # sleeps 10 minutes: the feed is due again, unchanged: no line
    assert clock.slept == [600] and len(lines) == 2
    site.feed_slugs.append("story-4")
    watcher.run(rounds=2)  # 10 minutes more: the feed has a new story
    assert len(lines) == 3 and lines[2].endswith(f"feed {atom}: added 1, updated 0, removed 0")
    site.failing.clear()
    for _ in range(10):  # the sitemap is tried again once its back-off (1 h) has passed
        if site.hits["/news-sitemap.xml"] > 1:
            break
        watcher.run(rounds=2)
    assert clock.now - 1_700_000_000 >= 3600 and lines[-1].endswith(f"sitemap {sitemap}: added 1, updated 0, removed 0")
    sources.write_text(f"feed {atom} every=10m\n", encoding="utf-8")  # the sitemap's line is dropped
    watcher.run(rounds=2)  # the feed's next refresh removes the dropped source's article
    assert lines[-1].endswith(f"feed {atom}: added 0, updated 0, removed 1")
    assert set(web.store.manifest()) == urls(site, 1, 2, 3, 4)


def test_rag_watch_from_the_command_line(
    site: NewsSite, model_pipeline: Pipeline, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch
) -> None:
    monkeypatch.setenv("RAG_FETCH_HOST_DELAY", "0")
    monkeypatch.setenv("RAG_FETCH_ALLOW_PRIVATE", "true")
    sources = tmp_path / "sources.txt"
    sources.write_text(f"feed {site.url('/feed.atom')} Gazette every=5m\n", encoding="utf-8")
    settings = model_pipeline.settings
    where = ["--data-dir", str(settings.data_dir), "--collection", settings.collection]
    assert cli.main(["watch", "--sources", str(sources), "--rounds", "1", *where]) == 0
    out = capsys.readouterr().out
    assert f"watching the sources in {sources}" in out
    assert f"feed {site.url('/feed.atom')}: added 3, updated 0, removed 0" in out
    assert model_pipeline.store.article_count() == 3
