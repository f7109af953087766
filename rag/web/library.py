"""The Library tab's actions, without Gradio: the collection's rows, and adding articles.

`rows` lists a collection's articles (newest first, searchable); `add` ingests uploaded
files and pasted page and feed URLs on the app's own pipeline, so new articles are
answerable right away (its store and lexical index follow the new generation).
"""

from __future__ import annotations

import html
import shutil
from pathlib import Path
from typing import Any

from rag.errors import RagError
from rag.ingest.web.sources import WebSource
from rag.pipeline import Pipeline
from rag.store import library

COLUMNS = ["date", "title", "source", "chunks", "id"]


def rows(pipeline: Pipeline, query: str = "") -> tuple[list[list[Any]], str]:
    """Table rows (newest first) matching `query`, and a one-line summary (or the empty-collection notice)."""
    found = library.articles(pipeline.store)
    if not found:
        return [], library.empty_notice(pipeline.store.name)
    shown = library.search(found, query) if query.strip() else found
    table = [[a.date, a.title, a.source, a.chunks, a.url or a.id] for a in shown]
    return table, f"{len(shown)} of {len(found)} articles in '{pipeline.store.name}', newest first."


def parse_urls(text: str) -> list[WebSource]:
    """One URL a line; `feed URL` (or a URL ending in rss/atom/xml/feed) is a feed."""
    sources = []
    for line in text.splitlines():
        words = line.split()
        if not words:
            continue
        kind = "feed" if words[0].lower() == "feed" else "page"
        url = words[-1] if words[0].lower() in ("feed", "page") else words[0]
        if kind == "page" and url.rstrip("/").lower().endswith(("rss", "atom", ".xml", "/feed")):
            kind = "feed"
        if not url.startswith(("http://", "https://")):
            raise RagError(f"'{url}' is not a web address; paste one http(s) URL a line (prefix feeds with 'feed').")
        sources.append(WebSource(url, "feed" if kind == "feed" else "page"))
    return sources


def add(pipeline: Pipeline, files: list[str], urls: str, uploads: Path) -> str:
    """Ingest uploaded files (kept under `uploads`) and pasted URLs; a Markdown report with per-item errors."""
    sources = parse_urls(urls)
    paths = []
    uploads.mkdir(parents=True, exist_ok=True)
    for file in files:
        target = uploads / Path(file).name
        shutil.copyfile(file, target)
        paths.append(target)
    if not paths and not sources:
        return "Choose files to upload or paste page or feed URLs first."
    report = pipeline.ingest(paths, progress=False, web_sources=sources)
    lines = [f"**{html.escape(report.summary())}**"]
    lines += [f"- added: {html.escape(article_id)}" for article_id in report.added[:20]]
    lines += [f"- failed: {html.escape(f.path)}: {html.escape(f.reason)}" for f in report.failures]
    return "\n".join(lines)
