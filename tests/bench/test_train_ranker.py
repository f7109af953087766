"""bench/train_ranker.py on a small sample: the demo article's natural questions and a few traps,
through a real store and the real embedder; the weights it writes load and answer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import train_ranker
from rag.answer.extractive import ExtractiveAnswerer
from rag.answer.ranker import RankerModel
from rag.pipeline import Pipeline
from tests.conftest import ROOT

NATURAL = ROOT / "demo" / "natural-questions.jsonl"


@pytest.mark.slow
def test_training_on_a_small_sample_writes_weights_that_answer(demo_pipeline: Pipeline, tmp_path: Path) -> None:
    records = [json.loads(line) for line in NATURAL.read_text(encoding="utf-8").splitlines()]
    demo = [r for r in records if r["corpus"] == "demo"]
    traps = [r | {"corpus": "demo", "follows": None} for r in records if not r["answerable"] and not r["follows"]][:10]
    sample = tmp_path / "sample.jsonl"
    sample.write_text("".join(json.dumps(r | {"split": "dev"}) + "\n" for r in demo + traps), encoding="utf-8")
    out = tmp_path / "ranker.json"
    store = demo_pipeline.settings
    argv = ["--natural", str(sample), "--natural-store", str(store.data_dir), "--collection", store.collection]
    assert train_ranker.main([*argv, "--corpora", "demo", "--folds", "2", "--out", str(out)]) == 0

    model = RankerModel.load(out)
    assert model.about["trained_on"] == {"natural": len(demo) + len(traps)}
    thresholds = (model.answer_threshold, model.relevance_threshold, model.small_threshold, model.gate_threshold)
    assert all(0.0 <= t < 1.0 for t in thresholds) and model.small_threshold > 0.0
    answerer = ExtractiveAnswerer(demo_pipeline.embedder, model, demo_pipeline.lexical.document_frequency)
    passages = demo_pipeline.retriever.retrieve("What guarantees does Kyiv want?", 5)
    assessment = answerer.assess("What guarantees does Kyiv want?", passages)
    assert assessment.ranked and 0.0 < assessment.probability < 1.0


@pytest.mark.slow
def test_the_cross_encoders_training_questions_are_collected_with_labels(
    demo_pipeline: Pipeline, tmp_path: Path
) -> None:
    from bench import train_cross_encoder

    records = [json.loads(line) for line in NATURAL.read_text(encoding="utf-8").splitlines()]
    demo = [r | {"split": "dev"} for r in records if r["corpus"] == "demo"]
    sample = tmp_path / "sample.jsonl"
    sample.write_text("".join(json.dumps(r) + "\n" for r in demo), encoding="utf-8")
    groups = tmp_path / "groups.jsonl"
    store = demo_pipeline.settings
    argv = ["collect", "--natural", str(sample), "--training", str(sample), "--corpora", "demo"]
    argv += ["--natural-store", str(store.data_dir), "--collection", store.collection, "--groups", str(groups)]
    assert train_cross_encoder.main(argv) == 0

    written = [json.loads(line) for line in groups.read_text(encoding="utf-8").splitlines()]
    assert [g["number"] for g in written] == list(range(len(demo)))  # the sample's "train" split is empty
    answered = [any(c["label"] for c in g["candidates"]) for g, r in zip(written, demo, strict=True) if r["answerable"]]
    assert sum(answered) >= len(answered) / 2
    declined = [g for g, r in zip(written, demo, strict=True) if not r["answerable"]]
    assert all(c["label"] == 0 for g in declined for c in g["candidates"])
    assert all(c["text"] and isinstance(c["linear"], float) for g in written for c in g["candidates"])
