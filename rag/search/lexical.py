"""Lexical index: BM25 over every chunk of a store, kept up to date article by article (tantivy).

The index is a tantivy index under `RAG_DATA_DIR/bm25/<collection>/tantivy-v3/` (what a
chunk is in it: rag.search.lexical_schema). tantivy, not hand-written code, because it
already does what the index needs: BM25 over an on-disk inverted index in segments, deletes
by term, atomic commits, one writer and any number of readers in any processes. (Before it,
bm25s rebuilt the whole index from every chunk whenever anything changed.)

The generation protocol. The ingest calls `prepare(store, generation)` before the store
publishes that generation: it applies the articles the run changed (or, when the index is
not at the previous generation, whatever differs from the manifest: rag.search.lexical_sync)
and records the generation, in one commit, so a crash leaves the index as it was. A reader
(`refresh`, before every search) notices a new store generation, reloads its searcher — it
opens the new segments, no rebuild — and, only when the index is behind the store (nobody
prepared it: another machine's ingest, a dense-mode ingest), catches up itself the same way.
A searcher is a snapshot: a question is answered from one commit, never from half a change.
The bm25s folders of format 2 (`v2-gen-N`) are removed once the index has been built.

`LexicalScores` is one question's BM25 query: its best chunks, optionally within a source or
a period (the masks the retriever's hints use) and within the hard filters.
"""

from __future__ import annotations

import hashlib
import shutil
import threading
import time
from collections import Counter
from collections.abc import Collection
from pathlib import Path
from typing import Any

import tantivy

from rag.errors import StoreError
from rag.search.hints import QueryHints
from rag.search.lexical_schema import ANALYZER, FORMAT, STATE_ID, analyzer, hit_metadata, schema
from rag.search.lexical_sync import Delta, apply, full_delta, run_delta
from rag.store.chroma import ChunkStore
from rag.text.dates import QueryFilters, date_number, end_of_period
from rag.text.terms import STOPWORDS

LOCK_WAIT = 300.0  # seconds an ingest waits for another process that is writing the index
WRITER_HEAP = 64_000_000  # bytes of indexing buffer (tantivy flushes a segment when it is full)
Occur = tantivy.Occur
Query = tantivy.Query


class Mask:
    """Chunks of one source or period: a tantivy query that restricts `LexicalScores.top`."""

    def __init__(self, query: tantivy.Query) -> None:
        self.query = query


class LexicalScores:
    """One question's BM25 query over a snapshot of the index."""

    def __init__(self, searcher: tantivy.Searcher, query: tantivy.Query, sources: list[str]) -> None:
        self._searcher, self._query, self._sources = searcher, query, sources
        self._schema = schema()
        self._scores: dict[str, float] = {}
        self._meta: dict[str, dict[str, Any]] = {}

    def top(self, k: int, mask: Mask | None = None) -> list[tuple[str, float]]:
        """Best `k` (chunk id, score) pairs among the chunks holding a query word, within `mask` if given."""
        if k <= 0:
            return []
        hits = self._searcher.search(_within(self._query, mask.query if mask else None), k, count=False).hits
        found = []
        for score, address in hits:
            document = self._searcher.doc(address)
            chunk_id = str(document.get_first("chunk_id"))
            self._scores[chunk_id], self._meta[chunk_id] = float(score), hit_metadata(document)
            found.append((chunk_id, float(score)))
        return found

    def score_of(self, chunk_id: str) -> float:
        """The chunk's BM25 score (0.0 when it holds no query word)."""
        if chunk_id not in self._scores:
            only = Query.term_query(self._schema, "chunk_id", chunk_id)
            hits = self._searcher.search(_within(self._query, only), 1, count=False).hits
            self._scores[chunk_id] = float(hits[0][0]) if hits else 0.0
        return self._scores[chunk_id]

    def meta_of(self, chunk_id: str) -> dict[str, Any] | None:
        """Source, date_num and article id of a chunk `top` returned."""
        return self._meta.get(chunk_id)

    def source_mask(self, source: str) -> Mask | None:
        if source not in self._sources:
            return None
        return Mask(Query.term_query(self._schema, "source", source))

    def date_mask(self, hints: QueryHints) -> Mask | None:
        """Chunks published within the dates the question names (a day without a year: that day in any year)."""
        if not hints.dates:
            return None
        spans = [
            _range(self._schema, "monthday", span.start % 10_000, span.end % 10_000)
            if span.any_year
            else _range(self._schema, "date_num", span.start, span.end)
            for span in hints.dates
        ]
        dated = _range(self._schema, "date_num", 1, None)
        return Mask(Query.boolean_query([(Occur.Must, _any(spans)), (Occur.Must, dated)]))


class Bm25Index:
    """BM25 over every chunk of a store, on disk under `directory`, following the store's generations.

    A chunk is indexed with its article's title in front (`titles=False`: text only), so
    a question naming an article's subject finds all of its chunks.
    """

    def __init__(self, directory: Path, titles: bool = True, stopwords: Collection[str] = STOPWORDS) -> None:
        self.directory, self.titles = directory, titles
        words = "" if set(stopwords) == STOPWORDS else "-" + _digest(sorted(stopwords))  # another analyzer
        self.path = directory / f"tantivy-v{FORMAT}{'' if titles else '-text'}{words}"
        self._schema, self._analyzer = schema(), analyzer(stopwords)
        self._lock = threading.RLock()
        self._index: tantivy.Index | None = None
        self._searcher: tantivy.Searcher | None = None
        self._seen: int | None = None  # the store generation this reader has followed
        self._sources: list[str] = []
        self.last_delta: Delta | None = None  # what this process's last update applied

    # --- writing -------------------------------------------------------------------------
    def prepare(self, store: ChunkStore, generation: int) -> None:
        """Bring the index in line with the store's articles and record `generation` (one commit).

        An ingest calls this before it publishes the generation, so readers find it ready. It waits
        for another process that is writing the index (a reader catching up) for up to LOCK_WAIT s.
        """
        with self._lock:
            self._update(store, generation, LOCK_WAIT)

    def _update(self, store: ChunkStore, generation: int, wait: float) -> bool:
        """Apply what changed; False when another process holds the writer and `wait` ran out."""
        index = self._open()
        writer = _writer(index, wait, self.path)
        if writer is None:
            return False
        try:
            index.reload()
            searcher = index.searcher()
            changes = store.run_changes()
            if changes is not None and _generation(searcher) == (generation - 1, store.identity):
                delta = run_delta(store, changes)
            else:
                delta = full_delta(store, searcher)
            apply(writer, store, delta, self.titles, generation, store.identity)
            writer.wait_merging_threads()
        except BaseException:
            writer.rollback()
            writer = None  # let go of the lock now: a traceback keeps this frame's locals alive
            raise
        self.last_delta = delta
        index.reload()
        self._remove_old_formats()
        return True

    def _open(self) -> tantivy.Index:
        if self._index is None:
            self.path.mkdir(parents=True, exist_ok=True)
            index = tantivy.Index(self._schema, path=str(self.path), reuse=True)
            index.register_tokenizer(ANALYZER, self._analyzer)
            index.config_reader(reload_policy="manual")
            self._index = index
        return self._index

    def _remove_old_formats(self) -> None:
        """The bm25s indexes of format 2 (`v2-gen-N`, `v2-text-gen-N`, their staging folders)."""
        for path in self.directory.glob("v*-gen-*"):
            shutil.rmtree(path, ignore_errors=True)

    # --- reading -------------------------------------------------------------------------
    def refresh(self, store: ChunkStore) -> None:
        """Follow the store: on a new generation, open the index's new segments; catch up if it is behind."""
        generation = store.refresh()
        with self._lock:
            if generation == self._seen:
                return
            index = self._open()
            index.reload()
            indexed, identity = _generation(index.searcher())
            caught_up = True
            if identity != store.identity or indexed < generation:  # behind (or never built): catch up now
                caught_up = self._update(store, generation, wait=0.0)
            self._searcher = index.searcher()
            found = self._searcher.aggregate(Query.all_query(), {"s": {"terms": {"field": "source", "size": 1 << 20}}})
            self._sources = sorted(str(bucket["key"]) for bucket in found["s"]["buckets"])
            if caught_up:  # else another process is writing the index: search what is there, look again next time
                self._seen = generation

    @property
    def sources(self) -> list[str]:
        """The non-empty sources of the indexed chunks, sorted."""
        with self._lock:
            return [name for name in self._sources if name]

    def scores(self, query: str, filters: QueryFilters = QueryFilters()) -> LexicalScores | None:
        """The question's BM25 query; None when the index or the question (after stop words) is empty."""
        with self._lock:
            searcher, sources = self._searcher, self._sources
        terms = Counter(self._analyzer.analyze(query))
        if searcher is None or searcher.num_docs <= 1 or not terms:
            return None
        words = _any(
            [
                Query.boost_query(Query.term_query(self._schema, "body", term), float(count))
                for term, count in terms.items()
            ]
        )
        return LexicalScores(searcher, _within(words, _filter_query(self._schema, filters)), sources)

    def mentions(self, name: str) -> bool:
        """Whether some chunk holds every word of `name` (stop words aside); True when nothing is indexed."""
        with self._lock:
            searcher = self._searcher
        words = [self._analyzer.analyze(word) for word in name.split()]
        clauses = [
            (Occur.Must, _any([Query.term_query(self._schema, "body", t) for t in terms])) for terms in words if terms
        ]
        if searcher is None or searcher.num_docs <= 1 or not clauses:
            return True
        return bool(searcher.search(Query.boolean_query(clauses), 1, count=False).hits)


# --- queries ---------------------------------------------------------------------------------
def _any(queries: list[tantivy.Query]) -> tantivy.Query:
    return queries[0] if len(queries) == 1 else Query.boolean_query([(Occur.Should, q) for q in queries])


def _within(query: tantivy.Query, restriction: tantivy.Query | None) -> tantivy.Query:
    """`query`'s matches and scores, restricted to the documents `restriction` matches (which adds no score)."""
    if restriction is None:
        return query
    return Query.boolean_query([(Occur.Must, query), (Occur.Must, Query.const_score_query(restriction, 0.0))])


def _range(schema: tantivy.Schema, field: str, low: int | None, high: int | None) -> tantivy.Query:
    return Query.range_query(schema, field, tantivy.FieldType.Integer, low, high)


def _filter_query(schema: tantivy.Schema, filters: QueryFilters) -> tantivy.Query | None:
    """The hard filters (as `QueryFilters.admits` reads them) as one query; None when there are none."""
    clauses: list[tantivy.Query] = []
    if filters.date_from or filters.date_to:
        low = date_number(filters.date_from) if filters.date_from else None
        high = end_of_period(filters.date_to) if filters.date_to else None
        clauses.append(_range(schema, "date_num", low, high))
    if filters.sources:
        clauses.append(Query.term_set_query(schema, "source", list(filters.sources)))
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else Query.boolean_query([(Occur.Must, q) for q in clauses])


def _digest(words: list[str]) -> str:
    return hashlib.sha1("\n".join(words).encode("utf-8")).hexdigest()[:8]


# --- index state -----------------------------------------------------------------------------
def _generation(searcher: tantivy.Searcher) -> tuple[int, str]:
    """The store generation and identity the index was last brought up to; (-1, '') when never."""
    hits = searcher.search(Query.term_query(schema(), "chunk_id", STATE_ID), 1, count=False).hits
    if not hits:
        return -1, ""
    document = searcher.doc(hits[0][1])
    generation = document.get_first("generation")
    return (-1 if generation is None else int(generation)), str(document.get_first("store") or "")


def _writer(index: tantivy.Index, wait: float, path: Path) -> tantivy.IndexWriter | None:
    """The index's writer, waiting up to `wait` seconds while another process holds it."""
    deadline = time.monotonic() + wait
    pause = 0.05
    while True:
        try:
            return index.writer(heap_size=WRITER_HEAP, num_threads=1)
        except ValueError as error:
            if "LockBusy" not in str(error):
                raise
            if time.monotonic() >= deadline:
                if wait <= 0:
                    return None
                raise StoreError(
                    f"The keyword index {path} stayed locked by another process for {wait:.0f} s. "
                    "Let the other ingest finish and run this one again."
                ) from error
        time.sleep(min(pause, max(0.0, deadline - time.monotonic())))
        pause = min(pause * 2, 1.0)
