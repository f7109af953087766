"""Tests for rag.ingest.web.extract's dates: trafilatura's, found by htmldate, from 1900 up to today."""

from __future__ import annotations

import pytest

from rag.ingest.web.extract import extract

STORY = "<p>" + "The talks went on late into the evening, and both sides said they would meet again. " * 3 + "</p>"


def page(head: str, body: str = STORY) -> bytes:
    return f"<html><head><title>Talks</title>{head}</head><body><article>{body}</article></body></html>".encode()


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        ('<meta property="article:published_time" content="2023-09-28T10:00:00+00:00">', "2023-09-28"),
        (
            '<meta property="article:modified_time" content="2023-10-05T10:00:00Z">'
            '<meta property="article:published_time" content="2023-09-28T10:00:00Z">',
            "2023-09-28",  # the original date, not the last change
        ),
        (
            '<script type="application/ld+json">{"@type": "NewsArticle", "datePublished": "2023-09-28"}</script>',
            "2023-09-28",
        ),
        ('<meta property="article:published_time" content="1989-11-09T18:00:00Z">', "1989-11-09"),  # an archive page
        ('<meta property="article:published_time" content="2990-01-01T10:00:00Z">', ""),  # after today: no date
    ],
)
def test_the_date_a_page_states(head: str, expected: str) -> None:
    assert extract(page(head)).date == expected


def test_a_time_element_dates_a_page_without_meta_tags() -> None:
    body = f'<time datetime="2022-08-01T16:23:25Z">Aug 1</time>{STORY}'
    assert extract(page("", body)).date == "2022-08-01"
