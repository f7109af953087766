"""The Library tab's actions, without Gradio: the collection's articles, adding, removing.

`table_html` lists a collection's articles (newest first, searchable) as a readable table
that becomes one card per article on a phone, each with a Remove button. `Adding` ingests
uploaded files and pasted page and feed URLs on the app's own pipeline (so new articles
are answerable right away) and reports every item in words — "added", "already in the
library", "re-publication of …", "failed: HTTP 404 …" — with progress per item.
`removal_question` / `remove` take articles out, by id or by source, after a confirmation.
"""

from __future__ import annotations

import html
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rag.errors import UsageError
from rag.ingest.files import SUPPORTED_SUFFIXES, LoadOptions, load_file
from rag.ingest.run import IngestReport
from rag.ingest.web.sources import WebSource
from rag.pipeline import Pipeline
from rag.store import library
from rag.store.library import LibraryArticle


def listing(pipeline: Pipeline, query: str = "") -> tuple[list[LibraryArticle], str]:
    """The articles (newest first) matching `query`, and a one-line summary (or the empty-collection notice)."""
    found = library.articles(pipeline.store)
    if not found:
        return [], library.empty_notice(pipeline.store.name)
    shown = library.search(found, query) if query and query.strip() else found
    return shown, f"{len(shown)} of {len(found)} articles in '{pipeline.store.name}', newest first."


def table_html(articles: Sequence[LibraryArticle], removable: bool = True) -> str:
    """The articles as an HTML table (a card per article on a phone, see app.css); titles link to their URL."""
    if not articles:
        return '<p class="meta">No articles to show.</p>'
    rows = []
    for article in articles:
        title = html.escape(article.title or article.id)
        if article.url.startswith(("http://", "https://")):
            title = f'<a href="{html.escape(article.url, quote=True)}" target="_blank" rel="noopener">{title}</a>'
        value = html.escape(article.id, quote=True)
        remove = f'<button type="button" class="remove-article" value="{value}">Remove</button>' if removable else ""
        rows.append(
            f'<tr><td class="lib-title">{title}</td><td class="lib-date">{html.escape(article.date or "–")}</td>'
            f'<td class="lib-source">{html.escape(article.source or "–")}</td>'
            f'<td class="lib-chunks">{article.chunks}</td><td class="lib-actions">{remove}</td></tr>'
        )
    head = "<tr><th>Title</th><th>Date</th><th>Source</th><th>Passages</th><th></th></tr>"
    return f'<table class="library"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table>'


def sources_of(pipeline: Pipeline) -> list[str]:
    return library.source_names(library.articles(pipeline.store))


# --- removing -------------------------------------------------------------------------------------------------
def removal_question(pipeline: Pipeline, ids: Sequence[str] = (), source: str = "") -> tuple[list[str], str]:
    """The ids to remove (given, or all of `source`) and the question that confirms it."""
    if source:
        chosen = library.select_for_removal(pipeline.store, [], source=source)
        what = f"all {len(chosen)} articles from {html.escape(source)}" if len(chosen) > 1 else "its one article"
        return chosen, f"Remove {what} from '{html.escape(pipeline.store.name)}'? This cannot be undone."
    chosen = library.select_for_removal(pipeline.store, list(ids))
    titles = {a.id: a for a in library.articles(pipeline.store)}
    named = ", ".join(_described(titles[i]) for i in chosen if i in titles)
    return chosen, f"Remove {named} from '{html.escape(pipeline.store.name)}'? This cannot be undone."


def _described(article: LibraryArticle) -> str:
    meta = " · ".join(part for part in (article.date, article.source) if part)
    return f"“{html.escape(article.title or article.id)}”" + (f" ({html.escape(meta)})" if meta else "")


def remove(pipeline: Pipeline, ids: Sequence[str]) -> str:
    """Remove the articles (crash-safe, BM25 rebuilt before the change is published); what was done, in words."""
    known = {a.id: a for a in library.articles(pipeline.store)}
    gone = [i for i in ids if i in known]
    if not gone:
        return "Nothing removed: those articles are no longer in the collection."
    library.remove(pipeline.store, gone, before_publish=pipeline.prepare_lexical)
    if len(gone) == 1:
        return f"Removed {_described(known[gone[0]])}."
    return f"Removed {len(gone)} articles."


# --- adding ----------------------------------------------------------------------------------------------------
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
            raise UsageError(f"'{url}' is not a web address; paste one http(s) URL a line (prefix feeds with 'feed').")
        sources.append(WebSource(url, "feed" if kind == "feed" else "page"))
    return sources


@dataclass
class Item:
    """One thing the user asked to add (an uploaded file, a page, a feed) and what came of it."""

    label: str
    source: WebSource | None = None
    path: Path | None = None
    articles: list[tuple[str, str]] = field(default_factory=list)  # (id, title) read from an uploaded file
    report: IngestReport | None = None
    notices: list[str] = field(default_factory=list)  # e.g. a wait for another writer


def check_uploads(files: Sequence[str], max_files: int, max_bytes: int) -> None:
    """Refuse an upload of too many files, too large a file or a type that cannot be read, saying which."""
    if len(files) > max_files:
        raise UsageError(f"{len(files)} files at once; the limit is {max_files}. Upload them in smaller groups.")
    for file in files:
        path = Path(file)
        if path.suffix.lower() not in SUPPORTED_SUFFIXES:
            kinds = " ".join(SUPPORTED_SUFFIXES)
            raise UsageError(f"{path.name}: {path.suffix or 'no extension'} files cannot be read; upload {kinds}.")
        size = path.stat().st_size
        if size > max_bytes:
            raise UsageError(f"{path.name} is {size / 1e6:.1f} MB; the limit is {max_bytes / 1e6:.1f} MB per file.")


class Adding:
    """One "Add articles" request: `run()` yields progress lines (Markdown), then the report.

    Each item is its own ingest run (the lexical index is updated article by article, so a run
    costs little beyond its articles), so every item's outcome is its own report's."""

    def __init__(self, pipeline: Pipeline, files: Sequence[str], urls: str, uploads: Path) -> None:
        self.pipeline = pipeline
        sources = parse_urls(urls)
        uploads.mkdir(parents=True, exist_ok=True)
        self.items: list[Item] = []
        for file in files:
            target = uploads / Path(file).name
            shutil.copyfile(file, target)
            self.items.append(Item(Path(file).name, path=target))
        self.items += [Item(("feed " if s.kind == "feed" else "") + s.url, source=s) for s in sources]
        if not self.items:
            raise UsageError("Choose files to upload or paste page or feed URLs first.")

    def run(self) -> Iterator[str]:
        total, done = len(self.items), ""
        options = LoadOptions.from_settings(self.pipeline.settings)
        for number, item in enumerate(self.items, 1):
            verb = "Reading" if item.path is not None else "Fetching"
            yield f"{done}{verb} {number} of {total}: {html.escape(item.label)}…"
            if item.path is not None:
                articles, _ = load_file(item.path, options)
                item.articles = [(a.id, a.title) for a in articles]
            paths = [item.path] if item.path is not None else []
            sources = [item.source] if item.source is not None else []
            item.report = self.pipeline.ingest(paths, progress=False, web_sources=sources, notice=item.notices.append)
            done = f"Done {number} of {total} ({_counted(item.report)}). "
        yield report_markdown(self.items, self.pipeline)


def _counted(report: IngestReport) -> str:
    parts = [f"{len(report.added)} added"] + ([f"{len(report.failures)} failed"] if report.failures else [])
    return ", ".join(parts)


def item_entries(item: Item, titles: dict[str, str]) -> list[str]:
    """What happened to each article of an item, in words (`titles`: the stored articles' titles)."""
    report = item.report
    assert report is not None

    def named(article_id: str) -> str:
        return f"“{html.escape(titles.get(article_id, article_id))}”"

    entries = [f"{named(i)} — added" for i in report.added]
    entries += [f"{named(i)} — updated (its text had changed)" for i in report.updated]
    entries += [
        f"{html.escape(copy)} — re-publication of {named(story)}: stored once, this source recorded with it"
        for copy, story in report.syndicated
    ]
    entries += [f"{named(stored)} — stored in place of its earlier copy" for stored, _ in report.promoted]
    entries += [f"{_where(where, item)}already in the library as {named(twin)}" for where, twin in report.duplicates]
    entries += [
        f"{html.escape(f.path)} — stored from the feed's summary: {html.escape(f.reason)}" for f in report.fallbacks
    ]
    entries += [f"{_where(f.path, item)}stored, but: {html.escape(f.reason)}" for f in report.notes]
    entries += [f"{_where(f.path, item)}failed: {html.escape(f.reason)}" for f in report.failures]
    mentioned = {*report.added, *report.updated, *(twin for _, twin in report.duplicates)}
    for article_id, title in item.articles:  # an uploaded file's articles that were already stored
        if article_id not in mentioned and article_id not in dict(report.syndicated):
            stored = titles.get(article_id, title)
            entries.append(
                f"“{html.escape(title)}” — already in the library"
                + (f" as “{html.escape(stored)}”" if stored != title else "")
            )
    if item.path is None and report.unchanged and not entries:
        entries.append("already in the library (unchanged since it was last fetched)")
    return entries + [html.escape(notice) for notice in item.notices]


def _where(what: str, item: Item) -> str:
    """What failed, unless it is the item itself ('#line 3' for a record of an uploaded file)."""
    if item.path is not None and what.startswith(item.path.resolve().as_posix()):
        what = what[len(item.path.resolve().as_posix()) :]
    elif item.source is not None and what == item.source.url:
        what = ""
    return f"{html.escape(what)} — " if what else ""


def report_markdown(items: Sequence[Item], pipeline: Pipeline) -> str:
    """The per-item report: each item by title or URL with its outcome in words."""
    titles = {record.id: record.title for record in pipeline.store.manifest().values()}
    lines: list[str] = []
    for item in items:
        entries = item_entries(item, titles)
        if len(entries) == 1 and (item.source is None or item.source.kind == "page"):
            joiner = " — " if entries[0].startswith(("failed", "already")) else ": "
            lines.append(f"- {html.escape(item.label)}{joiner}{entries[0]}")
            continue
        lines.append(f"- {html.escape(item.label)}" + (":" if entries else ": nothing found in it"))
        lines += [f"  - {entry}" for entry in entries]
    reports = [item.report for item in items if item.report is not None]
    added, failed = sum(len(r.added) for r in reports), sum(len(r.failures) for r in reports)
    written, seconds = sum(r.chunks_written for r in reports), sum(r.seconds for r in reports)
    head = f"**Added {added} article{'s' * (added != 1)}" + (f", {failed} failed" if failed else "") + "**"
    return "\n".join([f"{head} ({written} passages written in {seconds:.1f} s)", *lines])
