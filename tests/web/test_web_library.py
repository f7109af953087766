"""The Library tab in a real browser: the collection's articles, search, Add articles (a page
URL from the loopback news site, reported per item), removal with a confirmation (one article,
a whole source), and the chat's overview following every change — also one made by
`python ingest.py` in another process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import DEMO_DIR, ROOT, clean_env
from tests.news_site import NewsSite, generated_story, news_site
from tests.web.conftest import ask, needs_browser, running_app

CHIPS = """Title: US tightens curbs on chip exports to China
Date: 2023-10-17
Source: Tech Wire

The Commerce Department said on Tuesday that the new rules stop Nvidia from selling its A800 and H800 chips \
to China. Nvidia said it did not expect a near-term effect on its earnings.
"""


def shows(page: Any, text: str, where: str) -> None:
    script = "([t, w]) => (document.querySelector(w)?.innerText || '').includes(t)"
    page.wait_for_function(script, arg=[text, where], timeout=60_000)


def library_tab(browser: Any, url: str, viewport: dict[str, int]) -> Any:
    page = browser.new_page(viewport=viewport)
    page.goto(url)
    page.get_by_role("tab", name="Library").click()
    shows(page, "Russia-Ukraine peace talks in Istanbul", "#library-table")
    return page


@pytest.mark.slow
@needs_browser
def test_library_adds_reports_each_item_and_removes_with_a_confirmation(browser: Any, tmp_path: Path) -> None:
    story = generated_story(7)
    with (
        news_site(NewsSite(stories={story.slug: story})) as site,
        running_app(tmp_path / "store", {"RAG_FETCH_ALLOW_PRIVATE": "true"}) as url,  # the site is on loopback
    ):
        page = library_tab(browser, url, {"width": 1280, "height": 1000})
        assert "1 of 1 articles" in page.locator("#library-summary").inner_text()
        page.fill("#library-search textarea", "no such words")
        shows(page, "0 of 1 articles", "#library-summary")
        page.fill("#library-search textarea", "")

        page.fill("#add-urls textarea", f"{site.url('/news/story-7.html')}\n{site.url('/gone')}")
        page.click("#add-button")
        shows(page, "Added 1 article, 1 failed", "#add-result")
        report = page.locator("#add-result").inner_text()
        assert f"{site.url('/news/story-7.html')}: “{story.title}” — added" in report  # by title, in words
        assert f"{site.url('/gone')} — failed: HTTP 410" in report  # per item
        shows(page, story.title, "#library-table")
        shows(page, "2 articles from 2 sources", "#status")  # the chat's overview follows

        row = page.locator("#library-table tr", has_text=story.title)
        row.locator(".remove-article").click()
        confirm = page.locator("#confirm-removal")
        confirm.wait_for(state="visible")
        assert f"Remove “{story.title}”" in confirm.inner_text()
        page.click("#cancel")  # nothing happens without the confirmation
        confirm.wait_for(state="hidden")
        assert story.title in page.locator("#library-table").inner_text()
        row.locator(".remove-article").click()
        confirm.wait_for(state="visible")
        page.click("#confirm")
        shows(page, f"Removed “{story.title}”", "#library-result")
        shows(page, "1 of 1 articles", "#library-summary")
        assert story.title not in page.locator("#library-table").inner_text()
        shows(page, "1 article from 1 source", "#status")

        page.get_by_role("tab", name="Chat").click()
        town = story.title.split()[0]  # "Eastfield council approves plan number 7"
        answer = ask(page, f"What did the {town} council approve?")
        assert "plan number 7" not in answer.inner_text()  # removed: no longer answerable


@pytest.mark.slow
@needs_browser
def test_on_a_phone_the_library_is_readable_and_removes_a_whole_source(browser: Any, tmp_path: Path) -> None:
    articles = tmp_path / "articles"
    articles.mkdir()
    (articles / "chips.txt").write_text(CHIPS, encoding="utf-8")
    (articles / "kyiv.txt").write_text((DEMO_DIR / "istanbul-talks-2022-03.txt").read_text(encoding="utf-8"))
    env = clean_env(RAG_DATA_DIR=str(tmp_path / "store"))
    subprocess.run([sys.executable, "ingest.py", "--quiet", str(articles)], cwd=ROOT, env=env, check=True)
    with running_app(tmp_path / "store") as url:
        page = library_tab(browser, url, {"width": 390, "height": 844})
        row = page.locator("#library-table tr", has_text="US tightens curbs")
        for cell in ("td.lib-title", "td.lib-date", "td.lib-source", ".remove-article"):
            box = row.locator(cell).bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, cell  # nothing clipped
        assert row.locator("td.lib-source").inner_text() == "Tech Wire"
        assert "monospace" not in row.evaluate("e => getComputedStyle(e).fontFamily")

        page.click("#remove-by-source")
        page.click("#remove-source input")
        page.locator("[role=option]", has_text="Tech Wire").click()
        page.click("#remove-source-button")
        page.locator("#confirm-removal").wait_for(state="visible")
        assert "Remove its one article from 'news'?" in page.locator("#confirm-removal").inner_text()
        page.click("#confirm")
        shows(page, "Removed “US tightens curbs on chip exports to China”", "#library-result")
        assert "US tightens curbs" not in page.locator("#library-table").inner_text()


@pytest.mark.slow
@needs_browser
def test_the_first_screen_follows_an_ingest_by_another_process(browser: Any, tmp_path: Path) -> None:
    with running_app(tmp_path / "store") as url:  # starts with the demo article
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(url)
        shows(page, "1 article from 1 source", "#status")
        more = tmp_path / "more"
        more.mkdir()
        (more / "chips.txt").write_text(CHIPS, encoding="utf-8")
        env = clean_env(RAG_DATA_DIR=str(tmp_path / "store"))
        subprocess.run([sys.executable, "ingest.py", "--quiet", str(more)], cwd=ROOT, env=env, check=True)

        ask(page, "What guarantees does Kyiv want?")  # the next answer brings the overview up to date
        shows(page, "2 articles from 2 sources, 2022-03-30 to 2023-10-17", "#status")
        page.reload()  # and so does a page load, with the new headline among the examples
        shows(page, "2 articles from 2 sources", "#status")
        page.wait_for_function(
            "() => [...document.querySelectorAll('#chat .examples button')].some(b => b.innerText.includes('chip'))"
        )
        page.click("#source-filter input")  # the source filter offers the new source
        page.wait_for_selector("[role=option]:has-text('Tech Wire')")
