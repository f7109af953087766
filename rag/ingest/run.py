"""Incremental ingest: files -> articles -> chunks -> embeddings -> store.

Unchanged articles (same content hash as committed) are skipped; new and changed ones
are chunked and embedded in batches, their chunks written, then committed, then their
old chunks deleted (see rag.store.chroma). Identity does not depend on location (rag.ingest.identity):
an article found under a new path is relocated, not stored again; the same text under two
names is stored once. With `sync`, committed articles whose file is gone from a given
folder are removed; articles of files that failed to load are kept.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from tqdm import tqdm

from rag.ingest.article import Article, LoadFailure
from rag.ingest.chunking import TextChunk, chunk_text
from rag.ingest.files import LoadOptions, discover, load_file
from rag.ingest.identity import canonical_url
from rag.ingest.syndication import THRESHOLD, SyndicationIndex, decode, encode, minhash
from rag.ingest.web.sources import Harvest
from rag.models.embedding import CachedEmbedder, Embedder
from rag.store.chroma import ArticleRecord, ChunkStore, Copy
from rag.text.dates import date_number

FLUSH_CHUNKS = 256  # chunks embedded and written together


@dataclass(frozen=True)
class IngestOptions:
    load: LoadOptions = field(default_factory=LoadOptions)
    chunk_tokens: int = 200
    chunk_overlap: int = 40
    sync: bool = False
    syndication_threshold: float = THRESHOLD


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0
    removed: list[str] = field(default_factory=list)
    relocated: list[str] = field(default_factory=list)  # stored articles found at a new path (moved or renamed)
    duplicates: list[tuple[str, str]] = field(default_factory=list)  # (origin, id of the stored same text)
    syndicated: list[tuple[str, str]] = field(default_factory=list)  # (copy's id, id of the stored story)
    failures: list[LoadFailure] = field(default_factory=list)
    chunks_written: int = 0
    embedded: int = 0  # chunks the model embedded (the rest came from the embedding cache)
    swept: int = 0
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed or self.swept or self.relocated or self.syndicated)

    def summary(self) -> str:
        return (
            f"added {len(self.added)}, updated {len(self.updated)}, unchanged {self.unchanged}, "
            f"removed {len(self.removed)}, failed {len(self.failures)}, "
            f"moved {len(self.relocated)}, duplicates {len(self.duplicates)}, re-publications {len(self.syndicated)}, "
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
        self,
        store: ChunkStore,
        embedder: Embedder,
        report: IngestReport,
        signatures: dict[str, str],
        on_flush: Callable[[int], Any],
    ) -> None:
        self.store, self.embedder, self.report, self.on_flush = store, embedder, report, on_flush
        self.signatures = signatures
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
            [
                ArticleRecord(
                    a.id,
                    a.content_hash,
                    a.origin,
                    a.title,
                    len(chunks),
                    a.text_hash,
                    self.signatures.get(a.id, ""),
                    chunk_ids=tuple(chunk_id(a, index) for index in range(len(chunks))),
                )
                for a, chunks, _ in self.pending
            ]
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
    web: Harvest | None = None,
) -> IngestReport:
    """Bring the store in line with the articles under `paths` (and those fetched from the web,
    see rag.ingest.web.sources); never raises for bad files or pages."""
    started = time.perf_counter()
    report = IngestReport()
    misses = embedder.misses
    files, report.failures = discover(paths)
    report.swept = store.begin_run()
    plan = _Plan(store.manifest(), report)
    for path in tqdm(files, desc="reading", unit="file", disable=not progress or len(files) < 2):
        articles, failures = load_file(path, options.load)
        report.failures.extend(failures)
        for article in articles:
            plan.place(article)
    if web is not None:
        report.failures.extend(web.failures)
        report.unchanged += web.unchanged
        for article in web.articles:
            plan.place(article, local=False)
        plan.keep(web.kept)
    store.relocate(plan.moved)
    _store_articles(plan.todo(), plan.committed, store, embedder, options, report, progress)
    for stale in plan.superseded():
        store.remove_article(stale)  # an edited file's previous text, replaced by the version just stored
    if options.sync:
        report.removed = _remove_vanished(paths, store, plan.committed, plan.seen, report.failures)
        for feed in web.synced_feeds if web is not None else []:  # entries gone from a feed read in full
            for record in plan.committed.values():
                if record.origin == feed and record.id not in plan.seen:
                    store.remove_article(record.id)
                    report.removed.append(record.id)
    store.end_run(report.changed, before_publish)  # e.g. build the BM25 index readers of the new generation need
    report.embedded = embedder.misses - misses
    report.seconds = time.perf_counter() - started
    return report


class _Plan:
    """Decides, article by article, what a run does: skip, store, relocate, or drop a duplicate.

    The same text is the same article: found under a new path it is relocated (its manifest
    origin updated, nothing re-embedded); found under a second name it is stored once.
    """

    def __init__(self, committed: dict[str, ArticleRecord], report: IngestReport) -> None:
        self.committed, self.report = committed, report
        self.by_text = {record.text_hash: record for record in committed.values() if record.text_hash}
        self.seen: dict[str, str] = {}  # article id -> origin, of every article accounted for
        self.seen_texts: dict[str, str] = {}  # text hash -> article id
        self.moved: list[ArticleRecord] = []
        self.new: list[Article] = []
        self.loaded_origins: set[str] = set()  # files that yielded articles this run
        self.single_origins: set[str] = set()  # single-article files among them
        # stores built before canonical URLs: an article whose id was its URL as written
        self.by_canonical = {canonical_url(r.id): r for r in committed.values() if canonical_url(r.id) != r.id}
        self.replaced: set[str] = set()
        self.copies = {copy.id: record.id for record in committed.values() for copy in record.also}

    def place(self, article: Article, local: bool = True) -> None:
        """`local`: from a file (a web article's origin is its page or feed URL)."""
        if local:
            self.loaded_origins.add(article.origin)
            if article.origin.rsplit(".", 1)[-1].lower() not in ("json", "jsonl", "csv"):
                self.single_origins.add(article.origin)
        twin_id = self.seen_texts.get(article.text_hash)
        if twin_id is not None:  # the same text under another name (or twice) in this run
            self.report.duplicates.append((article.origin, twin_id))
            return
        if article.id in self.seen:
            self.report.failures.append(
                LoadFailure(
                    article.origin, f"duplicate article id {article.id} (also in {self.seen[article.id]}); skipped"
                )
            )
            return
        previous = self.committed.get(article.id)
        if previous is None and article.id in self.copies:  # a re-publication already recorded with its story
            self.seen[article.id] = article.origin
            self.report.unchanged += 1
            return
        legacy = self.by_canonical.get(article.id) if previous is None else None
        if legacy is not None and legacy.id not in self.seen:
            self.replaced.add(legacy.id)  # stored under its URL as written: replaced under the canonical id
        elif previous is None:
            twin = self.by_text.get(article.text_hash)
            if twin is not None and twin.id not in self.seen:
                previous = twin  # stored under another id: keep that one
            elif twin is not None:
                self.report.duplicates.append((article.origin, twin.id))
                return
        self.seen_texts[article.text_hash] = previous.id if previous else article.id
        if previous is None:
            self.seen[article.id] = article.origin
            self.new.append(article)
        elif previous.content_hash == article.content_hash or previous.text_hash == article.text_hash:
            self.seen[previous.id] = article.origin
            self.report.unchanged += 1
            gone = local and not Path(previous.origin).exists()
            if previous.origin != article.origin and (previous.id == article.id or gone):
                self._move(previous, article.origin)
            elif previous.id != article.id:
                self.report.duplicates.append((article.origin, previous.id))
        else:
            self.seen[article.id] = article.origin
            self.new.append(article)

    def keep(self, ids: list[str]) -> None:
        """Stored articles not seen this run that must stay (unchanged or failed web pages)."""
        for article_id in ids:
            if article_id in self.committed and article_id not in self.seen:
                self.seen[article_id] = self.committed[article_id].origin

    def _move(self, record: ArticleRecord, origin: str) -> None:
        moved = replace(record, origin=origin)
        self.committed[record.id] = moved
        self.moved.append(moved)
        self.report.relocated.append(record.id)

    def superseded(self) -> list[str]:
        """Committed articles replaced by a version stored this run: the previous text of a
        single-article file, or an id given by an older version of this program (the file's
        path, a record's position, a URL as written)."""
        return [
            record.id
            for record in self.committed.values()
            if record.id not in self.seen
            and (
                record.id in self.replaced
                or record.origin in self.single_origins
                or (record.origin in self.loaded_origins and record.id.startswith(record.origin + "#"))
            )
        ]

    def todo(self) -> list[tuple[Article, bool]]:
        """New and changed articles, and whether each replaces a stored version."""
        stale = self.superseded()
        replaced_origins = {self.committed[old].origin for old in stale}
        by_url = {canonical_url(old) for old in stale}
        return [(a, a.id in self.committed or a.origin in replaced_origins or a.id in by_url) for a in self.new]


def _store_articles(
    todo: list[tuple[Article, bool]],
    committed: dict[str, ArticleRecord],
    store: ChunkStore,
    embedder: Embedder,
    options: IngestOptions,
    report: IngestReport,
    progress: bool,
) -> None:
    """Chunk, embed and store new and changed articles; a re-publication of a stored story
    (rag.ingest.syndication) is not stored again but recorded with it."""
    index = SyndicationIndex(options.syndication_threshold)
    for record in committed.values():
        known = decode(record.signature) if record.signature else None
        if known is not None:
            index.add(record.id, known)
    copies: dict[str, list[Copy]] = {}
    originals: list[tuple[Article, bool]] = []
    signatures: dict[str, str] = {}
    for article, is_update in todo:
        signature = minhash(article.text)
        story = None if is_update else index.match(signature, exclude=article.id)
        if story is not None:
            copies.setdefault(story, []).append(Copy(article.id, article.source, article.url))
            report.syndicated.append((article.id, story))
            continue
        index.add(article.id, signature)
        signatures[article.id] = encode(signature)
        originals.append((article, is_update))
    todo = originals
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
        batcher = _Batcher(store, embedder, report, signatures, on_flush=bar.update)
        for article, chunks, is_update in chunked:
            batcher.add(article, chunks, is_update)
        batcher.flush()
    for story, found in copies.items():
        store.add_copies(story, found)


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
