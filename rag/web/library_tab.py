"""The web app's Library tab: the collection's articles (searchable, newest first) and an
"Add articles" panel (upload files, or paste page and feed URLs) with progress and per-item
errors. New articles are answerable right away: the ingest runs on the app's own pipeline,
whose store and lexical index follow the new generation.

`build_library_tab` builds the tab's components inside the caller's `gr.Blocks`.
"""

from __future__ import annotations

import html
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gradio as gr

from rag.errors import RagError
from rag.ingest.web.sources import WebSource
from rag.pipeline import Pipeline
from rag.store import library

COLUMNS = ["date", "title", "source", "chunks", "id"]


def library_rows(pipeline: Pipeline, query: str = "") -> tuple[list[list[Any]], str]:
    """Table rows (newest first) matching `query`, and a one-line summary (or the empty-collection notice)."""
    found = library.articles(pipeline.store)
    if not found:
        return [], library.empty_notice(pipeline.store.name)
    shown = library.search(found, query) if query.strip() else found
    rows = [[a.date, a.title, a.source, a.chunks, a.url or a.id] for a in shown]
    return rows, f"{len(shown)} of {len(found)} articles in '{pipeline.store.name}', newest first."


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


def add_articles(pipeline: Pipeline, files: list[str], urls: str, uploads: Path) -> str:
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


def build_library_tab(get_pipeline: Callable[[str | None], Pipeline], collection: gr.Dropdown, data_dir: Path) -> None:
    """The Library tab; `collection` is the app's collection picker (the tab follows it)."""

    def show(name: str | None, query: str) -> tuple[list[list[Any]], str]:
        try:
            return library_rows(get_pipeline(name), query)
        except RagError as error:
            return [], html.escape(str(error))

    with gr.Tab("Library", id="library", elem_id="library-tab"):
        with gr.Row():
            search = gr.Textbox(placeholder="Search titles, sources, URLs", show_label=False, elem_id="library-search")
            refresh = gr.Button("Refresh", elem_id="library-refresh", scale=0)
        summary = gr.Markdown(lambda: show(None, "")[1], elem_id="library-summary")
        table = gr.Dataframe(
            lambda: show(None, "")[0], headers=COLUMNS, interactive=False, wrap=True, elem_id="library-table"
        )
        with gr.Accordion("Add articles", open=True, elem_id="add-articles"):
            files = gr.File(
                label="Article files (.txt .md .html .json .jsonl .csv)",
                file_count="multiple",
                type="filepath",
                elem_id="add-files",
            )
            urls = gr.Textbox(
                label="Page or feed URLs, one a line (prefix feeds with 'feed ')", lines=3, elem_id="add-urls"
            )
            add = gr.Button("Add articles", variant="primary", elem_id="add-button")
            result = gr.Markdown(elem_id="add-result")

        def ingest(
            name: str,
            uploaded: list[str] | None,
            pasted: str,
            progress: gr.Progress = gr.Progress(),  # noqa: B008 (Gradio's way to ask for a tracker)
        ) -> tuple[str, list[list[Any]], str, None, str]:
            progress(0.1, desc="Fetching and reading articles")
            try:
                message = add_articles(get_pipeline(name), uploaded or [], pasted or "", data_dir / "uploads")
                pasted = ""
            except RagError as error:
                message = f"**Nothing added:** {html.escape(str(error))}"
            progress(0.9, desc="Updating the library")
            rows, line = show(name, "")
            return message, rows, line, None, pasted

        gr.on(
            [search.change, refresh.click, collection.change],
            show,
            [collection, search],
            [table, summary],
            api_visibility="private",
        )
        add.click(
            ingest,
            [collection, files, urls],
            [result, table, summary, files, urls],
            api_visibility="private",
            concurrency_limit=1,  # one writer at a time
            concurrency_id="library-ingest",
        )
