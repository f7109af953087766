"""Web ingestion against a real news site on loopback (tests/news_site.py): pages, feeds,
conditional GET, robots.txt, and every failure reported with its URL while the rest is stored."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from rag import cli
from rag.ingest.web.extract import extract
from rag.ingest.web.fetch import Fetcher, FetchOptions
from rag.ingest.web.lists import read_sources_file
from rag.ingest.web.sources import WebSource, harvest
from rag.pipeline import Pipeline
from tests.conftest import make_settings
from tests.news_site import LATIN_STORY, NewsSite, demo_story, generated_story, news_site, page

FAST = {
    "fetch_host_delay": 0.0,
    "fetch_read_timeout": 1.0,
    "fetch_total_timeout": 2.0,
    "fetch_max_bytes": 200_000,
    "fetch_allow_private": True,  # the news site is on loopback
}
BOILERPLATE = ("TRACKING-SCRIPT", "SITE-NAVIGATION", "cookies", "RELATED-LINK", "COMMENT-TEXT", "FOOTER-TEXT", "teaser")


@pytest.fixture
def site() -> Iterator[NewsSite]:
    stories = {s.slug: s for s in [demo_story(), *(generated_story(n) for n in range(1, 4))]}
    with news_site(NewsSite(stories=stories, feed_slugs=["story-1", "story-2", "story-3"])) as running:
        yield running


@pytest.fixture
def web_pipeline(tmp_path: Path, embedder) -> Pipeline:
    return Pipeline.open(make_settings(tmp_path / "store", **FAST), embedder)


def stored(pipeline: Pipeline) -> dict[str, str]:
    """Article id -> the text of all its chunks."""
    texts: dict[str, str] = {}
    for chunk in pipeline.store.iter_chunks():
        article_id = str(chunk.metadata["article_id"])
        texts[article_id] = texts.get(article_id, "") + "\n" + chunk.text
    return texts


def test_extraction_keeps_the_story_and_drops_the_boilerplate(site: NewsSite) -> None:
    story = demo_story()
    extracted = extract(page(story, site.base).encode("utf-8"), site.url("/news/istanbul-talks.html"))
    assert (extracted.title, extracted.date, extracted.site_name) == (story.title, "2022-03-30", "The Loopback Gazette")
    assert extracted.url == site.url("/news/istanbul-talks.html")  # canonical, utm_source dropped
    for paragraph in story.paragraphs:
        assert " ".join(paragraph.split()) in extracted.text
    for junk in BOILERPLATE:
        assert junk not in extracted.text, junk


def test_pages_and_a_legacy_encoding(site: NewsSite, web_pipeline: Pipeline) -> None:
    pages = [WebSource(site.url(p)) for p in ("/news/istanbul-talks.html", "/news/cafe.html")]
    report = web_pipeline.ingest([], progress=False, web_sources=pages)
    assert report.failures == [] and len(report.added) == 2
    texts = stored(web_pipeline)
    cafe = texts[site.url("/news/cafe.html")]
    assert LATIN_STORY.paragraphs[0] in cafe and "\ufffd" not in cafe
    assert "Pentagon spokesman John Kirby" in " ".join(texts.values())
    again = web_pipeline.ingest([], progress=False, web_sources=pages)
    assert not again.changed and again.unchanged == 2
    assert site.not_modified["/news/istanbul-talks.html"] == 1  # the unchanged page cost one 304


@pytest.mark.parametrize("feed", ["/feed.rss", "/feed.atom", "/feed.rdf"])
def test_a_feed_twice_adds_its_articles_then_nothing(site: NewsSite, web_pipeline: Pipeline, feed: str) -> None:
    sources = [WebSource(site.url(feed), "feed")]
    first = web_pipeline.ingest([], progress=False, web_sources=sources)
    stories = {site.url(f"/news/story-{n}.html") for n in (1, 2, 3)}
    assert set(first.added) - {site.url("/missing")} == stories  # /missing: the RSS entry with only its own text
    metas = {c.metadata["article_id"]: c.metadata for c in web_pipeline.store.iter_chunks()}
    assert metas[site.url("/news/story-2.html")]["date"] == "2023-10-03"
    assert metas[site.url("/news/story-2.html")]["source"] == "The Loopback Gazette"
    hits = dict(site.hits)
    second = web_pipeline.ingest([], progress=False, web_sources=sources)
    assert (second.added, second.updated, second.removed, second.chunks_written) == ([], [], [], 0)
    assert site.hits[feed] == hits[feed] + 1
    if feed == "/feed.rss":  # its /missing entry was stored from the feed summary: the feed is read again
        assert second.unchanged == 3 and site.not_modified["/news/story-1.html"] == 1  # its pages cost 304s
        assert site.hits["/missing"] == hits["/missing"] + 1  # the failed page is tried again
        assert [f.path for f in second.failures] == [site.url("/missing")]  # still failing: its summary is kept
    else:
        assert site.not_modified[feed] == 1 and second.unchanged == 3
        assert site.hits["/news/story-1.html"] == hits["/news/story-1.html"]  # an unchanged feed: pages not asked


def test_rss_entry_falls_back_to_its_own_content(site: NewsSite, web_pipeline: Pipeline) -> None:
    report = web_pipeline.ingest([], progress=False, web_sources=[WebSource(site.url("/feed.rss"), "feed")])
    assert report.failures == []  # /missing is a 404, but the entry has its own text
    assert any("FALLBACK-CONTENT" in text for text in stored(web_pipeline).values())


def test_sync_removes_only_entries_gone_from_a_feed_read_successfully(site: NewsSite, web_pipeline: Pipeline) -> None:
    feed = [WebSource(site.url("/feed.atom"), "feed")]
    web_pipeline.ingest([], progress=False, web_sources=feed)
    site.feed_slugs.remove("story-1")
    site.failing.add("/feed.atom")
    failed = web_pipeline.ingest([], progress=False, sync=True, web_sources=feed)
    assert "HTTP 503" in failed.failures[0].reason and failed.removed == []
    assert web_pipeline.store.article_count() == 3  # a failed fetch removes nothing
    site.failing = {"/news/story-2.html"}  # still in the feed, but its page fails: kept
    synced = web_pipeline.ingest([], progress=False, sync=True, web_sources=feed)
    assert synced.removed == [site.url("/news/story-1.html")]
    assert [f.path for f in synced.failures] == [site.url("/news/story-2.html")]
    assert set(web_pipeline.store.manifest()) == {site.url(f"/news/story-{n}.html") for n in (2, 3)}


def test_every_failure_is_reported_with_its_url_and_the_rest_is_stored(
    site: NewsSite,
    web_pipeline: Pipeline,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in FAST.items():
        monkeypatch.setenv(f"RAG_{name.upper()}", str(value))
    closed = f"http://127.0.0.1:{_closed_port()}/story.html"
    bad = {
        site.url("/missing"): "HTTP 404",
        site.url("/gone"): "HTTP 410",
        site.url("/error"): "HTTP 503",
        site.url("/slow"): "timeout",
        site.url("/drip"): "too slow",
        site.url("/loop"): "redirect loop",
        site.url("/report.pdf"): "not a readable PDF",
        site.url("/favicon.ico"): "content type is image/x-icon",
        site.url("/huge.html"): "over the limit",
        site.url("/paywall.html"): "no readable story text",
        site.url("/private/secret.html"): "robots.txt",
        closed: "cannot connect",
    }
    sources = tmp_path / "sources.txt"
    lines = ["# pages and feeds", f"page {site.url('/news/story-1.html')} Gazette"]
    lines += [f"page {url}" for url in bad] + [f"feed {site.url('/broken.rss')}", f"feed {site.url('/not-a-feed.rss')}"]
    sources.write_text("\n".join(lines) + "\n", encoding="utf-8")
    settings = web_pipeline.settings
    where = ["--data-dir", str(settings.data_dir), "--collection", settings.collection]
    code = cli.main(["ingest", "--sources", str(sources), "--quiet", *where])
    err = capsys.readouterr().err
    assert code == 1
    for url, reason in bad.items():
        line = next((line for line in err.splitlines() if f" {url}:" in line), "")
        assert reason in line, (url, line)
    assert f"skipped {site.url('/broken.rss')}: not a readable RSS, Atom or JSON feed" in err
    assert f"skipped {site.url('/not-a-feed.rss')}: feed: no feed found: the page announces none" in err
    assert set(web_pipeline.store.manifest()) == {site.url("/news/story-1.html")}
    assert "Traceback" not in err


def test_sources_file_errors_are_usage_errors(tmp_path: Path) -> None:
    path = tmp_path / "sources.txt"
    path.write_text("feed https://a.example/rss  Wire Service\nhttps://b.example/page\n", encoding="utf-8")
    assert read_sources_file(path) == [
        WebSource("https://a.example/rss", "feed", "Wire Service"),
        WebSource("https://b.example/page", "page", ""),
    ]
    path.write_text("feed not-a-url\n", encoding="utf-8")
    assert cli.main(["ingest", "--sources", str(path), "--data-dir", str(tmp_path / "s")]) == 2


def test_fetching_is_polite(site: NewsSite) -> None:
    options = FetchOptions(host_delay=0.3, concurrency=4, allow_private=True)
    with Fetcher(options) as fetcher:
        started = time.monotonic()
        result = harvest([WebSource(site.url(f"/news/story-{n}.html")) for n in (1, 2, 3)], fetcher)
        elapsed = time.monotonic() - started
    assert len(result.articles) == 3
    assert elapsed >= 0.9  # robots.txt + 3 pages, 0.3 s apart on one host, despite 4 workers
    assert site.hits["/robots.txt"] == 1


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_cli_takes_page_urls_and_feeds(
    site: NewsSite, web_pipeline: Pipeline, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RAG_FETCH_HOST_DELAY", "0")
    monkeypatch.setenv("RAG_FETCH_ALLOW_PRIVATE", "true")
    settings = web_pipeline.settings
    where = ["--data-dir", str(settings.data_dir), "--collection", settings.collection, "--quiet"]
    page_url, feed_url = site.url("/news/istanbul-talks.html"), site.url("/feed.atom")
    assert cli.main(["ingest", page_url, "--feed", feed_url, *where]) == 0
    assert "added 4," in capsys.readouterr().out
    assert cli.main(["ingest", page_url, "--feed", feed_url, *where]) == 0
    # the page and the feed answer 304: the page's article and the feed's three count as unchanged
    assert "added 0, updated 0, unchanged 4, removed 0, failed 0" in capsys.readouterr().out
    assert cli.main(["ingest", *where]) == 2
    assert "Nothing to ingest" in capsys.readouterr().err


def test_an_unknown_host_is_a_dns_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    """The system resolver stands in for DNS (tests make no lookups beyond loopback): it knows no such host."""
    real_getaddrinfo = socket.getaddrinfo

    def resolve(host: object, *args: object, **kwargs: object) -> object:
        if host == "no-such-host.example":
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real_getaddrinfo(host, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    with Fetcher(FetchOptions()) as fetcher:
        result = harvest([WebSource("http://no-such-host.example/news/story.html")], fetcher)
    assert not result.articles
    (failure,) = result.failures
    assert failure.path == "http://no-such-host.example/news/story.html"
    assert "host no-such-host.example not found (DNS); check the address" in failure.reason
