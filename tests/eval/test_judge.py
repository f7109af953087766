"""Judged evaluation through llama-index's evaluators, played by the loopback server, and a
cross-check of this project's hit rate and MRR against llama-index's RetrieverEvaluator."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from llama_index.core.evaluation import RetrieverEvaluator
from llama_index.llms.openai_like import OpenAILike

from rag.eval import metrics
from rag.eval.judge import Judge, parse_correctness
from rag.eval.run import RETRIEVAL_DEPTH, evaluate, honesty_lines, load_testset, summarize
from rag.llamaindex import LlamaIndexRetriever
from rag.pipeline import Pipeline
from tests.answer.test_answering import llm_engine, passages_in
from tests.conftest import DEMO_DIR, ROOT, run
from tests.openai_server import FakeOpenAI, judging

GUARANTEES = (
    "Podolyak said Kyiv was still looking for specific security guarantees that could be imposed by "
    "designated guarantor countries with strong armies."
)
REFERENCE = "Security guarantees imposed by designated guarantor countries with strong armies"


def judge_for(server: FakeOpenAI) -> Judge:
    return Judge(OpenAILike(model="fake-model", api_base=server.base_url, api_key="t", is_chat_model=True))


def quote_first_passage(messages: list[dict]) -> str:
    """Plays an answering model that quotes the first sentence of passage 1."""
    number, text = passages_in(messages)[0]
    return text.split(". ")[0].rstrip(".") + f". [{number}]"


@pytest.mark.parametrize(
    ("reply", "score"), [("4.5\nClose to the reference.", 4.5), ("5", 5.0), ("Score: 2\nwrong", 2.0), ("great", None)]
)
def test_correctness_reply_is_parsed(reply: str, score: float | None) -> None:
    assert parse_correctness(reply)[0] == score


def test_judge_tells_faithful_from_unfaithful_answers(fake_openai: FakeOpenAI) -> None:
    fake_openai.reply = judging()
    judge = judge_for(fake_openai)
    good, notes = judge.score(
        "What guarantees does Kyiv want?", GUARANTEES + " [1]", REFERENCE, [GUARANTEES], True, False
    )
    assert good == {"judge_correctness": 5.0, "judge_correct": 1.0, "judge_faithful": 1.0, "judge_unreadable": 0.0}
    assert notes == []
    bad, _ = judge.score(
        "What guarantees does Kyiv want?",
        "Kyiv demands 300 billion dollars in reparations [1].",
        REFERENCE,
        [GUARANTEES],
        True,
        False,
    )
    assert bad["judge_faithful"] == 0.0 and bad["judge_correct"] == 0.0 and bad["judge_correctness"] < 2
    assert judge.score("Who won?", "The articles do not say.", "", [GUARANTEES], False, True) == ({}, [])
    prompts = [str(request["messages"]) for request in fake_openai.requests]
    assert any("Reference Answer" in p for p in prompts) and any("supported by the context" in p for p in prompts)


def test_judged_scores_are_reported_per_question_type(demo_pipeline: Pipeline, fake_openai: FakeOpenAI) -> None:
    fake_openai.reply = judging(quote_first_passage)
    cases = load_testset(ROOT / "demo" / "testset.jsonl")
    results = evaluate(llm_engine(demo_pipeline, fake_openai), cases, 3, progress=False, judge=judge_for(fake_openai))
    summary = summarize(results)
    answered = [r for r in results if not r.declined]
    assert answered and all(r.scores["judge_faithful"] == 1.0 for r in answered)  # it quotes its passages
    assert all("judge_correctness" in r.scores for r in results if r.answerable)
    for group in ("all", "factual"):
        assert 1.0 <= summary[group]["judge_correctness"] <= 5.0 and summary[group]["judge_faithful"] == 1.0
        assert "token_f1" in summary[group]  # next to the lexical metrics


@pytest.mark.slow
def test_rag_eval_judge_against_the_loopback_server(tmp_path: Path) -> None:
    store = tmp_path / "store"
    assert run(sys.executable, "-m", "rag", "ingest", "--quiet", str(DEMO_DIR), data_dir=store).returncode == 0
    testset = ROOT / "demo" / "testset.jsonl"
    without = run(sys.executable, "-m", "rag", "eval", str(testset), "--judge", data_dir=store)
    assert without.returncode == 2 and "--judge needs a chat model" in without.stderr
    with FakeOpenAI(reply=judging(quote_first_passage)) as server:
        env = {"RAG_LLM": "openai-like:fake-model", "OPENAI_BASE_URL": server.base_url}
        out = tmp_path / "report"
        args = ("eval", str(testset), "--judge", "--limit", "6", "--quiet", "--out", str(out))
        result = run(sys.executable, "-m", "rag", *args, data_dir=store, extra_env=env)
    assert result.returncode == 0, result.stderr
    assert "judge_correctness" in result.stdout and "judge_faithful" in result.stdout
    report = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert report["config"]["judge"] == "fake-model" and report["config"]["top_k"] == 8
    assert report["summary"]["factual"]["judge_faithful"] == 1.0


@pytest.mark.parametrize("depth", [1, 2, RETRIEVAL_DEPTH])
def test_hit_rate_and_mrr_agree_with_llama_index(demo_pipeline: Pipeline, depth: int) -> None:
    """Same retrieved lists: our substring hit rule vs llama-index's id-based HitRate and MRR."""
    chunks = list(demo_pipeline.store.iter_chunks())
    evaluator = RetrieverEvaluator.from_metric_names(
        ["hit_rate", "mrr"], retriever=LlamaIndexRetriever(demo_pipeline.retriever, top_k=depth)
    )
    cases = [c for c in load_testset(ROOT / "demo" / "testset.jsonl") if c.answerable and c.evidence]
    # and one whose evidence is, by construction, the passage ranked second (so the lists are not all ones)
    second = demo_pipeline.retriever.retrieve(cases[0].question, 2)[1]
    cases.append(replace(cases[0], id="second", evidence=(second.text,)))
    ours: dict[str, list[float]] = {"hit_rate": [], "mrr": []}
    theirs: dict[str, list[float]] = {"hit_rate": [], "mrr": []}
    for case in cases:
        expected = [chunk.id for chunk in chunks if metrics.is_hit(chunk.text, case.evidence)]
        result = evaluator.evaluate(query=case.question, expected_ids=expected)
        ranked = [p.text for p in demo_pipeline.retriever.retrieve(case.question, RETRIEVAL_DEPTH)]
        ours["hit_rate"].append(metrics.hit_at_k(ranked, case.evidence, depth))
        ours["mrr"].append(metrics.reciprocal_rank(ranked, case.evidence, depth))
        for name in theirs:
            theirs[name].append(result.metric_dict[name].score)
    assert len(cases) >= 8
    assert ours["hit_rate"] == pytest.approx(theirs["hit_rate"]) and ours["mrr"] == pytest.approx(theirs["mrr"])
    if depth < RETRIEVAL_DEPTH:  # a question whose evidence ranks second: the lists are not all ones
        assert 0 in ours["hit_rate"] if depth == 1 else 0.5 in ours["mrr"]


@pytest.mark.parametrize("reply", ["great answer", "I cannot judge this."])
def test_an_unreadable_judge_reply_is_reported_not_scored(fake_openai: FakeOpenAI, reply: str) -> None:
    fake_openai.reply = lambda messages: reply
    scores, notes = judge_for(fake_openai).score(
        "Q?", "Kyiv wants guarantees [1].", REFERENCE, [GUARANTEES], True, False
    )
    assert scores == {"judge_unreadable": 1.0}  # neither 1/5 nor "unfaithful"
    assert notes == [
        f"Judge: no 1-5 score in the correctness reply {reply!r}.",
        f"Judge: no YES/NO in the faithfulness reply {reply!r}.",
    ]


def test_a_failing_judge_is_reported_per_question(demo_pipeline: Pipeline, fake_openai: FakeOpenAI) -> None:
    fake_openai.reply = judging(quote_first_passage)
    cases = [c for c in load_testset(ROOT / "demo" / "testset.jsonl") if c.answerable][:2]
    unreachable = "http://127.0.0.1:9/v1"
    failing = Judge(OpenAILike(model="m", api_base=unreachable, api_key="t", is_chat_model=True, max_retries=0))
    results = evaluate(llm_engine(demo_pipeline, fake_openai), cases, 3, progress=False, judge=failing)
    assert all(r.scores["judge_unreadable"] == 1.0 and "judge_correctness" not in r.scores for r in results)
    assert all(
        any(
            n.startswith("Judge: The language model m at http://127.0.0.1:9/v1 could not be reached") for n in r.notices
        )
        for r in results
    )
    assert honesty_lines(results, "fake-model") == [
        "⚠ 2 judge replies could not be used (not scored; see results.json)."
    ]
