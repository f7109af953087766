"""Retrieval: question -> ranked passages, by dense search, BM25, or both fused.

Dense search asks the Chroma store; lexical search uses a BM25 index (bm25s) built
from the store's chunks and saved under data_dir, rebuilt whenever the store's
generation changes (so a running app sees what a later ingest added). Hybrid mode fuses
the two rankings by reciprocal rank fusion. Filters (date range, sources) apply to both.
"""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bm25s
import numpy as np
import Stemmer

from rag.config import RetrievalMode
from rag.embedding import Embedder
from rag.ingest import date_number
from rag.store import ChunkRecord, ChunkStore

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
    score: float  # the ranking score (fused when hybrid)
    similarity: float  # cosine similarity between question and chunk

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
        )


@dataclass(frozen=True)
class QueryFilters:
    """Restrictions on which articles may answer: ISO date bounds (inclusive) and sources."""

    date_from: str = ""
    date_to: str = ""
    sources: tuple[str, ...] = field(default_factory=tuple)

    def chroma_where(self) -> dict[str, Any] | None:
        clauses: list[dict[str, Any]] = []
        if self.date_from:
            clauses.append({"date_num": {"$gte": date_number(self.date_from)}})
        if self.date_to:
            clauses.append({"date_num": {"$lte": _end_of_period(self.date_to)}})
        if self.sources:
            clauses.append({"source": {"$in": list(self.sources)}})
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}

    def admits(self, metadata: dict[str, Any]) -> bool:
        date = int(metadata.get("date_num", 0))
        if self.date_from and date < date_number(self.date_from):
            return False
        if self.date_to and date > _end_of_period(self.date_to):
            return False
        return not self.sources or metadata.get("source") in self.sources


def _end_of_period(date: str) -> int:
    """Upper bound for a possibly partial date: '2022-03' -> 20220399, '2022' -> 20229999."""
    parts = date.split("-")
    base = date_number(date)
    return base + (98 if len(parts) == 2 else 9898 if len(parts) == 1 else 0)


def reciprocal_rank_fusion(rankings: Sequence[Sequence[str]], k: int = RRF_K) -> list[tuple[str, float]]:
    """Fuse ranked id lists: score(id) = sum over rankings of 1 / (k + rank)."""
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda pair: pair[1], reverse=True)


class Bm25Index:
    """BM25 over every chunk of a store, persisted per store generation under `directory`."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._stemmer = Stemmer.Stemmer("english")
        self._lock = threading.Lock()
        self._generation: int | None = None
        self._model: bm25s.BM25 | None = None
        self._ids: list[str] = []
        self._meta: list[dict[str, Any]] = []

    def _tokens(self, texts: list[str]) -> Any:
        return bm25s.tokenize(texts, stopwords="en", stemmer=self._stemmer, show_progress=False)

    def refresh(self, store: ChunkStore) -> None:
        """Load the index for the store's current generation, building and saving it if needed."""
        generation = store.refresh()
        with self._lock:
            if generation == self._generation:
                return
            saved = self.directory / f"gen-{generation}"
            if not (saved / "ids.json").exists():
                self._build(store, saved)
            sidecar = json.loads((saved / "ids.json").read_text(encoding="utf-8"))
            self._ids, self._meta = sidecar["ids"], sidecar["meta"]
            self._model = bm25s.BM25.load(saved, show_progress=False) if self._ids else None
            self._generation = generation
            for old in self.directory.glob("gen-*"):
                if old != saved:
                    shutil.rmtree(old, ignore_errors=True)

    def _build(self, store: ChunkStore, target: Path) -> None:
        records = list(store.iter_chunks())
        staging = target.with_name(target.name + ".tmp")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        model = bm25s.BM25()
        if records:
            model.index(self._tokens([record.text for record in records]), show_progress=False)
            model.save(staging, show_progress=False)
        meta = [{"date_num": r.metadata.get("date_num", 0), "source": r.metadata.get("source", "")} for r in records]
        (staging / "ids.json").write_text(json.dumps({"ids": [r.id for r in records], "meta": meta}), encoding="utf-8")
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)

    def search(self, query: str, k: int, filters: QueryFilters) -> list[tuple[str, float]]:
        """Best `k` chunk ids for the query with their BM25 scores (zero-score hits dropped)."""
        with self._lock:
            model, ids, meta = self._model, self._ids, self._meta
        if model is None or not ids:
            return []
        query_tokens = bm25s.tokenize([query], stopwords="en", stemmer=self._stemmer, show_progress=False, return_ids=False)
        if not query_tokens[0]:
            return []
        mask = np.array([filters.admits(m) for m in meta], dtype=np.float32) if filters != QueryFilters() else None
        docs, scores = model.retrieve(
            query_tokens, k=min(k, len(ids)), show_progress=False, n_threads=1, weight_mask=mask
        )
        return [(ids[int(doc)], float(score)) for doc, score in zip(docs[0], scores[0]) if score > 0]


class Retriever:
    """Question -> passages, in the configured mode."""

    def __init__(
        self, store: ChunkStore, embedder: Embedder, lexical: Bm25Index, mode: RetrievalMode = "hybrid", candidates: int = 30
    ) -> None:
        self.store, self.embedder, self.lexical = store, embedder, lexical
        self.mode, self.candidates = mode, candidates

    def retrieve(self, query: str, k: int, filters: QueryFilters = QueryFilters()) -> list[Passage]:
        self.store.refresh()
        query_vector = self.embedder.embed([query])[0]
        dense = self.store.query(query_vector, max(k, self.candidates), filters.chroma_where()) if self.mode != "bm25" else []
        lexical: list[tuple[str, float]] = []
        if self.mode != "dense":
            self.lexical.refresh(self.store)
            lexical = self.lexical.search(query, max(k, self.candidates), filters)
        records = {record.id: record for record, _ in dense}
        similarity = {record.id: sim for record, sim in dense}
        if self.mode == "dense":
            ranked = [(record.id, sim) for record, sim in dense]
        elif self.mode == "bm25":
            ranked = lexical
        else:
            ranked = reciprocal_rank_fusion([[r.id for r, _ in dense], [chunk_id for chunk_id, _ in lexical]])
        top = ranked[:k]
        for record, vector in self.store.get_chunks([chunk_id for chunk_id, _ in top if chunk_id not in records]):
            records[record.id] = record
            similarity[record.id] = float(np.dot(vector, query_vector))
        return [
            Passage.from_record(records[chunk_id], score, similarity[chunk_id])
            for chunk_id, score in top
            if chunk_id in records
        ]
