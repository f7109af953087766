"""The ranker's extra training questions (bench/data/ranker-questions.jsonl) stay apart from the natural
set's test split: no article a test question is answered from, no test question nearly repeated."""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TRAINING = [json.loads(line) for line in (ROOT / "bench" / "data" / "ranker-questions.jsonl").open(encoding="utf-8")]
NATURAL = [json.loads(line) for line in (ROOT / "demo" / "natural-questions.jsonl").open(encoding="utf-8")]
TEST = [record for record in NATURAL if record["split"] == "test"]


def _words(text: str) -> set[str]:
    return set(re.findall(r"\w+", text.lower()))


def test_training_questions_are_well_formed_and_uniquely_named() -> None:
    assert len({record["id"] for record in TRAINING}) == len(TRAINING)
    for record in TRAINING:
        assert record["split"] == "train"
        if record["answerable"]:
            sentences = " ".join(evidence["text"] for evidence in record["evidence"]).lower()
            assert any(key.lower() in sentences for key in record["answers"]), record["id"]
        else:
            assert not record["answers"] and record["why_unanswerable"], record["id"]


def test_no_training_question_comes_from_the_test_split() -> None:
    test_articles = {evidence["title"].strip() for record in TEST for evidence in record["evidence"]}
    for record in TRAINING:
        assert not {evidence["title"].strip() for evidence in record["evidence"]} & test_articles, record["id"]
        words = _words(record["question"])
        for test in TEST:
            other = _words(test["question"])
            assert len(words & other) / len(words | other) <= 0.6, (record["id"], test["id"])
