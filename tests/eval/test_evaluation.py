"""Evaluation: test-set loading, scoring, summaries and the report, on real runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag import cli
from rag.errors import UsageError
from rag.eval.run import CaseResult, evaluate, load_testset, select, summarize, write_report
from rag.pipeline import Pipeline
from tests.conftest import ROOT
from tests.openai_server import FakeOpenAI

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
    for unreadable, reason in ((tmp_path / "missing.jsonl", "No such file"), (tmp_path, "Is a directory")):
        with pytest.raises(UsageError, match=f"Cannot read the test set {unreadable} \\({reason}.*JSONL"):
            load_testset(unreadable)


@pytest.mark.parametrize(
    "argv",
    [
        ["eval", "set.jsonl", "--sample", "0"],
        ["eval", "set.jsonl", "--limit", "-3"],
        ["ingest", "--feed", "https://example.com/rss", "--max-entries", "x"],
        ["watch", "--sources", "s.txt", "--rounds", "0"],
    ],
)
def test_counts_below_one_are_refused_by_name(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        cli.build_parser().parse_args(argv)
    assert raised.value.code == 2
    assert f"argument {argv[-2]}: '{argv[-1]}' is not a whole number of 1 or more" in capsys.readouterr().err


def test_an_unwritable_report_folder_is_refused_before_any_question(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("", encoding="utf-8")
    argv = ["eval", str(DEMO_TESTSET), "--quiet", "--out", str(blocker / "reports"), "--data-dir", str(tmp_path)]
    assert cli.main(argv) == 2  # no store in tmp_path: had it asked, the error would be the missing collection
    out = blocker / "reports"
    assert capsys.readouterr().err == (
        f"error: Cannot write the report to {out} (Not a directory); give a folder you can write (--out).\n"
    )


def test_select_samples_reproducibly() -> None:
    cases = load_testset(DEMO_TESTSET)
    assert select(cases, 5, None, seed=1) == select(cases, 5, None, seed=1)
    assert len(select(cases, None, 3)) == 3
    with pytest.raises(UsageError, match="no 'dev' split \\(it has no 'split' field\\); drop --split"):
        select(cases, None, None, split="dev")  # never an empty run


def test_a_split_is_chosen_from_the_set_that_has_it() -> None:
    cases = load_testset(ROOT / "demo" / "natural-questions.jsonl")
    dev = select(cases, None, None, split="dev")
    assert dev and {case.split for case in dev} == {"dev"} and len(dev) < len(cases)


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
    # supporting quotes after the lead also cite passages beyond the gold sentence's
    assert summary["citation_precision"] >= 0.85
    report = write_report(tmp_path / "report", summarize(results), results, {"testset": "demo"})
    text = report.read_text(encoding="utf-8")
    assert "hit@10" in text and "metrics.svg" in text
    assert "<rect" in (tmp_path / "report" / "metrics.svg").read_text(encoding="utf-8")
    saved = json.loads((tmp_path / "report" / "results.json").read_text(encoding="utf-8"))
    assert len(saved["cases"]) == len(cases)


# --- evaluation honesty with a chat model (issue 17, case 1) ----------------------------------------
def rag_eval(pipeline: Pipeline, base_url: str, monkeypatch: pytest.MonkeyPatch, out: Path, *args: str) -> int:
    """`rag eval` of the demo test set in this process, the chat model at `base_url`."""
    for name in ("OPENAI_API_KEY", "RAG_LLM_MODEL", "RAG_VERIFY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RAG_LLM", "openai-like:fake-model")
    monkeypatch.setenv("OPENAI_BASE_URL", base_url)
    monkeypatch.setenv("RAG_LLM_PRICES", '{"fake-model": [1.0, 2.0]}')
    monkeypatch.setenv("RAG_LLM_GATE", "off")  # every question reaches the model (the gate has its own tests)
    where = ["--data-dir", str(pipeline.settings.data_dir), "--collection", pipeline.settings.collection]
    return cli.main(["eval", str(DEMO_TESTSET), "--quiet", "--limit", "6", "--out", str(out), *args, *where])


def test_an_unreachable_model_is_counted_and_flagged_not_scored_as_the_model(
    demo_pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    unreachable = "http://127.0.0.1:9/v1"
    assert rag_eval(demo_pipeline, unreachable, monkeypatch, tmp_path / "plain") == 0
    assert "answers fell back from fake-model to the local extractive answerer" in capsys.readouterr().err
    assert rag_eval(demo_pipeline, unreachable, monkeypatch, tmp_path / "strict", "--strict") == 3
    saved = json.loads((tmp_path / "strict" / "results.json").read_text(encoding="utf-8"))
    fell_back = [case for case in saved["cases"] if case["fallback"]]
    assert fell_back and all(case["answerer"] == "local extractive" for case in saved["cases"])
    assert all(any("could not be reached" in n for n in case["notices"]) for case in fell_back)
    assert saved["answered_by"] == {"answers": {"local extractive": 6}, "fallbacks": len(fell_back), "judge_notices": 0}
    assert saved["config"]["answerer"] == "fake-model" and saved["summary"]["all"]["fallbacks"] == len(fell_back)
    report = (tmp_path / "strict" / "report.md").read_text(encoding="utf-8")
    assert f"⚠ {len(fell_back)} of 6 answers fell back from fake-model" in report


def test_usage_is_summed_in_the_report(
    demo_pipeline: Pipeline, fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fake_openai.reply = lambda messages: "Kyiv wants guarantees from guarantor countries [1]."
    assert rag_eval(demo_pipeline, fake_openai.base_url, monkeypatch, tmp_path, "--strict") == 0
    saved = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    used = [case["usage"] for case in saved["cases"] if case["usage"]]
    assert len(used) == fake_openai.request_count() > 0  # one call per question the model answered
    row = saved["summary"]["all"]
    assert row["tokens_in"] == sum(u["input_tokens"] for u in used) and row["fallbacks"] == 0
    assert row["cost_usd"] == pytest.approx(sum(u["cost_usd"] for u in used))
    assert "tokens_in" in (tmp_path / "report.md").read_text(encoding="utf-8")
    models = {case["answerer"] for case in saved["cases"]}
    assert models <= {"fake-model", "local extractive"} and "fake-model" in models


def test_a_natural_set_is_scored_with_keys_and_its_follow_ups_asked_as_a_conversation(
    demo_pipeline: Pipeline, tmp_path: Path
) -> None:
    records = [
        {"id": "a", "question": "Which Ukrainian adviser spoke about security guarantees?", "type": "who",
         "answerable": True, "answers": ["Podolyak"], "evidence": [], "follows": None, "split": "test"},
        {"id": "b", "question": "What did he say they wanted?", "type": "what", "answerable": True,
         "answers": ["guarantor countries", "strong armies"], "evidence": [], "follows": "a",
         "context_needed": True, "search_terms": ["adviser", "Ukrainian"], "split": "test"},
        {"id": "c", "question": "Who won the 2018 World Cup?", "type": "who", "answerable": False,
         "answers": [], "evidence": [], "follows": None, "split": "dev"},
    ]  # fmt: skip
    path = tmp_path / "natural.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    cases = select(load_testset(path), None, None, split="test")
    assert [case.id for case in cases] == ["a", "b"]
    results = evaluate(demo_pipeline.engine, cases, 5, progress=False)
    follow_up = results[1]
    assert follow_up.searched.startswith("What did he say they wanted? (") and "adviser" in follow_up.searched
    assert follow_up.scores["follow_up_searched"] == 1.0
    assert {"lead_answers", "declined"} <= set(results[0].scores)
    summary = summarize(results)["all"]
    assert 0.0 <= summary["lead_answers"] <= 1.0 and summary["false_declines"] <= 0.5
