"""The Library tab in a real browser: the collection's articles, search, and Add articles
(a page URL from the loopback news site), answerable right after without a restart."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.news_site import NewsSite, generated_story, news_site
from tests.web.conftest import ask, needs_browser, running_app


@pytest.mark.browser
@pytest.mark.slow
@needs_browser
def test_library_lists_searches_and_adds_articles(browser, tmp_path: Path) -> None:
    story = generated_story(7)
    with (
        news_site(NewsSite(stories={story.slug: story})) as site,
        running_app(tmp_path / "store", {"RAG_FETCH_ALLOW_PRIVATE": "true"}) as url,
    ):
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.goto(url)
        page.get_by_role("tab", name="Library").click()

        def shows(text: str, where: str) -> None:
            script = "([t, w]) => (document.querySelector(w)?.innerText || '').includes(t)"
            page.wait_for_function(script, arg=[text, where], timeout=60_000)

        shows("Russia-Ukraine peace talks in Istanbul", "#library-table")
        assert "1 of 1 articles" in page.locator("#library-summary").inner_text()

        page.fill("#library-search textarea", "no such words")
        shows("0 of 1 articles", "#library-summary")
        page.fill("#library-search textarea", "")

        page.fill("#add-urls textarea", f"{site.url('/news/story-7.html')}\n{site.url('/gone')}")
        page.click("#add-button")
        result = page.locator("#add-result")
        result.get_by_text("added 1").wait_for(timeout=60_000)
        text = result.inner_text()
        assert f"added: {site.url('/news/story-7.html')}" in text
        assert f"failed: {site.url('/gone')}: HTTP 410" in text  # per-item error
        shows(story.title, "#library-table")
        page.screenshot(path=str(tmp_path / "library.png"), full_page=True)

        page.get_by_role("tab", name="Chat").click()
        page.wait_for_selector("#question textarea", state="visible")
        town = story.title.split()[0]  # "Eastfield council approves plan number 7"
        answer = ask(page, f"What did the {town} council approve?")
        assert "plan number 7" in answer.locator(".answer-text").inner_text()
        answer.locator("summary", has_text="Sources").first.click()
        assert story.title in answer.inner_text()
