"""The calibrated gate before a chat model (RAG_LLM_GATE): the natural test split's answerable questions
reach the model (a real OpenAI-protocol server on loopback), questions the articles are clearly not about
do not. The store holds the articles those questions come from (the shared data), embedded for real."""

from __future__ import annotations

import csv
import json

import pytest

from rag.chat import GATE, Exchange, heuristic_standalone
from rag.pipeline import Pipeline
from tests.answer.test_answering import llm_engine
from tests.conftest import DEMO_DIR, MULTIHOP_CORPUS, ROOT, SHARED_DATA, make_settings
from tests.openai_server import FakeOpenAI

NATURAL = ROOT / "demo" / "natural-questions.jsonl"
UKRAINE = SHARED_DATA / "ukraine-2022"
UNRELATED = (
    "What is the boiling point of mercury?",
    "How many moons does Neptune have?",
    "Who wrote the novel Middlemarch?",
    "What is the capital of Mongolia?",
)


def split_test(records: list[dict]) -> list[dict]:
    return [r for r in records if r["split"] == "test"]


@pytest.fixture(scope="module")
def evidence_store(tmp_path_factory: pytest.TempPathFactory, embedder) -> Pipeline:  # type: ignore[no-untyped-def]
    """A store of the articles the natural test split's questions come from (MultiHop, Ukraine, demo)."""
    records = [json.loads(line) for line in NATURAL.read_text(encoding="utf-8").splitlines()]
    titles = {e["title"] for r in split_test(records) for e in r["evidence"]}
    folder = tmp_path_factory.mktemp("gate-articles")
    corpus = [a for a in json.loads(MULTIHOP_CORPUS.read_text(encoding="utf-8")) if a["title"] in titles]
    (folder / "multihop.json").write_text(json.dumps(corpus), encoding="utf-8")
    csv.field_size_limit(10**9)
    for name in ("Guardians_Russia_Ukraine.csv", "NYT_Russia_Ukraine.csv"):
        with (UKRAINE / name).open(encoding="utf-8") as source, (folder / name).open("w", encoding="utf-8") as sink:
            reader = csv.DictReader(source)
            writer = csv.DictWriter(sink, fieldnames=reader.fieldnames or [])
            writer.writeheader()
            writer.writerows(row for row in reader if row["headlines"] in titles)
    pipeline = Pipeline.open(make_settings(tmp_path_factory.mktemp("gate-store")), embedder)
    report = pipeline.ingest([folder, DEMO_DIR], progress=False)
    assert len(report.added) >= 0.9 * len(titles)
    return pipeline


@pytest.mark.slow
@pytest.mark.shared_data("multihop-rag/corpus.json", "ukraine-2022/NYT_Russia_Ukraine.csv")
def test_answerable_questions_reach_the_model_and_unrelated_ones_do_not(
    evidence_store: Pipeline, fake_openai: FakeOpenAI
) -> None:
    def reply(messages: list[dict[str, str]]) -> str:  # rewrites a follow-up as the offline rule would
        if "standalone" in messages[0]["content"]:
            return heuristic_standalone(asked[-1], history)
        return "The passages say so [1]."

    fake_openai.reply = reply
    engine = llm_engine(evidence_store, fake_openai)
    assert engine.gate
    records = split_test([json.loads(line) for line in NATURAL.read_text(encoding="utf-8").splitlines()])
    by_id = {r["id"]: r for r in records}
    reached: list[bool] = []
    asked: list[str] = []
    history: list[Exchange] = []
    for record in (r for r in records if r["answerable"] and r["lang"] == "en"):
        first = by_id.get(record["follows"] or "")
        history = [Exchange(first["question"], first["question"], "…")] if first else []
        asked.append(record["question"])
        final = engine.answer(record["question"], history)
        assert final.answer is not None
        reached.append(final.answer.answerer == "fake-model")
        assert reached[-1] or final.answer.answerer == GATE
    assert sum(reached) / len(reached) >= 0.97, f"{len(reached) - sum(reached)} of {len(reached)} kept from the model"
    for question in UNRELATED:
        before = fake_openai.request_count()
        final = engine.answer(question)
        assert fake_openai.request_count() == before, question
        assert final.answer is not None and final.answer.declined and final.answer.answerer == GATE


@pytest.mark.slow
def test_the_gate_can_be_turned_off(demo_pipeline: Pipeline, fake_openai: FakeOpenAI) -> None:
    fake_openai.reply = lambda messages: "The articles do not say."
    engine = llm_engine(demo_pipeline, fake_openai)
    engine.answer("What is the boiling point of mercury?")
    assert fake_openai.request_count() == 0
    engine.gate = False
    engine.answer("What is the boiling point of mercury?")
    assert fake_openai.request_count() == 1
    off = Pipeline.open(make_settings(demo_pipeline.settings.data_dir, llm_gate="off"), demo_pipeline.embedder)
    assert not off.engine.gate
