"""Vector store: chunks and the article manifest of one corpus in Chroma, embedded or on a server.

The package's modules talk to chromadb; this one puts them together. `ChunkStore` keeps two
collections:

* `<name>`: one record per chunk (rag.store.chunks);
* `<name>__articles`: the manifest, one record per *committed* article (rag.store.manifest),
  plus one state record (rag.store.generations: run-in-progress flag and generation counter).

An article is committed only after all its chunks are written, and its old chunks are
deleted only after that, so a crash at any point leaves either the old or the new
version answerable. Chunks not covered by the manifest (left by a crash) are swept at
the start of the next run. The manifest holds each article's chunk ids, so replacing or
removing an article deletes its chunks by id (records written before it fall back on a
metadata scan once). A run remembers which articles it changed (`run_changes`), so what
follows the store (the lexical index) can apply just those. A writer keeps the manifest it
read up to date with its own writes and saves it when it publishes (rag.store.manifest_cache),
so the next run does not scan the manifest collection again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from rag.config import Settings
from rag.errors import ConfigurationError
from rag.models.embedding import Embedder
from rag.store import manifest_cache, writer
from rag.store.chunks import ChunkRecord, Chunks
from rag.store.connection import Connection, Handles, collection_names, connect, require_collection
from rag.store.embedding_function import ChromaEmbeddingFunction
from rag.store.generations import RunState
from rag.store.manifest import STATE_ID, ArticleRecord, Copy, Manifest

__all__ = [
    "STATE_ID",
    "ArticleRecord",
    "ChromaEmbeddingFunction",
    "ChunkRecord",
    "ChunkStore",
    "Connection",
    "Copy",
    "collection_names",
    "connect",
    "require_collection",
]


class ChunkStore:
    """Chunks plus manifest of one corpus; the same code for embedded and server Chroma."""

    def __init__(self, connection: Connection, name: str, embedder: Embedder, cache: Path | None = None) -> None:
        """`cache`: where a writer saves the manifest of the generation it publishes (None: never saved)."""
        self.name = name
        self.model_id = embedder.model_id
        self._connection = connection
        handles = Handles(connection, name, embedder)
        built_with = (handles.chunks().metadata or {}).get("embedder")
        if built_with != embedder.model_id:
            raise ConfigurationError(
                f"Collection '{name}' was built with embedder '{built_with}', not '{embedder.model_id}'. "
                f"Set RAG_EMBEDDER to match it, or choose another RAG_COLLECTION."
            )
        self.identity = str(handles.chunks().id)  # the chunk collection's id: the same for every client of it
        batch = connection.client.get_max_batch_size()
        self.chunks = Chunks(handles.chunks, connection, batch)
        self.articles = Manifest(handles.manifest, batch)
        self.state = RunState(handles.manifest)
        self._seen_generation = self.generation()
        self._changes: set[str] | None = None  # articles changed by this process's run; None: not known
        self._unpublished = False  # the previous run crashed after changing the store, maybe
        self._cache = cache
        self._in_run = False
        self._cache_key: manifest_cache.CacheKey | None = None  # what a saved manifest must match now
        self._tracked: dict[str, ArticleRecord] | None = None  # the whole manifest, kept up to date in a run
        self._unsaved = False  # the run's copy differs from the saved one (it was scanned, or written to)

    @classmethod
    def open(cls, settings: Settings, embedder: Embedder, create: bool = True) -> ChunkStore:
        """The store of `settings.collection`; with `create=False` a missing collection is a `MissingCollection`."""
        connection = connect(settings)
        if not create:
            require_collection(connection, settings)
        cache = settings.data_dir / "manifest" / f"{settings.collection}.json"
        return cls(connection, settings.collection, embedder, cache)

    def refresh(self) -> int:
        """Notice another process's ingest (reopening an embedded store); returns the generation."""
        generation = self.generation()
        if generation != self._seen_generation:
            if self._connection.embedded:
                self._connection.reopen()
            self._seen_generation = generation
        return generation

    @contextmanager
    def writing(self, wait: float, notice: Callable[[str], None]) -> Iterator[None]:
        """The collection's writer lock (rag.store.writer): one ingest or removal at a time. A run's copy of
        the manifest lives only while it is held (a run that failed leaves none behind)."""
        lock: AbstractContextManager[None]
        if self._connection.folder is not None:
            lock = writer.file_lock(self._connection.folder / "locks", self.name, wait, notice)
        else:
            lock = writer.server_lock(self._connection.client, self.name, wait, notice)
        with lock:
            try:
                yield
            finally:
                self._in_run, self._tracked, self._cache_key = False, None, None

    # --- run state ----------------------------------------------------------------------
    def generation(self) -> int:
        """Changes whenever an ingest run changed the store: readers use it to refresh caches."""
        return self.state.generation()

    def begin_run(self) -> int:
        """Mark a run as started; if the previous one never finished, sweep what it left. Returns chunks swept."""
        crashed, swept = self.state.start(self.sweep_orphans)
        self._changes = None if crashed else set()  # a crashed run's changes are not known
        self._unpublished = crashed  # and what it committed was never published: this run publishes it
        self._in_run, self._tracked, self._unsaved = True, None, False
        self._cache_key = (
            None
            if crashed or self._cache is None
            else manifest_cache.CacheKey(self.identity, self.generation(), self.articles.count())
        )
        return swept

    def run_changes(self) -> frozenset[str] | None:
        """Ids of the articles committed or removed since `begin_run` in this process; None when that is not
        the whole change since the last published generation (the previous run crashed, or no run began)."""
        return None if self._changes is None else frozenset(self._changes)

    def end_run(self, changed: bool, before_publish: Callable[[int], None] | None = None) -> int:
        """Mark the run finished; if it (or a crashed run before it) changed the store, publish the next
        generation. Returns the generation.

        `before_publish(generation)` runs first when there is a new generation, so what readers of it
        need (e.g. the BM25 index) is ready when they see it.
        """
        self._seen_generation = self.state.finish(changed or self._unpublished, before_publish)
        self._changes, self._unpublished = None, False
        if self._tracked is not None and self._cache is not None and self._unsaved:
            key = manifest_cache.CacheKey(self.identity, self._seen_generation, len(self._tracked))
            manifest_cache.save(self._cache, key, self._tracked)
        self._in_run, self._tracked, self._cache_key = False, None, None
        return self._seen_generation

    def sweep_orphans(self) -> int:
        """Delete chunks whose (article, hash) is not committed in the manifest."""
        orphans = self.chunks.orphans({record.id: record.content_hash for record in self.manifest().values()})
        self.chunks.delete(orphans)
        return len(orphans)

    # --- writing -----------------------------------------------------------------------
    def write_chunks(
        self, ids: Sequence[str], texts: Sequence[str], embeddings: np.ndarray, metadatas: Sequence[dict[str, Any]]
    ) -> None:
        self.chunks.write(ids, texts, embeddings, metadatas)

    def commit_articles(self, records: Sequence[ArticleRecord]) -> None:
        """Record articles as committed, then delete their chunks of any other version (by the chunk ids
        the manifest held for them: no scan)."""
        previous = self.articles.get_many([record.id for record in records])
        self._write_manifest(records)
        stale: list[str] = []
        unknown: dict[str, str] = {}  # records written before the manifest held chunk ids
        for record in records:
            old = previous.get(record.id)
            if old is None or old.content_hash == record.content_hash:
                continue  # new (a crashed run's leftovers are swept), or the same version: the same chunks
            if old.chunk_ids:
                kept = set(record.chunk_ids)
                stale += [chunk_id for chunk_id in old.chunk_ids if chunk_id not in kept]
            else:
                unknown[record.id] = record.content_hash
        if unknown:
            stale += self.chunks.other_versions(unknown)
        self.chunks.delete(stale)
        self._changed(record.id for record in records)

    def relocate(self, records: Sequence[ArticleRecord]) -> None:
        """Record where committed articles are now found (a moved or renamed file); chunks stay as they are."""
        self._write_manifest(records)

    def add_copies(self, article_id: str, copies: Sequence[Copy]) -> None:
        """Record re-publications of a stored story: in its manifest record and on its chunks
        (`also_sources`, `also_urls`: newline-separated, for citation cards)."""
        record = self.articles.get(article_id)
        if record is None:
            return
        merged = tuple({copy.id: copy for copy in (*record.also, *copies)}.values())
        self._write_manifest([replace(record, also=merged)])
        sources = [source for source in dict.fromkeys(copy.source for copy in merged) if source]
        urls = [url for url in dict.fromkeys(copy.url for copy in merged) if url]
        self.chunks.set_copies(self._chunks_of(record), sources, urls)

    def remove_article(self, article_id: str) -> None:
        """Forget an article: manifest first (so a crash leaves only sweepable orphans), then chunks."""
        record = self.articles.get(article_id)
        self.articles.delete(article_id)
        self._track([], removed=article_id)
        if record is not None and record.chunk_ids:
            self.chunks.delete(record.chunk_ids)
        else:
            self.chunks.delete_article(article_id)
        self._changed([article_id])

    def _write_manifest(self, records: Sequence[ArticleRecord]) -> None:
        self.articles.write(records)
        self._track(records)

    def _track(self, records: Sequence[ArticleRecord], removed: str | None = None) -> None:
        """Keep this run's copy of the manifest in line with a write (a saved copy no longer matches)."""
        self._cache_key, self._unsaved = None, True
        if self._tracked is not None:
            self._tracked.update((record.id, record) for record in records)
            if removed is not None:
                self._tracked.pop(removed, None)

    def _changed(self, article_ids: Iterable[str]) -> None:
        if self._changes is not None:
            self._changes.update(article_ids)

    def _chunks_of(self, record: ArticleRecord) -> list[ChunkRecord]:
        """A committed article's chunks, by the ids its record holds (a scan for older records)."""
        return self.chunks.read(record.chunk_ids) if record.chunk_ids else self.chunks.of_article(record.id)

    # --- reading -------------------------------------------------------------------------
    def manifest(self) -> dict[str, ArticleRecord]:
        """Every committed article. In a run: the manifest saved by the last run when it still matches the
        store (rag.store.manifest_cache), else a scan; then this run's copy, kept up to date with its writes."""
        if self._tracked is not None:
            return dict(self._tracked)
        records = None
        if self._cache is not None and self._cache_key is not None:
            records = manifest_cache.load(self._cache, self._cache_key)
        if records is None:
            records, self._unsaved = self.articles.all(), True
        if self._in_run:
            self._tracked = dict(records)
        return records

    def manifest_record(self, article_id: str) -> ArticleRecord | None:
        return self.articles.get(article_id)

    def manifest_records(self, article_ids: Sequence[str]) -> dict[str, ArticleRecord]:
        """The records of those of `article_ids` that are committed."""
        return self.articles.get_many(article_ids)

    def query(
        self, embedding: np.ndarray, k: int, where: dict[str, Any] | None = None
    ) -> list[tuple[ChunkRecord, float]]:
        """Nearest chunks with cosine similarity (1 - distance), best first."""
        return self.chunks.query(embedding, k, where)

    def iter_chunks(self) -> Iterator[ChunkRecord]:
        """Every chunk with its text and metadata, in pages."""
        return self.chunks.iter()

    def get_chunks(self, ids: Sequence[str]) -> list[tuple[ChunkRecord, np.ndarray]]:
        """The chunks with these ids (those that exist, in the order asked) and their embeddings."""
        return self.chunks.get(ids)

    def first_chunks(self, article_ids: Sequence[str] | None = None) -> dict[str, dict[str, Any]]:
        """Metadata of each article's first chunk (title, date, source, url ...), by article id."""
        return self.chunks.first_chunks(article_ids)

    def article_chunks(self, article_id: str) -> list[ChunkRecord]:
        """Every chunk of one article, in text order (to show the whole article)."""
        record = self.articles.get(article_id)
        chunks = self._chunks_of(record) if record is not None else self.chunks.of_article(article_id)
        return sorted(chunks, key=lambda chunk: int(chunk.metadata["start"]))

    def read_chunks(self, ids: Sequence[str]) -> list[ChunkRecord]:
        """The chunks with these ids that exist, without embeddings (e.g. to index their text)."""
        return self.chunks.read(ids)

    def collection_names(self) -> list[str]:
        """Chunk collections of this client (manifest collections left out)."""
        return collection_names(self._connection.client)

    def chunk_count(self) -> int:
        return self.chunks.count()

    def article_count(self) -> int:
        return self.articles.count()
