"""Answer quality: the natural-question set (its dev and test splits), 60 more follow-up pairs written
the same way to tune the offline follow-up rule on (bench/data/followup-questions.jsonl, a dev set),
and MultiHop-RAG dev questions
(the seeded train half the ranker was trained on, and the held-out half it never saw), answered by
this checkout and, with --previous, by an earlier checkout of the project, side by side.

Each version answers through bench/answer_driver.py in its own process (the checkout on
PYTHONPATH), so both read the same stores and questions; the scores come from rag.eval.metrics.
Offline by default (the extractive answerer); with OPENAI_API_KEY / OPENAI_BASE_URL (or RAG_LLM)
set, the chat model answers, and the table says how many questions its gate kept from it; a second
table then says who answered (the model, or the local extractive answerer standing in when it
failed: fallbacks are counted and flagged, so a model figure is never silently an extractive one)
and the tokens and estimated cost (RAG_LLM_PRICES for a model without a built-in price).

    python -m bench.answers --natural-store STORE --multihop-store STORE \\
        [--previous OLD_CHECKOUT [--previous-stores NATURAL_COPY MULTIHOP_COPY]]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from rag.eval import metrics  # noqa: E402
from rag.eval.run import TestCase, load_testset  # noqa: E402

NATURAL = ROOT / "demo" / "natural-questions.jsonl"
FOLLOWUPS = ROOT / "bench" / "data" / "followup-questions.jsonl"  # 60 written follow-up pairs: a dev set
QUERIES = ROOT.parent / "shared" / "data" / "multihop-rag" / "queries-dev.json"
DRIVER = Path(__file__).with_name("answer_driver.py")
EXTRACTIVE = "local extractive"
GATE = "calibrated gate"
_QUOTED = r"[“\"]([^”\"]{12,})[”\"]"
# (label, metric key, target, higher is better); a figure a set does not have is left out
TARGETS = (
    ("lead answers (answerable)", "lead_answers", 0.80, True),
    ("false declines (answerable)", "false_declines", 0.05, False),
    ("traps declined (unanswerable)", "traps_declined", 0.85, True),
    ("follow-ups searched right", "follow_ups", 0.90, True),
    ("contains-answer, inference questions", "contains_answer", 0.80, True),
    ("wrong refusals (answerable)", "wrong_refusals", 0.05, False),
    ("null refusal", "null_refusal", 0.95, True),
    ("quote fidelity", "quote_fidelity", 0.99, True),
    ("chat model spared by the gate: answerable", "gated_answerable", None, False),
    ("chat model spared by the gate: unanswerable", "gated_unanswerable", None, True),
    ("answer p95 ms", "answer_ms_p95", 300.0, False),
)


@dataclass(frozen=True)
class QuestionSet:
    name: str
    kind: str  # "natural" or "multihop"
    store: Path
    cases: list[TestCase]


def halves(cases: Sequence[TestCase], seed: int) -> dict[str, list[TestCase]]:
    """The cases split into a seeded random "tune" half (the ranker's training half) and the "held-out" rest."""
    order = list(range(len(cases)))
    random.Random(seed).shuffle(order)
    middle = len(order) // 2
    return {"tune": [cases[i] for i in order[:middle]], "held-out": [cases[i] for i in order[middle:]]}


def answer(cases: Sequence[TestCase], store: Path, code: Path, collection: str) -> dict[str, dict[str, Any]]:
    """Run the driver with `code` (a checkout) importable; its rows by question id."""
    items = [{"id": c.id, "question": c.question, "follows": c.follows} for c in cases]
    env = dict(os.environ, PYTHONPATH=str(code), RAG_DATA_DIR=str(store), RAG_COLLECTION=collection)
    done = subprocess.run(
        [sys.executable, str(DRIVER)], input=json.dumps(items), env=env, capture_output=True, text=True, cwd=code
    )
    if done.returncode != 0:
        raise SystemExit(f"the answers of {code} failed:\n{done.stderr[-3000:]}")
    rows = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    return {row["id"]: row for row in rows}


def _quotes(row: dict[str, Any]) -> list[tuple[str, str]]:
    """(quote, passage) pairs: an extractive claim is a quote; a chat model's quotes are in quotation marks."""
    pairs = []
    for claim, passage in row["quotes"]:
        if re.match(r"^(?:Yes|No|Neither):", claim):  # a verdict from the articles' dates
            continue
        quotes = [claim] if row["answerer"] == EXTRACTIVE else re.findall(_QUOTED, claim)
        pairs += [(quote, passage) for quote in quotes]
    return pairs


def score(qset: QuestionSet, rows: dict[str, dict[str, Any]]) -> dict[str, float]:
    """The figures of one answered set."""
    cases = [c for c in qset.cases if c.id in rows]
    answerable = [c for c in cases if c.answerable]
    unanswerable = [c for c in cases if not c.answerable]
    declined = {c.id: bool(rows[c.id]["declined"]) for c in cases}
    out: dict[str, float] = {}
    if qset.kind == "natural":
        out["lead_answers"] = metrics.mean(
            [float(not declined[c.id] and metrics.lead_answers(rows[c.id]["answer"], c.keys)) for c in answerable]
        )
        out["false_declines"] = metrics.mean([float(declined[c.id]) for c in answerable])
        out["traps_declined"] = metrics.mean([float(declined[c.id]) for c in unanswerable])
        pairs = [c for c in cases if c.follows and c.context_needed is not None]
        out["follow_ups"] = metrics.mean(
            [metrics.searched_right(rows[c.id]["searched"], c.search_terms, bool(c.context_needed)) for c in pairs]
        )
    else:
        inference = [c for c in answerable if c.type == "inference_query"]
        out["contains_answer"] = metrics.mean(
            [metrics.contains_answer(rows[c.id]["answer"], c.answer) for c in inference]
        )
        out["wrong_refusals"] = metrics.mean([float(declined[c.id]) for c in answerable])
        out["null_refusal"] = metrics.mean([float(declined[c.id]) for c in unanswerable])
    fidelity = metrics.quote_fidelity([pair for c in cases for pair in _quotes(rows[c.id])])
    if fidelity is not None:
        out["quote_fidelity"] = fidelity
    if any(rows[c.id]["answerer"] not in (EXTRACTIVE, GATE) for c in cases):  # a chat model answered
        out["gated_answerable"] = metrics.mean([float(rows[c.id]["answerer"] == GATE) for c in answerable])
        out["gated_unanswerable"] = metrics.mean([float(rows[c.id]["answerer"] == GATE) for c in unanswerable])
    out["answer_ms_p95"] = metrics.percentile([rows[c.id]["seconds"] * 1000 for c in cases], 95)
    return out


def answered(rows: Sequence[dict[str, Any]]) -> dict[str, str]:
    """Who answered, the fallbacks, and the model's tokens and estimated cost, as table cells."""
    counts = Counter(row["answerer"] for row in rows)
    used = [row["usage"] for row in rows if row.get("usage")]
    costs = [u["cost_usd"] for u in used]
    cells = {f"answered by {name}": str(count) for name, count in sorted(counts.items())}
    cells["fallbacks (the model failed)"] = str(sum(bool(row.get("fallback")) for row in rows))
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
    for label, key, target, higher in TARGETS:
        if not any(key in column for column in columns.values()):
            continue
        cells = []
        for name in names:
            value = columns[name].get(key, float("nan"))
            text = "–" if value != value else f"{value:.0f}" if key.endswith("ms_p95") else f"{value:.3f}"
            if target is not None and value == value:
                text += " ✓" if (value >= target if higher else value <= target) else " ✗"
            cells.append(text)
        goal = "–" if target is None else ("≥ " if higher else "≤ ") + (f"{target:.0f}" if target > 1 else f"{target}")
        lines.append(f"| {label} | {goal} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def question_sets(args: argparse.Namespace) -> list[QuestionSet]:
    sets = []
    if args.natural_store is not None:
        natural = load_testset(args.natural)
        for split in ("dev", "test"):
            picked = [c for c in natural if c.split == split]
            sets.append(QuestionSet(f"natural {split} ({len(picked)})", "natural", args.natural_store, picked))
        if args.followups is not None:
            pairs = load_testset(args.followups)
            name = f"follow-up dev ({sum(bool(c.follows) for c in pairs)} pairs)"
            sets.append(QuestionSet(name, "natural", args.natural_store, pairs))
    if args.multihop_store is not None:
        names = {"tune": "MultiHop train half", "held-out": "MultiHop held-out half"}
        for half, cases in halves(load_testset(args.queries), args.seed).items():
            picked = [c for t in args.types for c in [c for c in cases if c.type == t][: args.per_type or None]]
            sets.append(QuestionSet(f"{names[half]} ({len(picked)})", "multihop", args.multihop_store, picked))
    return sets


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--natural", type=Path, default=NATURAL, help="the natural-question set")
    parser.add_argument(
        "--natural-store", type=Path, help="RAG_DATA_DIR holding the MultiHop, Ukraine and demo articles"
    )
    parser.add_argument(
        "--followups", type=Path, default=FOLLOWUPS, help="follow-up pairs to tune the offline rule on (a dev set)"
    )
    parser.add_argument("--multihop-store", type=Path, help="RAG_DATA_DIR holding the MultiHop corpus")
    parser.add_argument("--queries", type=Path, default=QUERIES, help="MultiHop-RAG query file")
    parser.add_argument("--per-type", type=int, default=0, help="MultiHop questions per type and half (0 = all)")
    parser.add_argument("--types", nargs="+", default=["inference_query", "null_query"])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--collection", default="news")
    parser.add_argument("--previous", type=Path, help="a checkout of an earlier version to compare with")
    parser.add_argument(
        "--previous-stores",
        type=Path,
        nargs=2,
        metavar=("NATURAL", "MULTIHOP"),
        help="copies of the two stores for --previous (when its store format differs; default: the same stores)",
    )
    args = parser.parse_args(argv)

    versions = {"this": ROOT} | ({"previous": args.previous} if args.previous else {})
    columns: dict[str, dict[str, float]] = {}
    who: dict[str, dict[str, str]] = {}
    fallbacks = total = 0
    model_answered = False
    for qset in question_sets(args):
        for version, code in versions.items():
            store = qset.store
            if version == "previous" and args.previous_stores:
                store = args.previous_stores[qset.kind == "multihop"]
            rows = answer(qset.cases, store, code, args.collection)
            name = f"{qset.name}, {version}" if args.previous else qset.name
            columns[name], who[name] = score(qset, rows), answered(list(rows.values()))
            fallbacks += sum(bool(row.get("fallback")) for row in rows.values())
            total += len(rows)
            model_answered |= any(
                row["answerer"] not in (EXTRACTIVE, GATE) or row.get("fallback") for row in rows.values()
            )
    print(table(columns))
    if model_answered:
        print()
        print(answered_table(who))
    if fallbacks:
        print(
            f"⚠ {fallbacks} of {total} answers fell back from the chat model to the local extractive answerer "
            "(the model failed); the answer figures mix the two."
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
