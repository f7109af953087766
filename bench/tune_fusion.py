"""Grid search of the fusion weights on the tune half of MultiHop-RAG's dev questions; writes the results.

Searches every combination of candidates per ranking, dense weight, RRF k, source-hint
weight and date-hint weight in `GRID` (the BM25 weight stays 1: only ratios matter) on
the tune half of bench/multihop.py's seeded split, with its scoring. The chosen point is
the best Hits@10 on the tune half (ties: best MRR@10, then Recall@10, then the earlier
grid point); the held-out half then scores the chosen point and the current defaults once.

The search replays the real `rag.search.retrieval.Retriever` against in-memory copies of what the
store, the BM25 index and the embedder answered: each question is embedded, BM25-scored and
asked of Chroma once per candidate count; every grid point after that only re-fuses. So
the scores are exactly what the app would retrieve with those settings.

    python -m bench.tune_fusion --data-dir /tmp/store --collection multihop   # writes bench/RESULTS-tuning.md
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from bench.multihop import (
    BENCH,
    CANDIDATES,
    DEPTH,
    METRICS,
    TUNED,
    load_cases,
    mean_scores,
    open_store,
    run_header,
    store_arguments,
)
from rag.eval.run import TestCase, score_retrieval
from rag.search.lexical import Bm25Index, LexicalScores
from rag.search.retrieval import Fusion, Retriever
from rag.store.chroma import ChunkRecord, ChunkStore
from rag.text.dates import QueryFilters

GRID: dict[str, tuple[float, ...]] = {
    "candidates": (30, 60, 100),
    "dense": (0.2, 0.3, 0.5),
    "rrf_k": (10, 20, 60),
    "source_hint": (1.0, 2.0, 4.0),
    "date_hint": (0.0, 1.0, 2.0),
}


# --- what the store, index and embedder answered, kept in memory --------------------------------


class RememberedStore:
    """The store's answers to `query` and `get_chunks`, each asked of Chroma once."""

    def __init__(self, store: ChunkStore) -> None:
        self.store, self.generation = store, store.refresh()
        self._queries: dict[tuple[bytes, int, str], list[tuple[ChunkRecord, float]]] = {}
        self._records: dict[str, ChunkRecord] = {}  # one object per chunk, shared by all answers
        self._chunks: dict[str, tuple[ChunkRecord, np.ndarray]] = {}

    def refresh(self) -> int:
        return self.generation

    def query(
        self, embedding: np.ndarray, k: int, where: dict[str, Any] | None = None
    ) -> list[tuple[ChunkRecord, float]]:
        key = (embedding.tobytes(), k, repr(where))
        if key not in self._queries:
            answer = self.store.query(embedding, k, where)
            self._queries[key] = [(self._records.setdefault(record.id, record), sim) for record, sim in answer]
        return self._queries[key]

    def get_chunks(self, ids: Sequence[str]) -> list[tuple[ChunkRecord, np.ndarray]]:
        missing = [chunk_id for chunk_id in ids if chunk_id not in self._chunks]
        for record, vector in self.store.get_chunks(missing):
            self._chunks[record.id] = (record, vector)
        return [self._chunks[chunk_id] for chunk_id in ids if chunk_id in self._chunks]


class RememberedLexical:
    """The BM25 scores of each question, computed once."""

    def __init__(self, index: Bm25Index, store: ChunkStore) -> None:
        index.refresh(store)
        self.index, self.sources = index, index.sources
        self._scores: dict[tuple[str, QueryFilters], LexicalScores | None] = {}

    def refresh(self, store: Any) -> None:
        pass

    def scores(self, query: str, filters: QueryFilters = QueryFilters()) -> LexicalScores | None:
        if (query, filters) not in self._scores:
            self._scores[query, filters] = self.index.scores(query, filters)
        return self._scores[query, filters]


class RememberedEmbedder:
    """The embedding of each question, computed once."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self._vectors: dict[tuple[str, ...], np.ndarray] = {}

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        key = tuple(texts)
        if key not in self._vectors:
            self._vectors[key] = self.inner.embed(texts)
        return self._vectors[key]


# --- the search ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Point:
    candidates: int
    fusion: Fusion

    def cells(self) -> list[str]:
        f = self.fusion
        return [str(self.candidates), f"{f.dense:g}", str(f.rrf_k), f"{f.source_hint:g}", f"{f.date_hint:g}"]


def grid_points() -> list[Point]:
    return [
        Point(int(candidates), Fusion(dense=dense, rrf_k=int(rrf_k), source_hint=source, date_hint=date))
        for candidates, dense, rrf_k, source, date in itertools.product(*GRID.values())
    ]


class Replay:
    """Scores grid points: the real retriever over the remembered parts; each question's scores per top 10 kept."""

    def __init__(self, store: RememberedStore, embedder: RememberedEmbedder, lexical: RememberedLexical) -> None:
        self.store, self.embedder, self.lexical = store, embedder, lexical
        self._scores: dict[tuple[str, tuple[str, ...]], dict[str, float]] = {}

    def evaluate(self, point: Point, cases: Sequence[TestCase]) -> dict[str, float]:
        """Mean scores of the point's retrieval over `cases`."""
        retriever = Retriever(
            self.store,
            self.embedder,
            self.lexical,
            candidates=point.candidates,
            fusion=point.fusion,
        )
        scores = []
        for case in cases:
            passages = retriever.retrieve(case.question, DEPTH)
            key = (case.id, tuple(p.chunk_id for p in passages))
            if key not in self._scores:
                self._scores[key] = score_retrieval(case, [p.text for p in passages])
            scores.append(self._scores[key])
        return mean_scores(scores)


def rank_key(row: dict[str, float]) -> tuple[float, ...]:
    """Better first: Hits@10, then MRR@10, then Recall@10."""
    return tuple(round(row[name], 9) for name in ("hit@10", "mrr@10", "recall@10"))


POINT_COLUMNS = "| candidates | dense | RRF k | source hint | date hint |"


def point_table(rows: Sequence[tuple[Point, dict[str, float]]]) -> str:
    lines = [
        POINT_COLUMNS + " Hits@1 | Hits@4 | Hits@10 | MRR@10 | Recall@10 |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for point, row in rows:
        lines.append("| " + " | ".join(point.cells() + [f"{row[m]:.3f}" for m in METRICS]) + " |")
    return "\n".join(lines)


def marginal_table(results: Sequence[tuple[Point, dict[str, float]]]) -> str:
    """For each value of each parameter: the best tune Hits@10 (and its MRR@10) over the rest of the grid."""
    lines = ["| parameter | value | best Hits@10 | its MRR@10 |", "|---|---:|---:|---:|"]
    for position, name in enumerate(GRID):
        for value in GRID[name]:
            rows = [row for point, row in results if float(point.cells()[position]) == float(value)]
            best = max(rows, key=rank_key)
            lines.append(f"| {name} | {value:g} | {best['hit@10']:.3f} | {best['mrr@10']:.3f} |")
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    store_arguments(parser)
    parser.add_argument(
        "--out", type=Path, default=BENCH / "RESULTS-tuning.md", help="results file (default bench/RESULTS-tuning.md)"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    started = time.perf_counter()
    pipeline = open_store(args)
    header = run_header("Fusion weights: grid search on the tune half", "tune_fusion", argv, pipeline, args.data_dir)
    cases, tune = load_cases(args.queries, args.seed, args.limit)
    tune_cases = [case for case, chosen in zip(cases, tune, strict=True) if chosen]
    held_cases = [case for case, chosen in zip(cases, tune, strict=True) if not chosen]
    replay = Replay(
        RememberedStore(pipeline.store),
        RememberedEmbedder(pipeline.embedder),
        RememberedLexical(Bm25Index(args.data_dir / "bm25" / args.collection), pipeline.store),
    )
    points = grid_points()
    results = [
        (point, replay.evaluate(point, tune_cases))
        for point in tqdm(points, desc="grid", unit="point", disable=args.quiet)
    ]
    ranked = sorted(results, key=lambda pair: rank_key(pair[1]), reverse=True)  # stable: ties keep grid order
    chosen = ranked[0][0]
    default = Point(CANDIDATES, TUNED)
    default_tune = replay.evaluate(default, tune_cases)
    better = sum(rank_key(row) > rank_key(default_tune) for _, row in results)
    tied = sum(rank_key(row) == rank_key(default_tune) for point, row in results if point != default)
    checks = [
        ("chosen point, tune half", chosen, ranked[0][1]),
        ("chosen point, held-out half", chosen, replay.evaluate(chosen, held_cases)),
        ("current defaults, tune half", default, default_tune),
        ("current defaults, held-out half", default, replay.evaluate(default, held_cases)),
    ]
    check_lines = [
        "| run " + POINT_COLUMNS + " Hits@1 | Hits@4 | Hits@10 | MRR@10 | Recall@10 |",
        "|---" + "|---:" * 10 + "|",
    ]
    for name, point, row in checks:
        check_lines.append("| " + " | ".join([name, *point.cells()] + [f"{row[m]:.3f}" for m in METRICS]) + " |")
    grid_lines = [f"- {name}: " + ", ".join(f"{value:g}" for value in values) for name, values in GRID.items()]
    text = "\n".join(
        [
            *header,
            f"- questions: tune half {len(tune_cases)}, held-out half {len(held_cases)} (seed {args.seed})"
            f" of the {len(cases)} answerable questions of {args.queries.name}",
            f"- run time: {time.perf_counter() - started:.0f} s",
            "",
            "Every combination of these values was scored on the tune half (BM25 weight 1; "
            f"{len(points)} points; top {DEPTH}, the paper's hit rule):",
            "",
            *grid_lines,
            "",
            "Chosen: the best Hits@10 on the tune half (ties: best MRR@10, then Recall@10, then grid order). "
            f"The current defaults ({CANDIDATES} candidates, {TUNED}) score below {better} of the"
            f" {len(points)} points on the tune half and tie with {tied} other points.",
            "",
            "\n".join(check_lines),
            "",
            "## Best value of each parameter (tune half, best over the rest of the grid)",
            "",
            marginal_table(results),
            "",
            "## Top 20 points (tune half)",
            "",
            point_table(ranked[:20]),
            "",
            "## Every point (tune half, best first)",
            "",
            "<details><summary>" + f"{len(points)} points" + "</summary>",
            "",
            point_table(ranked),
            "",
            "</details>",
        ]
    )
    print(text)
    args.out.write_text(text + "\n", encoding="utf-8")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
