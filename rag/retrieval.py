"""Retrieval: question -> ranked passages, by dense search, BM25, or both fused.

Dense search asks the Chroma store; lexical search uses a BM25 index (bm25s) over each
chunk's article title and text, built from the store's chunks and saved under data_dir,
rebuilt whenever the store's generation changes (so a running app sees what a later
ingest added). Hybrid mode fuses the rankings by weighted reciprocal rank fusion.

News questions often say where and when their answer was published ("according to
TechCrunch", "The Verge's report of November 9, 2023"). rag.query finds such sources
(among those in the store) and dates; they act as boosts, not filters: each
named source and the named dates add a ranking of their own chunks (BM25 within that
source or period, and the dense candidates from it) to the fusion, so a loosely phrased
question still finds other sources. Filters (date range, sources) are hard and apply to
every ranking. An optional `Reranker` reorders the fused candidates last.

Defaults were tuned on half of MultiHop-RAG's dev queries (bench/multihop.py,
bench/RESULTS-multihop.md).
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import bm25s
import numpy as np
import Stemmer

from rag.config import RetrievalMode
from rag.dates import QueryFilters
from rag.embedding import Embedder
from rag.query import QueryHints, parse_query_hints
from rag.store import ChunkRecord, ChunkStore

RRF_K = 60  # the usual reciprocal-rank-fusion constant
STAGING_TTL = 600  # seconds after which an unfinished index build counts as abandoned
INDEX_FORMAT = 2  # bumped when what the BM25 index holds changes (2: title + text, article ids)


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk with what the reader needs to cite it."""

    chunk_id: str
    text: str
    article_id: str
    title: str
    date: str
    source: str
    url: str
    start: int
    end: int
    score: float  # the ranking score (fused when hybrid or when the question names sources or dates)
    similarity: float  # cosine similarity between question and chunk
    also_published_by: tuple[str, ...] = ()  # other outlets that published the same story (rag.syndication)

    @classmethod
    def from_record(cls, record: ChunkRecord, score: float, similarity: float) -> Passage:
        meta = record.metadata
        return cls(
            chunk_id=record.id,
            text=record.text,
            article_id=str(meta["article_id"]),
            title=str(meta.get("title", "")),
            date=str(meta.get("date", "")),
            source=str(meta.get("source", "")),
            url=str(meta.get("url", "")),
            start=int(meta["start"]),
            end=int(meta["end"]),
            score=score,
            similarity=similarity,
            also_published_by=tuple(s for s in str(meta.get("also_sources", "")).split("\n") if s),
        )


# --- fusion and reranking ----------------------------------------------------------------


def weighted_rrf(rankings: Sequence[tuple[Sequence[str], float]], k: int = RRF_K) -> list[tuple[str, float]]:
    """Fuse weighted ranked id lists: score(id) = sum over lists of weight / (k + rank), best first."""
    scores: dict[str, float] = {}
    for ranking, weight in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + weight / (k + rank)
    return sorted(scores.items(), key=lambda pair: pair[1], reverse=True)


@dataclass(frozen=True)
class Fusion:
    """Weights of the rankings fused in hybrid mode (and of the hint rankings in every mode).

    Each ranking adds weight / (rrf_k + rank) to a chunk's score. Every source a question
    names adds two rankings: BM25 within that source, and the dense candidates from it,
    weighted `source_hint` times the plain BM25 and dense rankings; the dates it names do
    the same with `date_hint`. Tuned on half of MultiHop-RAG's dev queries: BM25 is far
    stronger than MiniLM there, and a small `rrf_k` lets the first ranks count more.
    """

    dense: float = 0.3
    lexical: float = 1.0
    source_hint: float = 2.0
    date_hint: float = 1.0
    rrf_k: int = 20


@dataclass(frozen=True)
class Candidate:
    """A fused candidate, as a reranker sees it."""

    chunk_id: str
    score: float  # fused score; higher is better
    similarity: float | None  # cosine to the question; None when the dense search did not return the chunk
    lexical: float  # BM25 score (0.0 when not scored: dense mode, or no query term in the chunk)
    source: str
    date_num: int
    article_id: str


class Reranker(Protocol):
    """Reorders (and may drop) the fused candidates, best first."""

    def rerank(self, query: str, query_vector: np.ndarray, candidates: list[Candidate]) -> list[Candidate]: ...


# --- lexical index -----------------------------------------------------------------------


@dataclass(frozen=True)
class LexicalScores:
    """One question's BM25 score for every indexed chunk (zero where the filters exclude it)."""

    ids: list[str]
    scores: np.ndarray
    meta: list[dict[str, Any]]
    rows: dict[str, int]  # chunk id -> position in ids
    source_codes: np.ndarray
    source_names: list[str]
    dates: np.ndarray

    def top(self, k: int, mask: np.ndarray | None = None) -> list[tuple[str, float]]:
        """Best `k` (chunk id, score) pairs with a positive score, within `mask` if given."""
        scores = self.scores if mask is None else np.where(mask, self.scores, 0.0)
        k = min(k, len(scores))
        if k <= 0:
            return []
        rows = np.argpartition(-scores, k - 1)[:k]
        rows = rows[np.argsort(-scores[rows], kind="stable")]
        return [(self.ids[row], float(scores[row])) for row in rows if scores[row] > 0]

    def score_of(self, chunk_id: str) -> float:
        row = self.rows.get(chunk_id)
        return 0.0 if row is None else float(self.scores[row])

    def source_mask(self, source: str) -> np.ndarray | None:
        return self.source_codes == self.source_names.index(source) if source in self.source_names else None

    def date_mask(self, hints: QueryHints) -> np.ndarray | None:
        if not hints.dates:
            return None
        mask = np.zeros(len(self.dates), dtype=bool)
        for span in hints.dates:
            values = self.dates % 10_000 if span.any_year else self.dates
            mask |= (values >= span.start) & (values <= span.end)
        return mask & (self.dates > 0)


class Bm25Index:
    """BM25 over every chunk of a store, persisted per store generation under `directory`.

    A chunk is indexed with its article's title in front (`titles=False`: text only), so
    a question naming an article's subject finds all of its chunks.
    """

    def __init__(self, directory: Path, titles: bool = True) -> None:
        self.directory, self.titles = directory, titles
        self._stemmer = Stemmer.Stemmer("english")
        self._lock = threading.Lock()
        self._generation: int | None = None
        self._model: bm25s.BM25 | None = None
        self._ids: list[str] = []
        self._meta: list[dict[str, Any]] = []
        self._rows: dict[str, int] = {}
        self._source_codes = np.zeros(0, dtype=np.int32)
        self._source_names: list[str] = []
        self._dates = np.zeros(0, dtype=np.int64)

    def _tokens(self, texts: list[str]) -> Any:
        return bm25s.tokenize(texts, stopwords="en", stemmer=self._stemmer, show_progress=False)

    def _path(self, generation: int) -> Path:
        variant = "" if self.titles else "-text"
        return self.directory / f"v{INDEX_FORMAT}{variant}-gen-{generation}"

    def prepare(self, store: ChunkStore, generation: int) -> Path:
        """Build and save the index of the store's current chunks as `generation`, unless saved already.

        An ingest calls this before it publishes the generation, so readers find it ready.
        """
        saved = self._path(generation)
        if not (saved / "ids.json").exists():
            self._build(store, saved)
        return saved

    def refresh(self, store: ChunkStore) -> None:
        """Load the index for the store's current generation, building and saving it if needed."""
        generation = store.refresh()
        with self._lock:
            if generation == self._generation:
                return
            saved = self.prepare(store, generation)
            sidecar = json.loads((saved / "ids.json").read_text(encoding="utf-8"))
            self._ids, self._meta = sidecar["ids"], sidecar["meta"]
            self._model = bm25s.BM25.load(saved, show_progress=False) if self._ids else None
            self._rows = {chunk_id: row for row, chunk_id in enumerate(self._ids)}
            self._source_names = sorted({str(m.get("source", "")) for m in self._meta})
            codes = {name: code for code, name in enumerate(self._source_names)}
            self._source_codes = np.array([codes[str(m.get("source", ""))] for m in self._meta], dtype=np.int32)
            self._dates = np.array([int(m.get("date_num", 0)) for m in self._meta], dtype=np.int64)
            self._generation = generation
            self._remove_older(generation)

    def _remove_older(self, generation: int) -> None:
        """Delete saved indexes of earlier generations, and staging folders abandoned long ago."""
        for path in self.directory.glob("*gen-*"):
            if ".tmp" in path.name:
                obsolete = time.time() - path.stat().st_mtime > STAGING_TTL
            else:
                number = path.name.rsplit("-", 1)[-1]
                obsolete = number.isdigit() and int(number) < generation
            if obsolete:
                shutil.rmtree(path, ignore_errors=True)

    def _build(self, store: ChunkStore, target: Path) -> None:
        records = list(store.iter_chunks())
        staging = target.with_name(f"{target.name}.tmp{os.getpid()}-{threading.get_ident()}")
        staging.mkdir(parents=True)
        model = bm25s.BM25()
        if records:
            texts = [f"{r.metadata.get('title', '')}\n{r.text}" if self.titles else r.text for r in records]
            model.index(self._tokens(texts), show_progress=False)
            model.save(staging, show_progress=False)
        meta = [
            {
                key: r.metadata.get(key, default)
                for key, default in (("date_num", 0), ("source", ""), ("article_id", ""))
            }
            for r in records
        ]
        (staging / "ids.json").write_text(json.dumps({"ids": [r.id for r in records], "meta": meta}), encoding="utf-8")
        try:
            staging.rename(target)
        except OSError:  # another process saved the same generation first: theirs is as good
            shutil.rmtree(staging, ignore_errors=True)

    @property
    def sources(self) -> list[str]:
        """The non-empty sources of the indexed chunks, sorted."""
        with self._lock:
            return [name for name in self._source_names if name]

    def scores(self, query: str, filters: QueryFilters = QueryFilters()) -> LexicalScores | None:
        """The question's BM25 score for every chunk; None when the index or the question is empty."""
        with self._lock:
            model, ids, meta, rows = self._model, self._ids, self._meta, self._rows
            codes, names, dates = self._source_codes, self._source_names, self._dates
        if model is None or not ids:
            return None
        query_tokens = bm25s.tokenize(
            [query], stopwords="en", stemmer=self._stemmer, show_progress=False, return_ids=False
        )
        if not query_tokens[0]:
            return None
        scores = np.asarray(model.get_scores(query_tokens[0]), dtype=np.float32)
        if filters != QueryFilters():
            scores = scores * np.array([filters.admits(m) for m in meta], dtype=np.float32)
        return LexicalScores(ids, scores, meta, rows, codes, names, dates)


# --- retriever ----------------------------------------------------------------------------


class Retriever:
    """Question -> passages, in the configured mode.

    Each ranking contributes `candidates` chunks; `fusion` weighs the rankings; `hints`
    turns on the boosts for sources and dates named in the question (in every mode: in
    dense mode they reorder the dense candidates, in BM25 mode they add BM25 rankings
    within the named sources and dates); `reranker`, if any, reorders the fused
    candidates before the best `k` are returned.
    """

    def __init__(
        self,
        store: ChunkStore,
        embedder: Embedder,
        lexical: Bm25Index,
        mode: RetrievalMode = "hybrid",
        candidates: int = 60,
        *,
        fusion: Fusion = Fusion(),
        hints: bool = True,
        reranker: Reranker | None = None,
    ) -> None:
        self.store, self.embedder, self.lexical = store, embedder, lexical
        self.mode, self.candidates = mode, candidates
        self.fusion, self.hints, self.reranker = fusion, hints, reranker

    def retrieve(self, query: str, k: int, filters: QueryFilters = QueryFilters()) -> list[Passage]:
        if self.mode == "dense":
            self.store.refresh()
        else:
            self.lexical.refresh(self.store)  # refreshes the store first
        query_vector = self.embedder.embed([query])[0]
        depth = max(k, self.candidates)
        dense = self.store.query(query_vector, depth, filters.chroma_where()) if self.mode != "bm25" else []
        lexical = self.lexical.scores(query, filters) if self.mode != "dense" else None
        records = {record.id: record for record, _ in dense}
        similarity = {record.id: sim for record, sim in dense}
        if self.hints:
            known = (
                self.lexical.sources
                if self.mode != "dense"
                else {str(r.metadata.get("source", "")) for r in records.values()}
            )
            hints = parse_query_hints(query, known)
        else:
            hints = QueryHints()
        lexical_top = lexical.top(depth) if lexical is not None else []
        if hints or self.mode == "hybrid":
            ranked = weighted_rrf(self._rankings(records, lexical, lexical_top, hints, depth), self.fusion.rrf_k)
        elif self.mode == "dense":
            ranked = [(record.id, sim) for record, sim in dense]
        else:
            ranked = lexical_top
        if self.reranker is not None:
            pool = [
                self._candidate(chunk_id, score, records, similarity, lexical) for chunk_id, score in ranked[:depth]
            ]
            ranked = [(c.chunk_id, c.score) for c in self.reranker.rerank(query, query_vector, pool)]
        top = ranked[:k]
        for record, vector in self.store.get_chunks([chunk_id for chunk_id, _ in top if chunk_id not in records]):
            records[record.id] = record
            similarity[record.id] = float(np.dot(vector, query_vector))
        return [
            Passage.from_record(records[chunk_id], score, similarity[chunk_id])
            for chunk_id, score in top
            if chunk_id in records
        ]

    def _rankings(
        self,
        dense: dict[str, ChunkRecord],
        lexical: LexicalScores | None,
        lexical_top: list[tuple[str, float]],
        hints: QueryHints,
        depth: int,
    ) -> list[tuple[list[str], float]]:
        """The weighted rankings to fuse: dense and BM25, then the same within each named source and the named dates."""
        weights = self.fusion
        rankings: list[tuple[list[str], float]] = [
            (list(dense), weights.dense),
            ([chunk_id for chunk_id, _ in lexical_top], weights.lexical),
        ]

        def boost(factor: float, admits: Callable[[dict[str, Any]], bool], mask: np.ndarray | None) -> None:
            rankings.append(([chunk_id for chunk_id, r in dense.items() if admits(r.metadata)], factor * weights.dense))
            if lexical is not None and mask is not None and mask.any():
                rankings.append(([chunk_id for chunk_id, _ in lexical.top(depth, mask)], factor * weights.lexical))

        for source in hints.sources:
            mask = lexical.source_mask(source) if lexical is not None else None
            boost(weights.source_hint, lambda meta, s=source: meta.get("source") == s, mask)
        if hints.dates:
            mask = lexical.date_mask(hints) if lexical is not None else None
            boost(weights.date_hint, lambda meta: hints.matches_date(int(meta.get("date_num", 0))), mask)
        return [(ranking, weight) for ranking, weight in rankings if ranking and weight > 0]

    @staticmethod
    def _candidate(
        chunk_id: str,
        score: float,
        dense: dict[str, ChunkRecord],
        similarity: dict[str, float],
        lexical: LexicalScores | None,
    ) -> Candidate:
        if chunk_id in dense:
            meta = dense[chunk_id].metadata
        elif lexical is not None and chunk_id in lexical.rows:
            meta = lexical.meta[lexical.rows[chunk_id]]
        else:
            meta = {}
        return Candidate(
            chunk_id,
            score,
            similarity.get(chunk_id),
            lexical.score_of(chunk_id) if lexical is not None else 0.0,
            str(meta.get("source", "")),
            int(meta.get("date_num", 0)),
            str(meta.get("article_id", "")),
        )
