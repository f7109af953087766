"""Retrieval: question -> ranked passages, by dense search, BM25, or both fused.

Dense search asks the Chroma store; lexical search asks the BM25 index of rag.search.lexical
(refreshed whenever the store's generation changes, so a running app sees what a later
ingest added). Hybrid mode fuses the rankings by weighted reciprocal rank fusion.

News questions often say where and when their answer was published ("according to
TechCrunch", "The Verge's report of November 9, 2023"). rag.search.hints finds such sources
(among those in the store) and dates; they act as boosts, not filters: each
named source and the named dates add a ranking of their own chunks (BM25 within that
source or period, and the dense candidates from it) to the fusion, so a loosely phrased
question still finds other sources. Filters (date range, sources) are hard and apply to
every ranking. An optional `Reranker` reorders the fused candidates last.

Defaults were tuned on half of MultiHop-RAG's dev queries (bench/multihop.py,
bench/RESULTS-multihop.md).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from rag.config import RetrievalMode
from rag.models.embedding import Embedder
from rag.search.hints import QueryHints, parse_query_hints
from rag.search.lexical import Bm25Index, LexicalScores, Mask
from rag.store.chroma import ChunkRecord, ChunkStore
from rag.text.dates import QueryFilters

RRF_K = 60  # the usual reciprocal-rank-fusion constant


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
    also_published_by: tuple[str, ...] = ()  # other outlets that published the same story (rag.ingest.syndication)

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

        def boost(factor: float, admits: Callable[[dict[str, Any]], bool], mask: Mask | None) -> None:
            rankings.append(([chunk_id for chunk_id, r in dense.items() if admits(r.metadata)], factor * weights.dense))
            if lexical is not None and mask is not None:  # no chunk within the mask: an empty ranking, left out
                rankings.append(([chunk_id for chunk_id, _ in lexical.top(depth, mask)], factor * weights.lexical))

        for source in hints.sources:
            mask = lexical.source_mask(source) if lexical is not None else None

            def from_source(meta: dict[str, Any], source: str = source) -> bool:
                return meta.get("source") == source

            boost(weights.source_hint, from_source, mask)
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
        else:
            meta = (lexical.meta_of(chunk_id) if lexical is not None else None) or {}
        return Candidate(
            chunk_id,
            score,
            similarity.get(chunk_id),
            lexical.score_of(chunk_id) if lexical is not None else 0.0,
            str(meta.get("source", "")),
            int(meta.get("date_num", 0)),
            str(meta.get("article_id", "")),
        )
