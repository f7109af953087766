"""Settings reach the parts: a pipeline opened with non-default settings uses every one of them."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rag.answer.extractive import Assessment
from rag.pipeline import Pipeline
from tests.conftest import DEMO_DIR, make_settings
from tests.fake_embedder import HashEmbedder


def test_non_default_settings_reach_every_part(tmp_path: Path, fast_embedder: HashEmbedder) -> None:
    settings = make_settings(
        tmp_path / "store",
        collection="wired",
        retrieval_mode="bm25",
        candidates=17,
        query_hints=False,
        top_k=3,
        answer_threshold=0.5,
        llm_gate="off",
        chunk_tokens=60,
        chunk_overlap=0,
    )
    pipeline = Pipeline.open(settings, fast_embedder)
    assert pipeline.store.name == "wired"
    assert (pipeline.retriever.mode, pipeline.retriever.candidates, pipeline.retriever.hints) == ("bm25", 17, False)
    assert pipeline.engine.top_k == 3
    extractive = pipeline.engine.extractive
    assert extractive.declines(Assessment([], np.zeros(0), probability=0.49, relevance=1.0))
    assert not extractive.declines(Assessment([], np.zeros(0), probability=0.5, relevance=0.0))  # the given one alone
    assert not pipeline.engine.gate
    assert pipeline.engine.llm is None

    report = pipeline.ingest([DEMO_DIR], progress=False)
    default = Pipeline.open(make_settings(tmp_path / "default-store"), fast_embedder).ingest([DEMO_DIR], progress=False)
    assert report.chunks_written > 2 * default.chunks_written  # 60-token chunks, no overlap
    assert len(pipeline.engine.answer("What guarantees does Kyiv want?").passages) == 3
