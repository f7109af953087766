"""Lexical index: BM25 (bm25s) over every chunk of a store, persisted beside it.

A chunk is indexed with its article's title in front of its text. `Bm25Index` builds the
index from the store's chunks, saves it under `RAG_DATA_DIR/bm25/<collection>/` per store
generation (built in a staging folder and renamed into place, so readers never see a
half-written index; stale generations and abandoned staging folders are removed), and
reloads it when the store's generation changes. `LexicalScores` is one question's score
for every chunk, with the source and date masks the retriever's hints use.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bm25s
import numpy as np
import Stemmer

from rag.search.hints import QueryHints
from rag.store.chroma import ChunkStore
from rag.text.dates import QueryFilters

STAGING_TTL = 600  # seconds after which an unfinished index build counts as abandoned
INDEX_FORMAT = 2  # bumped when what the BM25 index holds changes (2: title + text, article ids)


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

    def document_frequency(self, word: str) -> tuple[int, int]:
        """(chunks holding `word`, chunks in all), for the answerer's IDF weights; (0, 0) without an index
        and for a stop word."""
        found = self.scores(word)
        return (0, 0) if found is None else (int(np.count_nonzero(found.scores > 0)), len(found.ids))

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
