"""MultiHop-RAG retrieval benchmark: ingest the corpus if needed, then run the retrieval ablation.

Each configuration retrieves the top 10 for every answerable dev question (null queries
have no evidence and are skipped) and is scored with the official hit rule (a chunk is a
hit when a gold fact is a substring of it): Hits@1/4/10, MRR@10, Recall@10, and the
retrieval latency without the question's embedding (p50/p95). The table is Markdown,
with the MultiHop-RAG paper's published results as reference rows.

The defaults of `rag.retrieval` were tuned on the "tune" half of the questions (a seeded
random half); the second table compares the tune and held-out halves.

    python -m bench.multihop                      # every configuration on all 1,655 questions
    python -m bench.multihop --limit 200          # a quick run
    python -m bench.multihop --configs bm25 default --out bench/out/mh-ablation.md
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from rag import metrics
from rag.config import Settings
from rag.evaluation import TestCase, load_testset, score_retrieval
from rag.lexical import Bm25Index
from rag.pipeline import Pipeline
from rag.query import parse_query_hints
from rag.retrieval import Candidate, Fusion, Retriever
from rag.store import ChunkStore

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "multihop-rag"
DEPTH = 10
METRICS = ("hit@1", "hit@4", "hit@10", "mrr@10", "recall@10")
PUBLISHED = (  # MultiHop-RAG paper (Tang & Yang, 2024), 256-token chunks, top 10
    ("paper: voyage-02, no reranker", {"hit@10": 0.706, "mrr@10": 0.548}),
    ("paper: voyage-02 + bge-reranker-large", {"hit@4": 0.663, "hit@10": 0.747, "mrr@10": 0.586}),
)
OLD_FUSION = Fusion(dense=1.0, lexical=1.0, source_hint=0.0, date_hint=0.0, rrf_k=60)  # before this work


# --- rerankers tried (none helped; kept here so the numbers can be reproduced) -----------------


class ArticleCap:
    """At most `cap` chunks of one article before the chunks of any other article."""

    def __init__(self, cap: int) -> None:
        self.cap = cap

    def rerank(self, query: str, query_vector: np.ndarray, candidates: list[Candidate]) -> list[Candidate]:
        seen: dict[str, int] = {}
        kept, demoted = [], []
        for candidate in candidates:
            seen[candidate.article_id] = seen.get(candidate.article_id, 0) + 1
            (kept if seen[candidate.article_id] <= self.cap else demoted).append(candidate)
        return kept + demoted


def _vectors(store: ChunkStore, candidates: Sequence[Candidate]) -> dict[str, np.ndarray]:
    return {record.id: vector for record, vector in store.get_chunks([c.chunk_id for c in candidates])}


class Mmr:
    """Maximal marginal relevance over the stored chunk embeddings: diversity across the top 10."""

    def __init__(self, store: ChunkStore, balance: float, depth: int = 30) -> None:
        self.store, self.balance, self.depth = store, balance, depth

    def rerank(self, query: str, query_vector: np.ndarray, candidates: list[Candidate]) -> list[Candidate]:
        pool = candidates[: self.depth]
        if not pool:
            return candidates
        vectors = _vectors(self.store, pool)
        pool = [c for c in pool if c.chunk_id in vectors]
        top_score = max(c.score for c in pool)
        relevance = np.array([c.score / top_score for c in pool])
        matrix = np.stack([vectors[c.chunk_id] for c in pool])
        chosen: list[int] = []
        redundancy = np.zeros(len(pool))
        while len(chosen) < min(DEPTH, len(pool)):
            value = self.balance * relevance - (1 - self.balance) * redundancy
            value[chosen] = -np.inf
            best = int(np.argmax(value))
            chosen.append(best)
            redundancy = np.maximum(redundancy, matrix @ matrix[best])
        picked = {pool[i].chunk_id for i in chosen}
        return [pool[i] for i in chosen] + [c for c in candidates if c.chunk_id not in picked]


class ScoreFusion:
    """Weighted score fusion instead of RRF: alpha * min-max(cosine) + (1 - alpha) * BM25 / max BM25,
    plus `bonus` for a chunk from a named source and again for one from a named date."""

    def __init__(self, store: ChunkStore, lexical: Bm25Index, alpha: float, bonus: float) -> None:
        self.store, self.lexical, self.alpha, self.bonus = store, lexical, alpha, bonus

    def rerank(self, query: str, query_vector: np.ndarray, candidates: list[Candidate]) -> list[Candidate]:
        if not candidates:
            return candidates
        vectors = _vectors(self.store, [c for c in candidates if c.similarity is None])
        cosine = np.array(
            [
                c.similarity if c.similarity is not None else float(vectors[c.chunk_id] @ query_vector)
                for c in candidates
            ]
        )
        lexical = np.array([c.lexical for c in candidates])
        cosine = (cosine - cosine.min()) / max(float(cosine.max() - cosine.min()), 1e-9)
        lexical = lexical / max(float(lexical.max()), 1e-9)
        hints = parse_query_hints(query, self.lexical.sources)
        bonus = np.array(
            [self.bonus * ((c.source in hints.sources) + hints.matches_date(c.date_num)) for c in candidates]
        )
        value = self.alpha * cosine + (1 - self.alpha) * lexical + bonus
        order = np.argsort(-value, kind="stable")
        return [replace(candidates[i], score=float(value[i])) for i in order]


# --- configurations --------------------------------------------------------------------------


@dataclass(frozen=True)
class Parts:
    store: ChunkStore
    embedder: Any
    lexical: Bm25Index  # title + text (the default)
    lexical_text: Bm25Index  # text only (as before this work)


Config = Callable[[Parts], Retriever]


def _r(parts: Parts, lexical: Bm25Index | None = None, **options: Any) -> Retriever:
    return Retriever(parts.store, parts.embedder, lexical or parts.lexical, **options)


CONFIGS: dict[str, tuple[str, Config]] = {
    "dense": ("dense only (MiniLM)", lambda p: _r(p, mode="dense", hints=False)),
    "bm25": ("BM25 only (chunk text)", lambda p: _r(p, p.lexical_text, mode="bm25", hints=False)),
    "hybrid-old": (
        "hybrid, previous default (RRF k=60, equal weights, 30 candidates)",
        lambda p: _r(p, p.lexical_text, candidates=30, fusion=OLD_FUSION, hints=False),
    ),
    "titles": (
        "+ article titles in BM25",
        lambda p: _r(p, candidates=30, fusion=OLD_FUSION, hints=False),
    ),
    "weights": (
        "+ tuned fusion (dense 0.3, k=20, 60 candidates)",
        lambda p: _r(p, hints=False),
    ),
    "sources": (
        "+ source hints",
        lambda p: _r(p, fusion=replace(Fusion(), date_hint=0.0)),
    ),
    "default": ("+ date hints = **new default**", lambda p: _r(p)),
    "default-30": ("new default with 30 candidates (current Settings.candidates)", lambda p: _r(p, candidates=30)),
    "bm25-hints": ("BM25 only (title + text) + hints", lambda p: _r(p, mode="bm25")),
    "dense-hints": ("dense only + hints", lambda p: _r(p, mode="dense")),
    "mmr": ("new default + MMR (0.8 relevance)", lambda p: _r(p, reranker=Mmr(p.store, 0.8))),
    "cap": ("new default + at most 2 chunks per article", lambda p: _r(p, reranker=ArticleCap(2))),
    "score-fusion": (
        "new default + score fusion rerank (0.3 cos + 0.7 BM25, hint bonus 0.2)",
        lambda p: _r(p, reranker=ScoreFusion(p.store, p.lexical, 0.3, 0.2)),
    ),
}


class TimedEmbedder:
    """Passes embedding through, adding up the seconds it took (retrieval latency leaves it out)."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.seconds = inner, 0.0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        started = time.perf_counter()
        try:
            return self.inner.embed(texts)
        finally:
            self.seconds += time.perf_counter() - started


# --- running ---------------------------------------------------------------------------------


def split_tune(count: int, seed: int = 0) -> np.ndarray:
    """Which questions (of the answerable ones, in file order) are in the tuning half."""
    tune = np.zeros(count, dtype=bool)
    tune[np.random.default_rng(seed).permutation(count)[: count // 2]] = True
    return tune


def run_config(
    retriever: Retriever, embedder: TimedEmbedder, cases: Sequence[TestCase], label: str, progress: bool
) -> dict[str, Any]:
    for case in cases[:5]:  # warm caches
        retriever.retrieve(case.question, DEPTH)
    scores, latency = [], []
    for case in tqdm(cases, desc=label, unit="q", disable=not progress, leave=False):
        embedder.seconds = 0.0
        started = time.perf_counter()
        passages = retriever.retrieve(case.question, DEPTH)
        latency.append((time.perf_counter() - started - embedder.seconds) * 1000)
        scores.append(score_retrieval(case, [p.text for p in passages[:DEPTH]]))
    return {"scores": scores, "latency_ms": latency}


def summarize(result: dict[str, Any], mask: np.ndarray | None = None) -> dict[str, float]:
    chosen = [s for i, s in enumerate(result["scores"]) if mask is None or mask[i]]
    row = {name: metrics.mean([s[name] for s in chosen]) for name in METRICS}
    row["p50_ms"] = metrics.percentile(result["latency_ms"], 50)
    row["p95_ms"] = metrics.percentile(result["latency_ms"], 95)
    return row


def markdown_table(rows: Sequence[tuple[str, dict[str, float]]]) -> str:
    lines = [
        "| configuration | Hits@1 | Hits@4 | Hits@10 | MRR@10 | Recall@10 | p50 ms | p95 ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, row in rows:
        cells = [f"{row[m]:.3f}" if m in row else "–" for m in METRICS]
        cells += [f"{row[m]:.1f}" if m in row else "–" for m in ("p50_ms", "p95_ms")]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def split_table(rows: Sequence[tuple[str, dict[str, float], dict[str, float]]]) -> str:
    lines = [
        "| configuration | Hits@10 tune | Hits@10 held-out | MRR@10 tune | MRR@10 held-out |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, tune, held in rows:
        lines.append(
            f"| {name} | {tune['hit@10']:.3f} | {held['hit@10']:.3f} | {tune['mrr@10']:.3f} | {held['mrr@10']:.3f} |"
        )
    return "\n".join(lines)


def open_store(args: argparse.Namespace) -> Pipeline:
    """The benchmark's store, ingesting the corpus first when it is missing or empty."""
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        data_dir=args.data_dir,
        collection=args.collection,
        openai_api_key=None,
        openai_base_url=None,
        chroma_host=None,
    )
    pipeline = Pipeline.open(settings)
    if pipeline.store.chunk_count() == 0:
        print(f"ingesting {args.corpus} into {args.data_dir} (collection {args.collection}) ...", file=sys.stderr)
        report = pipeline.ingest([args.corpus], progress=not args.quiet)
        print(report.summary(), file=sys.stderr)
    return pipeline


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog="configurations: " + "; ".join(f"{key}: {label}" for key, (label, _) in CONFIGS.items()),
    )
    parser.add_argument("--corpus", type=Path, default=DATA / "corpus.json", help="MultiHop-RAG corpus.json")
    parser.add_argument("--queries", type=Path, default=DATA / "queries-dev.json", help="MultiHop-RAG query file")
    parser.add_argument(
        "--data-dir", type=Path, default=Path("bench/out/multihop"), help="store directory (default bench/out/multihop)"
    )
    parser.add_argument("--collection", default="multihop", help="collection name (default multihop)")
    parser.add_argument("--limit", type=int, help="only the first N answerable questions (a quick run)")
    parser.add_argument(
        "--configs",
        nargs="+",
        choices=list(CONFIGS),
        default=list(CONFIGS),
        metavar="NAME",
        help="configurations to run (default: all; names listed below)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the tune/held-out split (default 0)")
    parser.add_argument("--out", type=Path, help="also write the tables (Markdown) and a JSON summary next to it")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    pipeline = open_store(args)
    cases = [c for c in load_testset(args.queries) if c.answerable and c.evidence]
    tune = split_tune(len(cases), args.seed)
    if args.limit is not None:
        cases, tune = cases[: args.limit], tune[: args.limit]
    embedder = TimedEmbedder(pipeline.embedder)
    parts = Parts(
        pipeline.store,
        embedder,
        Bm25Index(args.data_dir / "bm25" / args.collection),
        Bm25Index(args.data_dir / "bm25-text" / args.collection, titles=False),
    )
    parts.lexical.refresh(parts.store)  # build or load both indexes before anything is timed
    parts.lexical_text.refresh(parts.store)
    rows, splits, summary = [], [], {}
    for key in args.configs:
        label, make = CONFIGS[key]
        result = run_config(make(parts), embedder, cases, key, not args.quiet)
        row = summarize(result)
        rows.append((label, row))
        splits.append((label, summarize(result, tune), summarize(result, ~tune)))
        summary[key] = {"label": label, "all": row, "tune": splits[-1][1], "held_out": splits[-1][2]}
        print(f"{key}: " + ", ".join(f"{k}={v:.3f}" for k, v in row.items()), file=sys.stderr)
    rows += [(name, values) for name, values in PUBLISHED]
    header = (
        f"MultiHop-RAG dev, {len(cases)} answerable questions (tune half: {int(tune.sum())}), top {DEPTH}, "
        f"{pipeline.store.chunk_count()} chunks, embedder {pipeline.embedder.model_id}, {date.today().isoformat()}"
    )
    text = "\n\n".join([header, markdown_table(rows), "Tune vs held-out half:", split_table(splits)])
    print(text)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n", encoding="utf-8")
        args.out.with_suffix(".json").write_text(
            json.dumps({"header": header, "configs": summary}, indent=2), encoding="utf-8"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
