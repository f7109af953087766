"""Issue 19's cases on the loopback news site: validators keyed to stored articles, a failing page
never replaced by its feed summary, relative feed links, a re-publication that takes over when its
original is removed, paywall teasers and over-long pages reported, the honest summary."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from rag import cli
from rag.ingest.web.sources import WebSource
from rag.pipeline import Pipeline
from rag.store import library
from tests.conftest import make_settings
from tests.fake_embedder import HashEmbedder
from tests.news_site import NewsSite, Story, generated_story, news_site, page

FAST = {"fetch_host_delay": 0.0, "fetch_read_timeout": 5.0, "fetch_allow_private": True}


@pytest.fixture
def site() -> Iterator[NewsSite]:
    stories = {s.slug: s for s in (generated_story(n) for n in range(1, 4))}
    with news_site(NewsSite(stories=stories, feed_slugs=["story-1", "story-2", "story-3"])) as running:
        yield running


@pytest.fixture
def web(tmp_path: Path, fast_embedder: HashEmbedder) -> Pipeline:
    return Pipeline.open(make_settings(tmp_path / "store", **FAST), fast_embedder)


def ingest(pipeline: Pipeline, *sources: WebSource, sync: bool = False):
    return pipeline.ingest([], sync=sync, progress=False, web_sources=list(sources))


def texts(pipeline: Pipeline) -> dict[str, str]:
    found: dict[str, str] = {}
    for chunk in pipeline.store.iter_chunks():
        found[str(chunk.metadata["article_id"])] = found.get(str(chunk.metadata["article_id"]), "") + chunk.text
    return found


def test_a_removed_article_is_fetched_again_not_taken_as_unchanged(site: NewsSite, web: Pipeline) -> None:
    """Case 1: `rag ingest URL; rag remove URL; rag ingest URL` stores it again (the 304 no longer counts)."""
    url = site.url("/news/story-1.html")
    assert ingest(web, WebSource(url)).added == [url]
    library.remove(web.store, [url])
    again = ingest(web, WebSource(url))
    assert again.added == [url] and again.unchanged == 0
    assert site.not_modified["/news/story-1.html"] == 0  # no validator was sent for a story not stored
    third = ingest(web, WebSource(url))
    assert third.unchanged == 1 and site.not_modified["/news/story-1.html"] == 1


def test_failing_pages_keep_their_stored_articles_across_redirects_and_canonical_urls(
    site: NewsSite, web: Pipeline
) -> None:
    """Case 1: entries whose link redirects or whose page names another canonical URL; pages failing, then back."""
    site.entry_links = {"story-1": "/r/one", "story-2": "/news/story-2.html?id=2"}
    site.redirects["/r/one"] = "/news/story-1.html"
    feed = WebSource(site.url("/feed.atom"), "feed")
    first = ingest(web, feed, sync=True)
    stories = {site.url(f"/news/story-{n}.html") for n in (1, 2, 3)}
    assert set(first.added) == stories and first.failures == [] and first.fallbacks == []
    full = texts(web)
    site.failing = {"/news/story-1.html", "/news/story-2.html"}
    site.stories["story-4"] = generated_story(4)
    site.feed_slugs.append("story-4")  # the feed changed, so its entries are read again
    failed = ingest(web, feed, sync=True)
    assert (failed.added, failed.updated, failed.removed, failed.fallbacks) == (
        [site.url("/news/story-4.html")],
        [],
        [],
        [],
    )
    assert sorted(f.path for f in failed.failures) == [site.url("/news/story-2.html?id=2"), site.url("/r/one")]
    assert all("the stored version is kept" in f.reason for f in failed.failures)
    assert {k: v for k, v in texts(web).items() if k in full} == full  # not replaced by the feed's descriptions
    site.failing = set()
    recovered = ingest(web, feed, sync=True)  # the feed is read again (two of its pages had failed)
    assert (recovered.added, recovered.updated, recovered.removed, recovered.failures) == ([], [], [], [])
    assert recovered.unchanged == 4 and len(web.store.manifest()) == 4
    later = ingest(web, feed, sync=True)
    assert later.unchanged == 4 and site.not_modified["/feed.atom"] == 1 and len(web.store.manifest()) == 4


def test_a_new_entry_whose_page_fails_is_stored_from_the_summary_reported_and_retried(
    site: NewsSite, web: Pipeline
) -> None:
    """Case 2: reported (`stored from the feed summary`), named after the site, retried next run."""
    feed = WebSource(site.url("/feed.atom"), "feed")
    site.failing = {"/news/story-3.html"}
    first = ingest(web, feed)
    url = site.url("/news/story-3.html")
    (fallback,) = first.fallbacks
    assert fallback.path == url and "stored from the feed summary (HTTP 503" in fallback.reason
    assert "tried again on the next run" in fallback.reason and set(first.added) >= {url}
    meta = {c.metadata["article_id"]: c.metadata for c in web.store.iter_chunks()}
    assert meta[url]["source"] == "The Loopback Gazette"  # the site's name (from its other pages), not the feed's
    assert texts(web)[url] == generated_story(3).paragraphs[0]
    site.failing = set()
    retried = ingest(web, feed)
    assert retried.updated == [url] and retried.added == [] and retried.removed == [] and not retried.fallbacks
    assert texts(web)[url].count("plan 3") >= 2  # the whole page now
    assert site.hits["/news/story-3.html"] == 2


def test_a_page_stored_from_its_summary_is_replaced_by_its_page_under_its_canonical_url(
    site: NewsSite, web: Pipeline
) -> None:
    site.entry_links = {"story-3": "/r/three"}
    site.redirects["/r/three"] = "/news/story-3.html"
    feed = WebSource(site.url("/feed.atom"), "feed")
    site.failing = {"/news/story-3.html"}
    ingest(web, feed)
    assert site.url("/r/three") in web.store.manifest()  # the summary, under the entry's link
    site.failing = set()
    retried = ingest(web, feed)
    assert retried.updated == [site.url("/news/story-3.html")] and retried.removed == []
    assert set(web.store.manifest()) == {site.url(f"/news/story-{n}.html") for n in (1, 2, 3)}


def test_relative_links_in_a_feed_are_resolved(site: NewsSite, web: Pipeline) -> None:
    """Case 3: Atom `href="/news/story-1.html"` is the page at the feed's site, not a summary without a URL."""
    site.relative_links = True
    report = ingest(web, WebSource(site.url("/feed.atom"), "feed"))
    assert set(report.added) == {site.url(f"/news/story-{n}.html") for n in (1, 2, 3)}
    assert not any(article_id.startswith("record:") for article_id in web.store.manifest())


WIRE = [
    "Officials in the port city said on Monday that the new ferry line will start service in March.",
    "The line links the two islands for the first time in a decade, and the regional government pays for two ships.",
    "Tickets will cost the same as a bus fare, and local businesses welcomed the plan on Monday evening.",
    "The first ship is being built at a yard in the north and will be tested at sea in February.",
]


def syndicated_site(site: NewsSite) -> tuple[WebSource, WebSource]:
    """Outlet A's feed (/feed.atom) carries the wire story; outlet B republishes it on its own page and feed."""
    site.stories["ferry"] = Story("ferry", "Ferry line to link the islands", "2023-10-05", WIRE)
    site.feed_slugs.append("ferry")
    copy = Story("ferry-copy", "Islands get a ferry line", "2023-10-05", [*WIRE, "Reuters contributed."])
    site.documents["/b/ferry.html"] = (
        "text/html",
        page(copy, canonical=site.url("/b/ferry.html"), site="The Other Outlet").encode("utf-8"),
    )
    feed_b = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Other Outlet</title>'
        f"<item><title>Islands get a ferry line</title><link>{site.url('/b/ferry.html')}</link></item>"
        "</channel></rss>"
    )
    site.documents["/b/feed.rss"] = ("application/rss+xml", feed_b.encode("utf-8"))
    return WebSource(site.url("/feed.atom"), "feed"), WebSource(site.url("/b/feed.rss"), "feed")


def test_a_re_publication_takes_over_when_its_original_is_removed(site: NewsSite, web: Pipeline) -> None:
    """Case 1: the original is dropped from its feed (--sync): the re-publication becomes the stored story."""
    feed_a, feed_b = syndicated_site(site)
    first = ingest(web, feed_a, feed_b)
    original, copy = site.url("/news/ferry.html"), site.url("/b/ferry.html")
    assert (copy, original) in first.syndicated
    site.feed_slugs.remove("ferry")
    synced = ingest(web, feed_a, feed_b, sync=True)
    assert synced.removed == [original] and synced.promoted == [(copy, original)] and copy in synced.added
    assert copy in web.store.manifest() and original not in web.store.manifest()
    assert any("ferry line" in text for text in texts(web).values())
    assert not ingest(web, feed_a, feed_b, sync=True).changed  # and it stays


def test_a_re_publication_comes_back_after_rag_remove_of_its_original(site: NewsSite, web: Pipeline) -> None:
    feed_a, feed_b = syndicated_site(site)
    ingest(web, feed_a, feed_b)
    original, copy = site.url("/news/ferry.html"), site.url("/b/ferry.html")
    copies = library.remove(web.store, [original])
    assert [(c.id, c.source, c.origin) for c in copies] == [(copy, "The Other Outlet", site.url("/b/feed.rss"))]
    again = ingest(web, feed_b)  # the copy's page validator stood for the removed story: fetched in full
    assert again.added == [copy] and copy in web.store.manifest()


def test_paywall_teasers_are_reported_not_stored(site: NewsSite, web: Pipeline) -> None:
    """Case 7: a short text ending in a call to subscribe, or a page marked isAccessibleForFree: false."""
    teaser = Story("locked", "Council budget revealed", "2023-10-09", ["The council revealed its budget on Monday."])
    teaser = replace(teaser, paragraphs=[*teaser.paragraphs, "Subscribe to continue reading… Log in."])
    site.documents["/locked.html"] = ("text/html", page(teaser).encode("utf-8"))
    marked = generated_story(5)
    flag = '<script type="application/ld+json">{"@type": "NewsArticle", "isAccessibleForFree": false}</script>'
    site.documents["/marked.html"] = ("text/html", page(marked, head=flag).encode("utf-8"))
    report = ingest(web, WebSource(site.url("/locked.html")), WebSource(site.url("/marked.html")))
    reasons = {f.path: f.reason for f in report.failures}
    assert reasons[site.url("/locked.html")].startswith("paywalled: the page shows a")
    assert "isAccessibleForFree: false" in reasons[site.url("/marked.html")]
    assert report.added == [] and web.store.article_count() == 0


def test_an_over_long_page_is_reported_with_the_setting_to_raise(site: NewsSite, tmp_path: Path, fast_embedder) -> None:
    """Case 9: a per-article cap (RAG_MAX_ARTICLE_BYTES) instead of thousands of chunks."""
    pipeline = Pipeline.open(make_settings(tmp_path / "s", max_article_bytes=2_000, **FAST), fast_embedder)
    long = Story(
        "long",
        "A very long report",
        "2023-10-09",
        [f"Paragraph {n} of the long report, in full." * 8 for n in range(20)],
    )
    site.stories["long"] = long
    report = ingest(pipeline, WebSource(site.url("/news/long.html")), WebSource(site.url("/news/story-1.html")))
    (failure,) = report.failures
    assert re.search(
        r"article text is [\d,]+ bytes, over the limit of 2,000; raise RAG_MAX_ARTICLE_BYTES", failure.reason
    )
    assert report.added == [site.url("/news/story-1.html")]


def test_inline_read_more_lines_and_rss_tracking_parameters_are_dropped(site: NewsSite, web: Pipeline) -> None:
    """Case 10: "Read more: <headline>" paragraphs are not story text; `?ref=rss` / `?src=rss` are not identity."""
    story = generated_story(6)
    story.paragraphs.insert(2, "Read more: Harbourside council approves plan number 4")
    site.stories[story.slug] = story
    for n in (7, 8):  # pages that name no canonical URL: their id is the address they were fetched from
        html = re.sub(r'<link rel="canonical"[^>]*>', "", page(generated_story(n)))
        site.documents[f"/plain/story-{n}.html"] = ("text/html", html.encode("utf-8"))
    site.entry_links = {"story-1": "/plain/story-7.html?ref=rss", "story-2": "/plain/story-8.html?src=rss"}
    report = ingest(web, WebSource(site.url("/news/story-6.html")), WebSource(site.url("/feed.atom"), "feed"))
    assert {site.url("/plain/story-7.html"), site.url("/plain/story-8.html")} <= set(report.added)
    text = texts(web)[site.url("/news/story-6.html")]
    assert "Read more" not in text and "plan 6" in text


def test_fetching_overlaps_embedding(
    site: NewsSite, tmp_path: Path, fast_embedder: HashEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Case 10: the first articles are embedded while later pages are still being fetched."""
    embedding_started = threading.Event()
    site.gates["/news/story-3.html"] = embedding_started  # answered once the embedder has run

    class Watching(HashEmbedder):
        def embed(self, texts: Sequence[str]) -> np.ndarray:
            embedding_started.set()
            return super().embed(texts)

    monkeypatch.setattr("rag.ingest.run.FLUSH_CHUNKS", 1)  # embed each article as it arrives
    pipeline = Pipeline.open(make_settings(tmp_path / "s", **FAST, fetch_concurrency=1), Watching())
    report = pipeline.ingest(
        [], progress=False, web_sources=[WebSource(site.url(f"/news/story-{n}.html")) for n in (1, 2, 3)]
    )
    assert len(report.added) == 3 and report.failures == []
    assert site.gate_timeouts == set()  # story 3 was asked for after embedding had begun
    assert "fetched 3 in" in report.summary() and "embedded in" in report.summary()


def test_cli_takes_an_upper_case_url_and_shows_a_web_article_as_fetched(
    site: NewsSite, model_pipeline: Pipeline, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Case 10: `HTTP://…` is a URL, not a file; `rag show` labels where a web article came from."""
    for name, value in FAST.items():
        monkeypatch.setenv(f"RAG_{name.upper()}", str(value))
    where = ["--data-dir", str(model_pipeline.settings.data_dir), "--collection", model_pipeline.settings.collection]
    url = site.url("/news/story-1.html")
    assert cli.main(["ingest", "--quiet", url.replace("http://", "HTTP://"), *where]) == 0
    out = capsys.readouterr().out
    assert "added 1," in out and "fetched 1 in" in out and "embedded in" in out
    assert cli.main(["show", url, *where]) == 0
    shown = capsys.readouterr().out
    assert f"  fetched from: {url}" in shown and "file:" not in shown
    assert cli.main(["list", *where]) == 0
    assert capsys.readouterr().out.rstrip().endswith("\n1 article")
