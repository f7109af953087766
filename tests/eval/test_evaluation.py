"""Evaluation: test-set loading, scoring, summaries and the report, on real runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.errors import UsageError
from rag.eval.run import CaseResult, evaluate, load_testset, select, summarize, write_report
from rag.pipeline import Pipeline
from tests.conftest import ROOT

DEMO_TESTSET = ROOT / "demo" / "testset.jsonl"


def test_multihop_records_are_mapped(tmp_path: Path) -> None:
    path = tmp_path / "q.json"
    path.write_text(
        json.dumps(
            [
                {
                    "query": "Who?",
                    "answer": "Sam",
                    "question_type": "inference_query",
                    "evidence_list": [{"fact": "Sam did it.", "url": "u"}],
                },
                {
                    "query": "What?",
                    "answer": "Insufficient information.",
                    "question_type": "null_query",
                    "evidence_list": [],
                },
            ]
        ),
        encoding="utf-8",
    )
    first, null = load_testset(path)
    assert (first.question, first.evidence, first.answerable, first.type) == (
        "Who?",
        ("Sam did it.",),
        True,
        "inference_query",
    )
    assert null.answerable is False and null.evidence == ()


def test_bad_testset_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"answer": "x"}\n', encoding="utf-8")
    with pytest.raises(UsageError, match="record 1 lacks a question"):
        load_testset(path)


def test_select_samples_reproducibly() -> None:
    cases = load_testset(DEMO_TESTSET)
    assert select(cases, 5, None, seed=1) == select(cases, 5, None, seed=1)
    assert len(select(cases, None, 3)) == 3


def test_summary_is_computed_by_hand() -> None:
    results = [
        CaseResult(
            "a",
            "t1",
            "q",
            "r",
            True,
            declined=False,
            scores={"hit@10": 1.0, "declined": 0.0},
            seconds={"retrieve": 0.010, "total": 0.010},
        ),
        CaseResult(
            "b",
            "t1",
            "q",
            "r",
            True,
            declined=True,
            scores={"hit@10": 0.0, "declined": 1.0},
            seconds={"retrieve": 0.030, "total": 0.030},
        ),
        CaseResult(
            "c",
            "null",
            "q",
            "r",
            False,
            declined=True,
            scores={"declined": 1.0},
            seconds={"retrieve": 0.020, "total": 0.020},
        ),
    ]
    summary = summarize(results)
    assert summary["all"]["hit@10"] == 0.5  # (1 + 0) / 2 answerable questions
    assert summary["all"]["false_declines"] == 0.5 and summary["all"]["refusal_rate"] == 1.0
    assert summary["all"]["retrieve_ms_p50"] == pytest.approx(20.0)  # median of 10, 30, 20 ms
    assert summary["t1"]["questions"] == 2 and "refusal_rate" not in summary["t1"]


def test_demo_testset_passes_with_the_extractive_answerer(demo_pipeline: Pipeline, tmp_path: Path) -> None:
    cases = load_testset(DEMO_TESTSET)
    results = evaluate(demo_pipeline.engine, cases, top_k=5, progress=False)
    summary = summarize(results)["all"]
    assert summary["refusal_rate"] == 1.0  # every unanswerable question declined
    assert summary["false_declines"] <= 0.1
    assert summary["hit@10"] == 1.0 and summary["mrr@10"] >= 0.8
    assert summary["contains_answer"] >= 0.7
    assert summary["citations_valid"] == 1.0 and summary["quote_fidelity"] == 1.0
    assert summary["citation_precision"] >= 0.9
    report = write_report(tmp_path / "report", summarize(results), results, {"testset": "demo"})
    text = report.read_text(encoding="utf-8")
    assert "hit@10" in text and "metrics.svg" in text
    assert "<rect" in (tmp_path / "report" / "metrics.svg").read_text(encoding="utf-8")
    saved = json.loads((tmp_path / "report" / "results.json").read_text(encoding="utf-8"))
    assert len(saved["cases"]) == len(cases)
