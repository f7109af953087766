"""The answer-sentence scorer's training groups (bench/train_scorer.py reads them).

Each question is retrieved as the chat would (top 5 passages), its candidate sentences labelled
like bench/train_ranker.py does, and written as one JSON line: the question, the candidates that
answer it and those that do not (each as the scorer reads it: rag.answer.features.scorer_text).

The scorer learns from questions the ranker and its decline are not fitted on, so that their
scores on the ranker's training data are what new questions get:
- the training questions (bench/data/ranker-questions.jsonl: written like the natural set, about
  articles no natural test question uses);
- MultiHop-RAG dev comparison and temporal questions of the seeded train half (their evidence
  facts are the answering sentences).

    python -m bench.scorer_data --natural-store STORE --multihop-store STORE --out bench/out/scorer-groups.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import train_ranker  # noqa: E402
from rag.answer.features import scorer_text  # noqa: E402

TRAINING = ROOT / "bench" / "data" / "ranker-questions.jsonl"


def write_groups(examples: Sequence[train_ranker.Example], out: Path) -> int:
    written = 0
    with out.open("a", encoding="utf-8") as sink:
        for example in examples:
            texts = [scorer_text(c, example.passages[c.number - 1]) for c in example.found]
            positives = [t for t, label in zip(texts, example.labels, strict=True) if label]
            negatives = [t for t, label in zip(texts, example.labels, strict=True) if not label]
            if positives and negatives:
                record = {"question": example.searched, "positives": positives, "negatives": negatives}
                sink.write(json.dumps(record, ensure_ascii=False) + "\n")
                written += 1
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--training", type=Path, default=TRAINING, help="the training questions")
    parser.add_argument("--natural-store", type=Path, required=True, help="RAG_DATA_DIR with their corpora")
    parser.add_argument("--multihop-store", type=Path, help="RAG_DATA_DIR holding the MultiHop corpus")
    parser.add_argument("--queries", type=Path, default=train_ranker.QUERIES, help="MultiHop-RAG query file")
    parser.add_argument("--collection", default="news")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("", encoding="utf-8")
    questions = train_ranker.natural_questions(args.training, "train", ["multihop", "ukraine", "demo"])
    items = [("natural", searched, bool(r["answerable"]), r) for r, searched in questions]
    pipeline = train_ranker.open_pipeline(args.natural_store, args.collection)
    count = write_groups(train_ranker.collect(pipeline, items, train_ranker.natural_label), args.out)
    print(f"training questions: {len(questions)}, groups {count}", flush=True)
    if args.multihop_store is not None:
        types = ["comparison_query", "temporal_query"]
        records = train_ranker.multihop_questions(args.queries, "tune", 1, types, None)
        items = [("multihop", r["query"], True, r) for r in records]
        pipeline = train_ranker.open_pipeline(args.multihop_store, args.collection)
        count = write_groups(train_ranker.collect(pipeline, items, train_ranker.multihop_label), args.out)
        print(f"MultiHop train half, comparison and temporal: {len(records)}, groups {count}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
