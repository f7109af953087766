"""Incremental ingest: files -> articles -> chunks -> embeddings -> store.

Unchanged articles (same content hash as committed) are skipped; new and changed ones
are chunked and embedded in batches, their chunks written, then committed, then their
old chunks deleted (see rag.store). With `sync`, committed articles whose file is gone
from a given folder are removed; articles of files that failed to load are kept.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from rag.chunking import TextChunk, chunk_text
from rag.dates import date_number
from rag.embedding import CachedEmbedder, Embedder
from rag.loading import Article, LoadFailure, LoadOptions, discover, load_file
from rag.store import ArticleRecord, ChunkStore

FLUSH_CHUNKS = 256  # chunks embedded and written together


@dataclass(frozen=True)
class IngestOptions:
    load: LoadOptions = field(default_factory=LoadOptions)
    chunk_tokens: int = 200
    chunk_overlap: int = 40
    sync: bool = False


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0
    removed: list[str] = field(default_factory=list)
    failures: list[LoadFailure] = field(default_factory=list)
    chunks_written: int = 0
    embedded: int = 0  # chunks the model embedded (the rest came from the embedding cache)
    swept: int = 0
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed or self.swept)

    def summary(self) -> str:
        return (
            f"added {len(self.added)}, updated {len(self.updated)}, unchanged {self.unchanged}, "
            f"removed {len(self.removed)}, failed {len(self.failures)}, "
            f"chunks written {self.chunks_written} ({self.embedded} embedded, the rest cached) in {self.seconds:.1f} s"
        )


def chunk_id(article: Article, index: int) -> str:
    article_key = hashlib.sha1(article.id.encode("utf-8")).hexdigest()[:16]
    return f"{article_key}:{article.content_hash[:12]}:{index}"


def chunk_metadata(article: Article, index: int, chunk: TextChunk) -> dict[str, Any]:
    return {
        "article_id": article.id,
        "article_hash": article.content_hash,
        "chunk_index": index,
        "start": chunk.start,
        "end": chunk.end,
        "title": article.title,
        "date": article.date,
        "date_num": date_number(article.date),
        "source": article.source,
        "url": article.url,
    }


class _Batcher:
    """Collects chunked articles and writes them to the store FLUSH_CHUNKS at a time."""

    def __init__(
        self, store: ChunkStore, embedder: Embedder, report: IngestReport, on_flush: Callable[[int], Any]
    ) -> None:
        self.store, self.embedder, self.report, self.on_flush = store, embedder, report, on_flush
        self.pending: list[tuple[Article, list[TextChunk], bool]] = []

    def add(self, article: Article, chunks: list[TextChunk], is_update: bool) -> None:
        self.pending.append((article, chunks, is_update))
        if sum(len(chunks) for _, chunks, _ in self.pending) >= FLUSH_CHUNKS:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        ids: list[str] = []
        texts: list[str] = []
        metadatas: list[dict[str, Any]] = []
        for article, chunks, _ in self.pending:
            for index, chunk in enumerate(chunks):
                ids.append(chunk_id(article, index))
                texts.append(chunk.text)
                metadatas.append(chunk_metadata(article, index, chunk))
        self.store.write_chunks(ids, texts, self.embedder.embed(texts), metadatas)
        self.store.commit_articles(
            [ArticleRecord(a.id, a.content_hash, a.origin, a.title, len(chunks)) for a, chunks, _ in self.pending]
        )
        for article, _, is_update in self.pending:
            (self.report.updated if is_update else self.report.added).append(article.id)
        self.report.chunks_written += len(ids)
        self.pending = []
        self.on_flush(len(ids))


def ingest(
    paths: Sequence[Path],
    store: ChunkStore,
    embedder: CachedEmbedder,
    options: IngestOptions,
    progress: bool = True,
    before_publish: Callable[[int], None] | None = None,
) -> IngestReport:
    """Bring the store in line with the articles under `paths`; never raises for bad files."""
    started = time.perf_counter()
    report = IngestReport()
    misses = embedder.misses
    files, report.failures = discover(paths)
    report.swept = store.begin_run()
    committed = store.manifest()
    seen: dict[str, str] = {}  # article id -> origin
    todo: list[tuple[Article, bool]] = []  # new or changed articles, and whether they replace a version
    for path in tqdm(files, desc="reading", unit="file", disable=not progress or len(files) < 2):
        articles, failures = load_file(path, options.load)
        report.failures.extend(failures)
        for article in articles:
            if article.id in seen:
                report.failures.append(
                    LoadFailure(
                        article.origin, f"duplicate article id {article.id} (also in {seen[article.id]}); skipped"
                    )
                )
                continue
            seen[article.id] = article.origin
            previous = committed.get(article.id)
            if previous is not None and previous.content_hash == article.content_hash:
                report.unchanged += 1
            else:
                todo.append((article, previous is not None))
    chunked = [
        (
            article,
            chunk_text(article.text, embedder.count_tokens, options.chunk_tokens, options.chunk_overlap),
            is_update,
        )
        for article, is_update in todo
    ]
    total = sum(len(chunks) for _, chunks, _ in chunked)
    with tqdm(total=total, desc="embedding", unit="chunk", disable=not progress or total == 0) as bar:
        batcher = _Batcher(store, embedder, report, on_flush=bar.update)
        for article, chunks, is_update in chunked:
            batcher.add(article, chunks, is_update)
        batcher.flush()
    if options.sync:
        report.removed = _remove_vanished(paths, store, committed, seen, report.failures)
    store.end_run(report.changed, before_publish)  # e.g. build the BM25 index readers of the new generation need
    report.embedded = embedder.misses - misses
    report.seconds = time.perf_counter() - started
    return report


def _remove_vanished(
    paths: Sequence[Path],
    store: ChunkStore,
    committed: dict[str, ArticleRecord],
    seen: dict[str, str],
    failures: Sequence[LoadFailure],
) -> list[str]:
    roots = [path.resolve().as_posix() for path in paths]
    failed_files = {failure.path.split("#", 1)[0] for failure in failures}
    removed: list[str] = []
    for record in committed.values():
        under_root = any(record.origin == root or record.origin.startswith(root + "/") for root in roots)
        if under_root and record.id not in seen and record.origin not in failed_files:
            store.remove_article(record.id)
            removed.append(record.id)
    return removed
