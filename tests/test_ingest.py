"""Incremental ingest against a real embedded Chroma store."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

from rag.dates import date_number
from rag.ingest import chunk_id
from rag.loading import LoadOptions, load_file
from rag.pipeline import Pipeline
from tests.conftest import DEMO_ARTICLE


def write_jsonl(path: Path, records: list[dict[str, str]]) -> None:
    path.write_text("\n".join(json.dumps(record) for record in records) + "\n", encoding="utf-8")


def news(n: int, body: str = "") -> dict[str, str]:
    return {
        "title": f"Story {n}",
        "body": body
        or f"Story number {n} reports that the harbour of town {n} reopened after repairs. "
        "Officials said ships returned.",
        "published_at": f"2023-10-{n:02d}T10:00:00+00:00",
        "source": "Gazette",
        "url": f"https://example.com/story-{n}",
    }


def stored_chunks(pipeline: Pipeline) -> dict[str, dict]:
    return {record.id: {"text": record.text, **record.metadata} for record in pipeline.store.iter_chunks()}


def test_first_ingest_stores_chunks_with_exact_offsets(pipeline: Pipeline, articles_dir: Path) -> None:
    report = pipeline.ingest([articles_dir], progress=False)
    assert report.added == [(articles_dir / DEMO_ARTICLE.name).resolve().as_posix()]
    assert report.failures == [] and report.chunks_written > 1
    article = load_file(articles_dir / DEMO_ARTICLE.name, LoadOptions())[0][0]
    chunks = stored_chunks(pipeline)
    assert len(chunks) == report.chunks_written == pipeline.store.chunk_count()
    for record_id, chunk in chunks.items():
        assert article.text[chunk["start"] : chunk["end"]] == chunk["text"]
        assert record_id == chunk_id(article, chunk["chunk_index"])
    assert pipeline.store.article_count() == 1


def test_rerun_skips_unchanged_updates_changed_and_sync_removes_vanished(pipeline: Pipeline, tmp_path: Path) -> None:
    folder = tmp_path / "feed"
    folder.mkdir()
    write_jsonl(folder / "a.jsonl", [news(1), news(2)])
    write_jsonl(folder / "b.jsonl", [news(3)])
    first = pipeline.ingest([folder], progress=False)
    assert len(first.added) == 3
    generation = pipeline.store.generation()

    again = pipeline.ingest([folder], progress=False)
    assert (again.added, again.updated, again.unchanged, again.chunks_written) == ([], [], 3, 0)
    assert pipeline.store.generation() == generation  # nothing changed, caches stay valid

    write_jsonl(
        folder / "a.jsonl", [news(1), news(2, body="Story two was corrected: the harbour stays closed until spring.")]
    )
    (folder / "b.jsonl").unlink()
    changed = pipeline.ingest([folder], progress=False, sync=True)
    assert changed.updated == ["https://example.com/story-2"]
    assert changed.removed == ["https://example.com/story-3"]
    assert changed.unchanged == 1
    texts = [chunk["text"] for chunk in stored_chunks(pipeline).values()]
    assert any("stays closed until spring" in text for text in texts)
    assert not any("town 2 reopened" in text for text in texts)  # old version gone
    assert not any("town 3" in text for text in texts)
    assert set(pipeline.store.manifest()) == {"https://example.com/story-1", "https://example.com/story-2"}
    assert pipeline.store.generation() == generation + 1


def test_without_sync_vanished_articles_stay(pipeline: Pipeline, tmp_path: Path) -> None:
    folder = tmp_path / "feed"
    folder.mkdir()
    write_jsonl(folder / "a.jsonl", [news(1)])
    pipeline.ingest([folder], progress=False)
    (folder / "a.jsonl").unlink()
    report = pipeline.ingest([folder], progress=False)
    assert report.removed == [] and pipeline.store.article_count() == 1


def test_bad_files_are_reported_and_their_articles_kept(pipeline: Pipeline, tmp_path: Path) -> None:
    folder = tmp_path / "feed"
    folder.mkdir()
    write_jsonl(folder / "a.jsonl", [news(1)])
    write_jsonl(folder / "b.jsonl", [news(2)])
    pipeline.ingest([folder], progress=False)
    (folder / "b.jsonl").write_bytes(b"\xff\xfe\x00garbage")  # b.jsonl is now unreadable
    (folder / "empty.txt").write_text("")
    report = pipeline.ingest([folder], progress=False, sync=True)
    assert {Path(f.path.split("#")[0]).name for f in report.failures} == {"b.jsonl", "empty.txt"}
    assert report.removed == []  # story 2 survives: its file failed, it did not vanish
    assert set(pipeline.store.manifest()) == {"https://example.com/story-1", "https://example.com/story-2"}


def test_interrupted_run_is_finished_by_the_next(pipeline: Pipeline, tmp_path: Path, monkeypatch) -> None:
    folder = tmp_path / "feed"
    folder.mkdir()
    write_jsonl(folder / "a.jsonl", [news(n) for n in range(1, 6)])
    store = pipeline.store
    real_commit = store.commit_articles

    def crash(records):  # chunks are written, then the process "dies" before committing
        raise KeyboardInterrupt

    monkeypatch.setattr(store, "commit_articles", crash)
    with contextlib.suppress(KeyboardInterrupt):
        pipeline.ingest([folder], progress=False)
    assert store.chunk_count() > 0 and store.article_count() == 0  # orphans, nothing committed
    monkeypatch.setattr(store, "commit_articles", real_commit)
    report = pipeline.ingest([folder], progress=False)
    assert report.swept > 0 and len(report.added) == 5
    assert store.chunk_count() == sum(r.chunk_count for r in store.manifest().values())


def test_duplicate_ids_across_files_are_reported(pipeline: Pipeline, tmp_path: Path) -> None:
    folder = tmp_path / "feed"
    folder.mkdir()
    write_jsonl(folder / "a.jsonl", [news(1)])
    write_jsonl(folder / "b.jsonl", [news(1)])
    report = pipeline.ingest([folder], progress=False)
    assert len(report.added) == 1
    assert len(report.failures) == 1 and "duplicate article id" in report.failures[0].reason


def test_date_number() -> None:
    assert date_number("2022-03-30") == 20220330
    assert date_number("2022-03") == 20220301
    assert date_number("2022") == 20220101
    assert date_number("") == 0


def test_ingest_saves_the_lexical_index_before_publishing_its_generation(pipeline: Pipeline, tmp_path: Path) -> None:
    """Readers (the app) find the BM25 index of a new generation ready instead of building it mid-request."""
    folder = tmp_path / "feed"
    folder.mkdir()
    write_jsonl(folder / "a.jsonl", [news(1)])
    pipeline.ingest([folder], progress=False)
    generation = pipeline.store.generation()
    saved = sorted(path.name for path in pipeline.lexical.directory.iterdir())
    assert saved == [f"v2-gen-{generation}"]
    write_jsonl(folder / "a.jsonl", [news(1), news(2)])
    pipeline.ingest([folder], progress=False)
    assert (pipeline.lexical.directory / f"v2-gen-{generation + 1}" / "ids.json").exists()
