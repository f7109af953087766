"""The natural-question set (demo/natural-questions.jsonl): its size and mix, its fixed dev/test split,
and that `rag eval` reads it with its answer keys and follow-up pairs."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path

from rag.eval.run import load_testset

NATURAL = Path(__file__).resolve().parents[2] / "demo" / "natural-questions.jsonl"
RECORDS = [json.loads(line) for line in NATURAL.read_text(encoding="utf-8").splitlines() if line.strip()]


def split_of(group: str) -> str:
    """The split rule, written once when the set was made: a follow-up goes with the question it follows."""
    return "dev" if hashlib.sha256(f"natural-questions-v1:{group}".encode()).digest()[0] < 128 else "test"


def test_the_set_has_every_kind_of_question_it_needs() -> None:
    assert len(RECORDS) >= 240
    assert sum(r["answerable"] for r in RECORDS) >= 180
    assert sum(not r["answerable"] for r in RECORDS) >= 60
    assert sum(bool(r["follows"]) for r in RECORDS) >= 40
    assert set(Counter(r["type"] for r in RECORDS)) == {
        "who",
        "what",
        "when",
        "where",
        "why",
        "how-many",
        "which",
        "yes-no",
    }
    assert {r["corpus"] for r in RECORDS} == {"multihop", "ukraine", "demo"}
    assert {r["trap"] for r in RECORDS if not r["answerable"]} >= {
        "wrong-year",
        "unstated-fact",
        "other-sense",
        "future-result",
    }
    pairs = [r for r in RECORDS if r["follows"]]
    assert any(r["context_needed"] for r in pairs) and any(not r["context_needed"] for r in pairs)


def test_every_answerable_question_has_keys_and_its_answering_sentence() -> None:
    for record in RECORDS:
        if record["answerable"]:
            assert record["answers"] and record["evidence"] and all(e["text"].strip() for e in record["evidence"])
        else:
            assert not record["answers"] and record["why_unanswerable"]


def test_the_split_is_the_seeded_hash_written_in_the_file() -> None:
    ids = [r["id"] for r in RECORDS]
    assert len(ids) == len(set(ids))
    for record in RECORDS:
        assert record["split"] == split_of(record["follows"] or record["id"]), record["id"]
    splits = Counter(r["split"] for r in RECORDS)
    assert min(splits.values()) >= 0.35 * len(RECORDS)


def test_rag_eval_reads_keys_splits_and_pairs() -> None:
    cases = {case.id: case for case in load_testset(NATURAL)}
    follow_up = next(r for r in RECORDS if r["follows"] and r["context_needed"])
    case = cases[follow_up["id"]]
    assert case.follows == follow_up["follows"] and case.context_needed is True
    assert case.search_terms == tuple(follow_up["search_terms"]) and case.split == follow_up["split"]
    answerable = next(r for r in RECORDS if r["answerable"])
    assert cases[answerable["id"]].keys == tuple(answerable["answers"])
