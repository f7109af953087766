"""Retrieval modes, filters and fusion against a real embedded Chroma store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.pipeline import Pipeline
from rag.retrieval import QueryFilters, reciprocal_rank_fusion
from tests.conftest import make_settings

STORIES = [
    ("harbour", "2023-09-05", "Gazette", "The harbour of Portvale reopened after the storm; fishing boats returned on Monday."),
    ("election", "2023-10-12", "Herald", "Voters in Northshire elected a new mayor, Dana Whitfield, by a narrow margin."),
    ("vaccine", "2023-11-20", "Gazette", "Health officials approved a new influenza vaccine for adults over sixty-five."),
    ("bridge", "2023-11-28", "Herald", "Engineers closed the Kestrel Bridge after inspectors found cracks in two supports."),
]


@pytest.fixture
def news_pipeline(tmp_path: Path, embedder) -> Pipeline:
    path = tmp_path / "news.jsonl"
    path.write_text(
        "\n".join(
            json.dumps({"title": t, "published_at": d, "source": s, "url": f"https://e.com/{t}", "body": b})
            for t, d, s, b in STORIES
        ),
        encoding="utf-8",
    )
    pipeline = Pipeline.open(make_settings(tmp_path / "store"), embedder)
    pipeline.ingest([path], progress=False)
    return pipeline


def test_rrf_rewards_agreement() -> None:
    fused = reciprocal_rank_fusion([["a", "b", "c"], ["b", "c", "d"]], k=60)
    assert [item for item, _ in fused] == ["b", "c", "a", "d"]
    assert fused[0][1] == pytest.approx(1 / 62 + 1 / 61)


@pytest.mark.parametrize("mode", ["dense", "bm25", "hybrid"])
def test_each_mode_finds_the_right_story(news_pipeline: Pipeline, mode: str) -> None:
    news_pipeline.retriever.mode = mode
    passages = news_pipeline.retriever.retrieve("Which bridge was closed because of cracks?", k=2)
    assert passages[0].title == "bridge"
    assert passages[0].date == "2023-11-28" and passages[0].source == "Herald"
    assert passages[0].url == "https://e.com/bridge"
    assert -1.0 <= passages[0].similarity <= 1.0


def test_paraphrase_needs_dense(news_pipeline: Pipeline) -> None:
    news_pipeline.retriever.mode = "dense"
    assert news_pipeline.retriever.retrieve("flu shot for older people", k=1)[0].title == "vaccine"


@pytest.mark.parametrize("mode", ["dense", "bm25", "hybrid"])
def test_filters_apply_in_every_mode(news_pipeline: Pipeline, mode: str) -> None:
    news_pipeline.retriever.mode = mode
    query = "harbour bridge vaccine election"
    november = news_pipeline.retriever.retrieve(query, k=4, filters=QueryFilters(date_from="2023-11"))
    assert {p.title for p in november} == {"vaccine", "bridge"}
    gazette = news_pipeline.retriever.retrieve(query, k=4, filters=QueryFilters(sources=("Gazette",)))
    assert {p.title for p in gazette} == {"harbour", "vaccine"}
    until_october = news_pipeline.retriever.retrieve(query, k=4, filters=QueryFilters(date_to="2023-10"))
    assert {p.title for p in until_october} == {"harbour", "election"}


def test_lexical_index_follows_new_ingests(news_pipeline: Pipeline, tmp_path: Path) -> None:
    news_pipeline.retriever.mode = "bm25"
    assert news_pipeline.retriever.retrieve("zeppelin", k=3) == []
    extra = tmp_path / "extra.txt"
    extra.write_text("A zeppelin landed in the town square to everyone's surprise.", encoding="utf-8")
    news_pipeline.ingest([extra], progress=False)
    assert "zeppelin" in news_pipeline.retriever.retrieve("zeppelin", k=3)[0].text


def test_empty_store_returns_nothing(pipeline: Pipeline) -> None:
    for mode in ("dense", "bm25", "hybrid"):
        pipeline.retriever.mode = mode
        assert pipeline.retriever.retrieve("anything", k=3) == []


def test_embedded_reader_sees_another_process_ingest(news_pipeline: Pipeline, tmp_path: Path) -> None:
    """The web app's situation: it keeps its store open while `ingest.py` runs in another process."""
    import subprocess
    import sys

    from tests.conftest import ROOT, clean_env

    news_pipeline.retriever.mode = "dense"
    query = "Which hot air balloon team won the race over the lake?"
    assert "balloon" not in news_pipeline.retriever.retrieve(query, k=1)[0].text
    extra = tmp_path / "balloon.txt"
    extra.write_text("A hot air balloon race over the lake was won by a team from Lyon.", encoding="utf-8")
    env = clean_env(RAG_DATA_DIR=str(news_pipeline.settings.data_dir), RAG_COLLECTION=news_pipeline.settings.collection)
    subprocess.run([sys.executable, "ingest.py", "--quiet", str(extra)], cwd=ROOT, env=env, check=True, capture_output=True)
    assert "balloon" in news_pipeline.retriever.retrieve(query, k=1)[0].text
