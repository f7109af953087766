"""Answer quality benchmark: MultiHop-RAG dev questions (and the project's own test set)
through the configured pipeline, scored against the targets of issue 8.

The questions are split into two seeded halves, "tune" (the answerer's rules and weights
were tuned on it) and "held-out"; both are reported. Offline by default (the extractive
answerer); with OPENAI_API_KEY / OPENAI_BASE_URL set, the same run scores the chat model,
so the figures for any OpenAI-compatible endpoint are one command away; a second table then
says who answered (the model, or the local extractive answerer standing in when it failed:
fallbacks are counted and flagged, so a model figure is never silently an extractive one)
and the tokens and estimated cost (RAG_LLM_PRICES for a model without a built-in price).

    RAG_DATA_DIR=bench/out/multihop RAG_COLLECTION=multihop python -m bench.answers
    python -m bench.answers --per-type 100 --testset demo/multihop-questions.jsonl
    OPENAI_API_KEY=... OPENAI_BASE_URL=http://127.0.0.1:11434/v1 RAG_LLM_MODEL=llama3.1 python -m bench.answers
"""

from __future__ import annotations

import argparse
import random
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from rag.config import Settings  # noqa: E402
from rag.eval import metrics  # noqa: E402
from rag.eval.run import CaseResult, TestCase, evaluate, honesty_lines, load_testset, summarize  # noqa: E402
from rag.pipeline import Pipeline  # noqa: E402

QUERIES = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "multihop-rag" / "queries-dev.json"
TARGETS = (  # (label, question type, metric, target, higher is better)
    ("contains-answer, inference questions", "inference_query", "contains_answer", 0.75, True),
    ("refusal on null questions", "null_query", "refusal_rate", 0.95, True),
    ("wrong refusals on answerable questions", "answerable", "false_refusal_rate", 0.08, False),
    ("quote fidelity", "all", "quote_fidelity", 0.99, True),
    ("claim support rate", "all", "claim_support", None, True),
    ("answer p95 ms", "all", "answer_ms_p95", 300.0, False),
)


def halves(cases: Sequence[TestCase], seed: int) -> dict[str, list[TestCase]]:
    """The cases split into a seeded random "tune" half and the "held-out" rest."""
    order = list(range(len(cases)))
    random.Random(seed).shuffle(order)
    middle = len(order) // 2
    return {"tune": [cases[i] for i in order[:middle]], "held-out": [cases[i] for i in order[middle:]]}


def per_type(cases: Sequence[TestCase], count: int | None, types: Sequence[str]) -> list[TestCase]:
    """The first `count` cases of each wanted type (all of them when count is None)."""
    picked: list[TestCase] = []
    for kind in types:
        picked += [case for case in cases if case.type == kind][:count]
    return picked


def figures(results: Sequence[CaseResult]) -> dict[str, float]:
    """The targeted figures of one run."""
    summary = summarize(results)
    answerable = [r for r in results if r.answerable]
    out = {}
    for label, group, key, _, _ in TARGETS:
        if group == "answerable":
            out[label] = metrics.mean([float(r.declined) for r in answerable])
        elif group in summary or group == "all":
            out[label] = summary.get(group, {}).get(key, float("nan"))
        else:  # a test set without MultiHop's types: over all its (un)answerable questions
            out[label] = summary["all"].get(key, float("nan"))
    return out


def answered(results: Sequence[CaseResult]) -> dict[str, str]:
    """Who answered, the fallbacks, and the model's tokens and estimated cost, as table cells."""
    counts = Counter(r.answerer for r in results)
    used = [r.usage for r in results if r.usage]
    costs = [u["cost_usd"] for u in used]
    cells = {f"answered by {name}": str(count) for name, count in sorted(counts.items())}
    cells["fallbacks (the model failed)"] = str(sum(r.fallback for r in results))
    if used:
        cells["model calls"] = str(sum(u["calls"] for u in used))
        cells["tokens in / out"] = (
            f"{sum(u['input_tokens'] for u in used):,} / {sum(u['output_tokens'] for u in used):,}"
        )
        cells["estimated cost (USD)"] = "price unknown" if None in costs else f"{sum(costs):.4f}"
    return cells


def answered_table(columns: dict[str, dict[str, str]]) -> str:
    names = list(columns)
    rows = list(dict.fromkeys(row for cells in columns.values() for row in cells))
    lines = ["| who answered | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    lines += [f"| {row} | " + " | ".join(columns[name].get(row, "0") for name in names) + " |" for row in rows]
    return "\n".join(lines)


def table(columns: dict[str, dict[str, float]]) -> str:
    names = list(columns)
    lines = ["| figure | target | " + " | ".join(names) + " |", "|---|---:|" + "---:|" * len(names)]
    for label, _, _, target, higher in TARGETS:
        cells = []
        for name in names:
            value = columns[name].get(label, float("nan"))
            text = "–" if value != value else f"{value:.0f}" if label.endswith("ms") else f"{value:.3f}"
            if target is not None and value == value:
                text += " ✓" if (value >= target if higher else value <= target) else " ✗"
            cells.append(text)
        goal = "–" if target is None else ("≥ " if higher else "≤ ") + (f"{target:.0f}" if target > 1 else f"{target}")
        lines.append(f"| {label} | {goal} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--queries", type=Path, default=QUERIES, help="MultiHop-RAG query file")
    parser.add_argument("--per-type", type=int, default=150, help="questions per type and half (0 = all)")
    parser.add_argument("--types", nargs="+", default=["inference_query", "null_query"])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--testset", type=Path, help="also score this test set (e.g. demo/multihop-questions.jsonl)")
    args = parser.parse_args(argv)

    settings = Settings()
    pipeline = Pipeline.open(settings)
    engine = pipeline.engine
    print(f"answerer: {engine.answerer_name}; collection {settings.collection} in {settings.data_dir}")
    columns: dict[str, dict[str, float]] = {}
    who: dict[str, dict[str, str]] = {}
    runs: list[CaseResult] = []
    count = args.per_type or None
    for name, cases in halves(load_testset(args.queries), args.seed).items():
        picked = per_type(cases, count, args.types)
        results = evaluate(engine, picked, engine.top_k, progress=False)
        columns[f"{name} ({len(picked)})"], who[f"{name} ({len(picked)})"] = figures(results), answered(results)
        runs += results
    if args.testset is not None:
        cases = load_testset(args.testset)
        results = evaluate(engine, cases, engine.top_k, progress=False)
        label = f"{args.testset.name} ({len(cases)})"
        columns[label], who[label] = figures(results), answered(results)
        runs += results
        misses = [r for r in results if r.declined == r.answerable or not r.scores.get("contains_answer", 1.0)]
        for result in misses:
            print(f"miss {result.id}: {result.question} -> {result.answer[:150]!r}")
    print(table(columns))
    if engine.llm is not None:
        print()
        print(answered_table(who))
    for line in honesty_lines(runs, engine.answerer_name):
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
