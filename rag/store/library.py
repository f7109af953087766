"""The library: what a collection holds, for people (`rag list/show/remove/stats`, the web Library tab).

Reads the article manifest and each article's first chunk (title, date, source, url) from
the store, filters with `rag.text.dates.QueryFilters`, removes articles through the store's
crash-safe `remove_article`, and says, when a collection is empty, how to fill it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rag.config import Settings
from rag.errors import EmbedderError, UsageError
from rag.models.embedding import configured_model_id
from rag.store.chroma import ChunkStore, Copy
from rag.text.dates import QueryFilters, date_number, parse_filter_date


@dataclass(frozen=True)
class LibraryArticle:
    """One stored article as a person sees it."""

    id: str
    title: str
    date: str
    source: str
    url: str
    chunks: int
    origin: str
    also_published_by: tuple[str, ...] = ()  # other sources of the same (syndicated) story

    def as_json(self) -> dict[str, Any]:
        record = asdict(self)
        record["also_published_by"] = list(self.also_published_by)
        return record


@dataclass(frozen=True)
class LibraryStats:
    collection: str
    articles: int
    chunks: int
    sources: dict[str, int]  # articles per source, most first
    first_date: str
    last_date: str
    embedder: str
    disk_bytes: int | None  # None for a Chroma server (its disk is not ours to measure)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


class _ModelName:
    """The configured embedder's name only: reading a store needs no model (`rag list` loads none)."""

    def __init__(self, model_id: str) -> None:
        self.model_id = model_id

    @property
    def dimension(self) -> int:
        raise EmbedderError("no embedding model is loaded to read the store")

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        raise EmbedderError("no embedding model is loaded to read the store")

    def count_tokens(self, text: str) -> int:
        raise EmbedderError("no embedding model is loaded to read the store")


def open_collection(settings: Settings) -> ChunkStore:
    """The configured collection for reading or removing, without loading the embedding model;
    a missing collection is a `MissingCollection` (exit 2), never created."""
    return ChunkStore.open(settings, _ModelName(configured_model_id(settings)), create=False)


def empty_notice(collection: str) -> str:
    """What to say when a collection holds no articles (the CLI prints it, the chat shows it)."""
    return (
        f"The collection '{collection}' is empty: there is nothing to answer from yet. Add articles with "
        "`rag ingest <files or folders>`, `rag ingest https://…` (a page) or `rag ingest --feed <RSS/Atom URL>`, "
        "or in the web app's Library tab (Add articles)."
    )


def source_names(listed: Sequence[LibraryArticle]) -> list[str]:
    """The sources of `listed` (articles(store)), sorted whatever their case."""
    return sorted({a.source for a in listed if a.source}, key=str.lower)


def articles(store: ChunkStore, filters: QueryFilters | None = None) -> list[LibraryArticle]:
    """The committed articles, newest first (undated last), optionally filtered by date and source."""
    manifest = store.manifest()
    firsts = store.first_chunks()
    found: list[LibraryArticle] = []
    for article_id, record in manifest.items():
        meta = firsts.get(article_id, {})
        if filters and not filters.admits(meta):
            continue
        found.append(
            LibraryArticle(
                id=article_id,
                title=str(meta.get("title", record.title)),
                date=str(meta.get("date", "")),
                source=str(meta.get("source", "")),
                url=str(meta.get("url", "")),
                chunks=record.chunk_count,
                origin=record.origin,
                also_published_by=tuple(s for s in str(meta.get("also_sources", "")).split("\n") if s),
            )
        )
    found.sort(key=lambda a: (date_number(a.date), a.title), reverse=True)
    return found


def search(found: list[LibraryArticle], text: str) -> list[LibraryArticle]:
    """Articles whose title, source, url or id contain every word of `text` (case-insensitive)."""
    words = text.casefold().split()
    return [a for a in found if all(w in f"{a.title} {a.source} {a.url} {a.id}".casefold() for w in words)]


def show(store: ChunkStore, article_id: str) -> tuple[LibraryArticle, str]:
    """An article and its stored text (its chunks joined at their offsets)."""
    record = store.manifest().get(article_id)
    if record is None:
        raise UsageError(f"No article '{article_id}' in collection '{store.name}'; `rag list` shows the ids.")
    chunks = store.article_chunks(article_id)
    meta = chunks[0].metadata if chunks else {}
    text = ""
    for chunk in chunks:  # overlapping chunks: append only what extends past the text so far
        start, end = int(chunk.metadata["start"]), int(chunk.metadata["end"])
        if end > len(text):
            text += chunk.text[max(0, len(text) - start) :] if start <= len(text) else "\n…\n" + chunk.text
    article = LibraryArticle(
        record.id,
        str(meta.get("title", record.title)),
        str(meta.get("date", "")),
        str(meta.get("source", "")),
        str(meta.get("url", "")),
        record.chunk_count,
        record.origin,
        tuple(s for s in str(meta.get("also_sources", "")).split("\n") if s),
    )
    return article, text


def select_for_removal(
    store: ChunkStore, ids: list[str], source: str | None = None, before: str | None = None
) -> list[str]:
    """The ids that `rag remove` would remove: given ids (each must exist), or all of a source, or all before a date."""
    if sum(bool(x) for x in (ids, source, before)) != 1:
        raise UsageError("Give article ids, or --source NAME, or --before DATE (exactly one of them).")
    if ids:
        manifest = store.manifest()
        unknown = [article_id for article_id in ids if article_id not in manifest]
        if unknown:
            raise UsageError(f"No such article(s) in '{store.name}': {', '.join(unknown)}; `rag list` shows the ids.")
        return list(dict.fromkeys(ids))
    if source:
        listed = articles(store)
        (name,) = QueryFilters(sources=(source,)).named_as(source_names(listed), store.name).sources
        return [a.id for a in listed if a.source == name]
    cutoff = date_number(parse_filter_date(before, "Before"))
    return [a.id for a in articles(store) if a.date and date_number(a.date) < cutoff]


def remove(
    store: ChunkStore,
    ids: list[str],
    before_publish: Callable[[int], object] | None = None,
    wait: float = 600.0,
    notice: Callable[[str], None] = print,
) -> list[Copy]:
    """Remove articles (manifest first, then chunks: a crash leaves only sweepable orphans), holding the
    collection's writer lock; returns the re-publications recorded with them (stored again by the next
    ingest of their sources, rag.ingest.run)."""
    if not ids:
        return []
    with store.writing(wait, notice):
        manifest = store.manifest()
        copies = [copy for article_id in ids if article_id in manifest for copy in manifest[article_id].also]
        store.begin_run()
        for article_id in ids:
            store.remove_article(article_id)
        if before_publish is not None:
            before_publish(store.generation() + 1)  # e.g. the BM25 index without them
        store.end_run(changed=True)
    return copies


def stats(store: ChunkStore, data_dir: Path | None) -> LibraryStats:
    found = articles(store)
    dated = sorted(a.date for a in found if a.date)
    sources = Counter(a.source or "(no source)" for a in found)
    disk = None
    if data_dir is not None and data_dir.exists():
        disk = sum(path.stat().st_size for path in data_dir.rglob("*") if path.is_file())
    return LibraryStats(
        collection=store.name,
        articles=len(found),
        chunks=store.chunk_count(),
        sources=dict(sources.most_common()),
        first_date=dated[0] if dated else "",
        last_date=dated[-1] if dated else "",
        embedder=store.model_id,
        disk_bytes=disk,
    )
