"""`rag list | show | remove | stats | collections` and the empty-collection notice, on a real store."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from rag import cli
from rag.ingest.identity import canonical_url
from rag.pipeline import Pipeline
from rag.store import library
from tests.conftest import DEMO_DIR, MULTIHOP_CORPUS
from tests.ingest.test_ingest import news, write_jsonl


@pytest.fixture
def pipeline(model_pipeline: Pipeline) -> Pipeline:
    """`rag.cli.main` reopens the store with the real model, so the store is built with it."""
    return model_pipeline


@pytest.fixture
def filled(pipeline: Pipeline, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Pipeline:
    for name in [n for n in os.environ if n.startswith(("RAG_", "CHROMA_", "OPENAI_"))]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no .env
    folder = tmp_path / "articles"
    folder.mkdir()
    records = [news(n) for n in (1, 2, 3)]
    records[2]["source"] = "Herald"
    write_jsonl(folder / "news.jsonl", records)
    pipeline.ingest([folder, DEMO_DIR], progress=False)
    return pipeline


def run_cli(pipeline: Pipeline, *args: str) -> int:
    settings = pipeline.settings
    return cli.main([*args, "--data-dir", str(settings.data_dir), "--collection", settings.collection])


def test_list_json_newest_first_and_filtered(filled: Pipeline, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(filled, "list", "--json") == 0
    listed = json.loads(capsys.readouterr().out)
    assert [a["date"] for a in listed] == ["2023-10-03", "2023-10-02", "2023-10-01", "2022-03-30"]
    assert {"id", "title", "date", "source", "url", "chunks"} <= set(listed[0])
    assert listed[0]["url"] == listed[0]["id"] == "https://example.com/story-3" and listed[0]["chunks"] >= 1
    assert run_cli(filled, "list", "--json", "--source", "Gazette", "--from", "2023-10-02") == 0
    assert [a["title"] for a in json.loads(capsys.readouterr().out)] == ["Story 2"]
    assert run_cli(filled, "list", "--to", "2023-02-30") == 2
    assert "is not a date" in capsys.readouterr().err


def test_show_prints_metadata_and_the_stored_text(filled: Pipeline, capsys: pytest.CaptureFixture[str]) -> None:
    demo = next(a for a in library.articles(filled.store) if a.date == "2022-03-30")
    assert run_cli(filled, "show", demo.id) == 0
    out = capsys.readouterr().out
    assert out.startswith(demo.title) and f"id: {demo.id}" in out and "chunks:" in out
    original = (DEMO_DIR / "istanbul-talks-2022-03.txt").read_text(encoding="utf-8")
    assert "Oleg Nikolenko, a spokesman for Ukraine’s foreign ministry" in out
    assert out.rstrip().endswith(original.rstrip()[-80:])  # overlapping chunks joined back into the text
    assert run_cli(filled, "show", "no-such-id") == 2
    assert "`rag list` shows the ids" in capsys.readouterr().err


def test_remove_by_id_source_and_date(filled: Pipeline, capsys: pytest.CaptureFixture[str]) -> None:
    store = filled.store
    assert run_cli(filled, "remove", "https://example.com/story-1") == 0
    assert "https://example.com/story-1" not in store.manifest()
    assert run_cli(filled, "remove", "--source", "Herald", "--dry-run") == 0
    assert "would remove 1" in capsys.readouterr().out and store.article_count() == 3
    assert run_cli(filled, "remove", "--source", "Herald") == 0
    assert run_cli(filled, "remove", "--before", "2023") == 0  # the 2022 demo article
    assert set(store.manifest()) == {"https://example.com/story-2"}
    assert store.chunk_count() == store.manifest()["https://example.com/story-2"].chunk_count
    assert run_cli(filled, "remove", "--source", "Nobody") == 2
    assert run_cli(filled, "remove") == 2
    hits = filled.retriever.retrieve("harbour of town 2 reopened", 5)
    assert {p.article_id for p in hits} == {"https://example.com/story-2"}  # the BM25 index followed


def test_stats_and_collections(filled: Pipeline, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(filled, "stats", "--json") == 0
    stats = json.loads(capsys.readouterr().out)
    assert (stats["articles"], stats["first_date"], stats["last_date"]) == (4, "2022-03-30", "2023-10-03")
    assert stats["sources"] == {"Gazette": 2, "News report (demo article)": 1, "Herald": 1}
    assert stats["chunks"] == filled.store.chunk_count() and stats["disk_bytes"] > 0
    assert stats["embedder"] == filled.store.model_id
    assert run_cli(filled, "collections") == 0
    assert f"* {filled.settings.collection}  (" in capsys.readouterr().out


def test_an_empty_collection_says_how_to_add_articles(
    pipeline: Pipeline, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    assert run_cli(pipeline, "list") == 0
    assert "is empty" in capsys.readouterr().out
    assert run_cli(pipeline, "ask", "Who won?") == 1
    assert "rag ingest" in capsys.readouterr().err
    assert "rag ingest --feed" in library.empty_notice("news")
    where = ["--data-dir", str(pipeline.settings.data_dir), "--collection", "nothing-here"]
    for command in (["list"], ["stats"], ["show", "x"], ["remove", "x"], ["ask", "Who won?"]):
        assert cli.main([*command, *where]) == 2, command  # a configuration error; nothing created
        assert "There is no collection named 'nothing-here'" in capsys.readouterr().err
    assert pipeline.store.collection_names() == ["test"]


@pytest.mark.slow
@pytest.mark.shared_data("multihop-rag/corpus.json")
def test_read_only_commands_on_real_multihop_articles(
    pipeline: Pipeline, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    records = json.loads(MULTIHOP_CORPUS.read_text(encoding="utf-8"))[:12]  # a dozen real articles: enough, and quick
    folder = tmp_path / "multihop"
    folder.mkdir()
    (folder / "corpus.json").write_text(json.dumps(records), encoding="utf-8")
    pipeline.ingest([folder], progress=False)
    where = ["--data-dir", str(pipeline.settings.data_dir), "--collection", pipeline.settings.collection]
    assert cli.main(["list", "--json", *where]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert {a["url"] for a in listed} == {canonical_url(r["url"]) for r in records}
    assert [a["date"] for a in listed] == sorted((a["date"] for a in listed), reverse=True)
    assert cli.main(["show", listed[0]["id"], *where]) == 0
    assert listed[0]["title"] in capsys.readouterr().out
    assert cli.main(["stats", "--json", *where]) == 0
    assert json.loads(capsys.readouterr().out)["articles"] == len(records)
    assert cli.main(["collections", *where]) == 0
    assert pipeline.settings.collection in capsys.readouterr().out


def test_list_show_stats_and_remove_do_not_load_the_embedding_model(
    filled: Pipeline, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 19, case 10: the management commands read the store with the model's name only."""

    def no_model(*args: object, **kwargs: object) -> None:
        raise AssertionError("the embedding model was loaded")

    monkeypatch.setattr("rag.models.embedding.MiniLMEmbedder.__init__", no_model)
    assert run_cli(filled, "list") == 0
    assert capsys.readouterr().out.rstrip().endswith("\n4 articles")
    assert run_cli(filled, "show", "https://example.com/story-1") == 0
    assert "  file: " in capsys.readouterr().out  # a local article's origin is a file
    assert run_cli(filled, "stats") == 0
    assert run_cli(filled, "remove", "https://example.com/story-1") == 0
    assert capsys.readouterr().out.rstrip().endswith("removed 1 article from 'test'")
