"""MultiHop-RAG retrieval benchmark: ingest the corpus if needed, run the retrieval ablation, write the results.

Each configuration retrieves the top 10 for every answerable dev question (null queries
have no evidence and are skipped) and is scored with the official hit rule (a chunk is a
hit when a gold fact is a substring of it): Hits@1/4/10, MRR@10, Recall@10, and the
retrieval latency without the question's embedding (p50/p95). The script writes its own
results file (bench/RESULTS-multihop.md by default): a header saying when, where, on
which store and code and with which command it ran, the ablation table with the
MultiHop-RAG paper's published results as reference rows, the tune vs held-out table,
and how often the questions name sources and dates (what the query hints exploit).

The fusion weights of `rag.search.retrieval` were chosen on the "tune" half of the questions (a
seeded random half, `split_tune`); `python -m bench.tune_fusion` runs that grid search,
and the held-out half checks the result.

    python -m bench.multihop                      # every configuration on all 1,655 questions
    python -m bench.multihop --limit 200 --out /tmp/mh.md          # a quick run
    python -m bench.multihop --data-dir /tmp/store --collection multihop --configs bm25 default
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

import rag
from bench import synthetic
from rag.config import Settings
from rag.eval import metrics
from rag.eval.run import TestCase, load_testset, score_retrieval
from rag.pipeline import Pipeline
from rag.search.hints import parse_query_hints
from rag.search.lexical import Bm25Index
from rag.search.retrieval import Candidate, Fusion, Retriever
from rag.store.chroma import ChunkStore
from rag.text.terms import STOPWORDS

BENCH = Path(__file__).resolve().parent
DATA = BENCH.parent.parent / "shared" / "data" / "multihop-rag"
DEPTH = 10
METRICS = ("hit@1", "hit@4", "hit@10", "mrr@10", "recall@10")
PUBLISHED = (  # MultiHop-RAG paper (Tang & Yang, 2024), 256-token chunks, top 10
    ("paper: voyage-02, no reranker", {"hit@10": 0.706, "mrr@10": 0.548}),
    ("paper: voyage-02 + bge-reranker-large", {"hit@4": 0.663, "hit@10": 0.747, "mrr@10": 0.586}),
)
TUNED = Fusion()  # the defaults of rag.search.retrieval
CANDIDATES: int = Settings.model_fields["candidates"].default  # the app's default
OLD_FUSION = Fusion(dense=1.0, lexical=1.0, source_hint=0.0, date_hint=0.0, rrf_k=60)  # the first version
OLD_CANDIDATES = 30
LUCENE_STOPWORDS = frozenset([  # the 33 words of bm25s's "en" list (Lucene's classic set) that the index dropped before
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is", "it", "no", "not", "of",
    "on", "or", "such", "that", "the", "their", "then", "there", "these", "they", "this", "to", "was", "will", "with",
])  # fmt: skip


# --- rerankers tried (kept here so their rows can be reproduced; none is on by default) ------------


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
    lexical_text: Bm25Index  # text only (as in the first version)


Config = Callable[[Parts], Retriever]


def _r(parts: Parts, lexical: Bm25Index | None = None, **options: Any) -> Retriever:
    options.setdefault("candidates", CANDIDATES)
    return Retriever(parts.store, parts.embedder, lexical or parts.lexical, **options)


CONFIGS: dict[str, tuple[str, Config]] = {
    "dense": ("dense only (MiniLM)", lambda p: _r(p, mode="dense", hints=False)),
    "bm25": ("BM25 only (chunk text)", lambda p: _r(p, p.lexical_text, mode="bm25", hints=False)),
    "hybrid-old": (
        f"hybrid, first version (RRF k={OLD_FUSION.rrf_k}, equal weights, {OLD_CANDIDATES} candidates)",
        lambda p: _r(p, p.lexical_text, candidates=OLD_CANDIDATES, fusion=OLD_FUSION, hints=False),
    ),
    "titles": (
        "+ article titles in BM25",
        lambda p: _r(p, candidates=OLD_CANDIDATES, fusion=OLD_FUSION, hints=False),
    ),
    "weights": (
        f"+ tuned fusion (dense {TUNED.dense}, k={TUNED.rrf_k}, {CANDIDATES} candidates) = default without hints",
        lambda p: _r(p, hints=False),
    ),
    "sources": (
        f"+ source hints (weight {TUNED.source_hint})",
        lambda p: _r(p, fusion=replace(TUNED, date_hint=0.0)),
    ),
    "default": (f"+ date hints (weight {TUNED.date_hint}) = **default**", lambda p: _r(p)),
    "default-30": (f"default with {OLD_CANDIDATES} candidates", lambda p: _r(p, candidates=OLD_CANDIDATES)),
    "bm25-hints": ("BM25 only (title + text) + hints", lambda p: _r(p, mode="bm25")),
    "dense-hints": ("dense only + hints", lambda p: _r(p, mode="dense")),
    "mmr": ("default + MMR (0.8 relevance)", lambda p: _r(p, reranker=Mmr(p.store, 0.8))),
    "cap": ("default + at most 2 chunks per article", lambda p: _r(p, reranker=ArticleCap(2))),
    "score-fusion": (
        "default + score fusion rerank (0.3 cos + 0.7 BM25, hint bonus 0.2)",
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


# --- questions and scores --------------------------------------------------------------------


def split_tune(count: int, seed: int = 0) -> np.ndarray:
    """Which questions (of the answerable ones, in file order) are in the tuning half."""
    tune = np.zeros(count, dtype=bool)
    tune[np.random.default_rng(seed).permutation(count)[: count // 2]] = True
    return tune


def load_cases(queries: Path, seed: int, limit: int | None) -> tuple[list[TestCase], np.ndarray]:
    """The answerable questions with evidence, in file order, and the tune-half mask (split before `limit`)."""
    cases = [c for c in load_testset(queries) if c.answerable and c.evidence]
    tune = split_tune(len(cases), seed)
    if limit is not None:
        cases, tune = cases[:limit], tune[:limit]
    return cases, tune


def mean_scores(scores: Sequence[dict[str, float]], mask: np.ndarray | None = None) -> dict[str, float]:
    """Mean of each metric over the questions (those in `mask`, if given)."""
    chosen = [s for i, s in enumerate(scores) if mask is None or mask[i]]
    return {name: metrics.mean([s[name] for s in chosen]) for name in METRICS}


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
    row = mean_scores(result["scores"], mask)
    row["p50_ms"] = metrics.percentile(result["latency_ms"], 50)
    row["p95_ms"] = metrics.percentile(result["latency_ms"], 95)
    return row


def hint_coverage(queries: Path, known_sources: Sequence[str]) -> str:
    """How many answerable questions name a source or a date, and whether the named sources are the evidence's."""
    records = [
        r
        for r in json.loads(queries.read_text(encoding="utf-8"))
        if r["question_type"] != "null_query" and r["evidence_list"]
    ]
    named_source = named_date = right = wrong = missed = 0
    for record in records:
        hints = parse_query_hints(record["query"], known_sources)
        evidence = {e["source"] for e in record["evidence_list"]}
        named_source += bool(hints.sources)
        named_date += bool(hints.dates)
        right += len(evidence & set(hints.sources))
        wrong += len(set(hints.sources) - evidence)
        missed += len(evidence - set(hints.sources))
    count = len(records)
    return "\n".join(
        [
            "| answerable questions | naming a source (found by `parse_query_hints`) | naming a date |"
            " sources found: evidence's | found: not the evidence's | evidence sources not found |",
            "|---:|---:|---:|---:|---:|---:|",
            f"| {count} | {named_source} ({named_source / count:.1%}) | {named_date} ({named_date / count:.1%}) |"
            f" {right} | {wrong} | {missed} |",
        ]
    )


# --- the results file ------------------------------------------------------------------------


def markdown_table(rows: Sequence[tuple[str, Mapping[str, float]]]) -> str:
    lines = [
        "| configuration | Hits@1 | Hits@4 | Hits@10 | MRR@10 | Recall@10 | p50 ms | p95 ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, row in rows:
        cells = [f"{row[m]:.3f}" if m in row else "–" for m in METRICS]
        cells += [f"{row[m]:.1f}" if m in row else "–" for m in ("p50_ms", "p95_ms")]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def split_table(rows: Sequence[tuple[str, Mapping[str, float], Mapping[str, float]]]) -> str:
    lines = [
        "| configuration | Hits@10 tune | Hits@10 held-out | MRR@10 tune | MRR@10 held-out |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, tune, held in rows:
        lines.append(
            f"| {name} | {tune['hit@10']:.3f} | {held['hit@10']:.3f} | {tune['mrr@10']:.3f} | {held['mrr@10']:.3f} |"
        )
    return "\n".join(lines)


def code_version() -> str:
    """The git commit of the `rag` package this process imported (with '+ local changes' when rag/ differs)."""
    root = Path(rag.__file__).resolve().parent.parent

    def git(*args: str) -> str:
        done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, check=False)
        return done.stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = " + local changes" if git("status", "--porcelain", "--", "rag") else ""
    return f"`rag` from {root} at commit {commit}{dirty}"


def run_header(title: str, script: str, argv: Sequence[str], pipeline: Pipeline, data_dir: Path) -> list[str]:
    """The opening lines of a results file: what ran, when, where, on which store and code."""
    machine = synthetic.hardware()
    return [
        f"# {title}",
        "",
        "Written by the script itself; regenerate it with the command below rather than editing it.",
        "",
        f"- command: `{shlex.join(['python', '-m', f'bench.{script}', *argv])}`",
        f"- started: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
        f"- machine: {machine['cpus (nproc)']} CPUs ({machine['cpu model']}), {machine['ram']} RAM, "
        f"{machine['os']}, Python {machine['python']}; load average at start {machine['load average at start']}",
        f"- store: {data_dir}, collection {pipeline.settings.collection}: {pipeline.store.article_count()} articles, "
        f"{pipeline.store.chunk_count()} chunks, embedder {pipeline.embedder.model_id}",
        f"- code: {code_version()}",
    ]


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


def store_arguments(parser: argparse.ArgumentParser) -> None:
    """The options saying which store and questions to use (shared with bench/tune_fusion.py)."""
    parser.add_argument("--corpus", type=Path, default=DATA / "corpus.json", help="MultiHop-RAG corpus.json")
    parser.add_argument("--queries", type=Path, default=DATA / "queries-dev.json", help="MultiHop-RAG query file")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=BENCH / "out" / "multihop",
        help="store directory (default bench/out/multihop); the corpus is ingested there when it is empty,"
        " and the benchmark writes its BM25 indexes and question embeddings there",
    )
    parser.add_argument("--collection", default="multihop", help="collection name (default multihop)")
    parser.add_argument("--limit", type=int, help="only the first N answerable questions (a quick run)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the tune/held-out split (default 0)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog="configurations: " + "; ".join(f"{key}: {label}" for key, (label, _) in CONFIGS.items()),
    )
    store_arguments(parser)
    parser.add_argument(
        "--configs",
        nargs="+",
        choices=list(CONFIGS),
        default=list(CONFIGS),
        metavar="NAME",
        help="configurations to run (default: all; names listed below)",
    )
    parser.add_argument(
        "--stopwords",
        choices=["terms", "lucene"],
        default="terms",
        help="English stop words of the BM25 index: rag.text.terms.STOPWORDS (the default, what the app uses) or "
        "the 33 words bm25s dropped before (Lucene's classic list; for comparison)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=BENCH / "RESULTS-multihop.md",
        help="results file to write (default bench/RESULTS-multihop.md)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    started = time.perf_counter()
    pipeline = open_store(args)
    header = run_header("MultiHop-RAG retrieval ablation", "multihop", argv, pipeline, args.data_dir)
    cases, tune = load_cases(args.queries, args.seed, args.limit)
    embedder = TimedEmbedder(pipeline.embedder)
    stopwords = LUCENE_STOPWORDS if args.stopwords == "lucene" else STOPWORDS  # another list: another index folder
    parts = Parts(
        pipeline.store,
        embedder,
        Bm25Index(args.data_dir / "bm25" / args.collection, stopwords=stopwords),
        Bm25Index(args.data_dir / "bm25-text" / args.collection, titles=False, stopwords=stopwords),
    )
    parts.lexical.refresh(parts.store)  # build or load both indexes before anything is timed
    parts.lexical_text.refresh(parts.store)
    rows, splits = [], []
    for key in args.configs:
        label, make = CONFIGS[key]
        result = run_config(make(parts), embedder, cases, key, not args.quiet)
        row = summarize(result)
        rows.append((label, row))
        splits.append((label, summarize(result, tune), summarize(result, ~tune)))
        print(f"{key}: " + ", ".join(f"{k}={v:.3f}" for k, v in row.items()), file=sys.stderr)
    rows += [(name, values) for name, values in PUBLISHED]
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    text = "\n".join(
        [
            *header,
            f"- questions: {len(cases)} answerable questions of {args.queries.name} (null queries have no evidence),"
            f" tune half {int(tune.sum())} (seed {args.seed}), held-out half {int((~tune).sum())}",
            f"- run time: {time.perf_counter() - started:.0f} s; load average at the end {load}",
            "",
            "Scoring: a retrieved chunk is a hit when a gold fact is a substring of it (the paper's rule),"
            f" top {DEPTH}. Latency: `Retriever.retrieve` wall time minus the question's embedding,"
            " one question at a time.",
            f"Default: {CANDIDATES} candidates per ranking, {TUNED}.",
            "",
            markdown_table(rows),
            "",
            "The paper's rows use 256-token chunks and voyage-02 embeddings: a reference, not a like-for-like"
            " comparison. Its questions name their outlets, which the source hints use (see the last table).",
            "",
            "## Tune vs held-out half",
            "",
            split_table(splits),
            "",
            "## Sources and dates named in the questions",
            "",
            hint_coverage(args.queries, parts.lexical.sources),
        ]
    )
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text + "\n", encoding="utf-8")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
