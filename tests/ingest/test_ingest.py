"""Incremental ingest against a real embedded Chroma store."""

from __future__ import annotations

import contextlib
import json
import shutil
from pathlib import Path

import pytest

from rag.ingest.files import LoadOptions, load_file
from rag.ingest.run import chunk_id
from rag.pipeline import Pipeline
from rag.search.lexical import Bm25Index
from rag.text.dates import date_number
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
    article = load_file(articles_dir / DEMO_ARTICLE.name, LoadOptions())[0][0]
    assert report.added == [article.id] and article.id.startswith("text:")
    assert report.failures == [] and report.chunks_written > 1
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
    write_jsonl(folder / "c.jsonl", [news(3) | {"published_at": "the 3rd"}])
    report = pipeline.ingest([folder / "c.jsonl"], progress=False)
    assert report.added == ["https://example.com/story-3"] and report.failures == []  # stored: not a failure
    assert [Path(note.path).name for note in report.notes] == ["c.jsonl#line 1"] and "the 3rd" in report.notes[0].reason


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
    write_jsonl(folder / "b.jsonl", [news(1, body="Another text under the same URL as story one.")])
    report = pipeline.ingest([folder], progress=False)
    assert len(report.added) == 1
    assert len(report.failures) == 1 and "duplicate article id" in report.failures[0].reason


def test_the_same_text_under_two_names_is_stored_once(pipeline: Pipeline, tmp_path: Path) -> None:
    folder = tmp_path / "feed"
    folder.mkdir()
    text = "The harbour reopened on Monday after a year of repairs, officials said."
    (folder / "one.txt").write_text(text)
    (folder / "copy-of-one.txt").write_text(text)
    write_jsonl(folder / "a.jsonl", [news(1)])
    write_jsonl(folder / "b.jsonl", [news(1)])  # the same record twice
    report = pipeline.ingest([folder], progress=False)
    assert len(report.added) == 2 and len(report.duplicates) == 2 and report.failures == []
    assert pipeline.store.article_count() == 2


def test_moving_a_folder_and_syncing_keeps_one_copy_and_embeds_nothing(pipeline: Pipeline, tmp_path: Path) -> None:
    folder = tmp_path / "old"
    folder.mkdir()
    shutil.copy(DEMO_ARTICLE, folder / DEMO_ARTICLE.name)
    write_jsonl(folder / "a.jsonl", [news(1), {k: v for k, v in news(2).items() if k != "url"}])
    first = pipeline.ingest([folder], progress=False)
    assert len(first.added) == 3
    chunks_before = stored_chunks(pipeline)
    moved = tmp_path / "archive" / "new"
    moved.parent.mkdir()
    folder.rename(moved)
    (moved / DEMO_ARTICLE.name).rename(moved / "renamed.txt")
    report = pipeline.ingest([moved], progress=False, sync=True)
    assert (report.added, report.updated, report.removed, report.embedded, report.chunks_written) == ([], [], [], 0, 0)
    assert report.unchanged == 3 and len(report.relocated) == 3
    assert stored_chunks(pipeline) == chunks_before  # one copy, untouched
    origins = {record.origin for record in pipeline.store.manifest().values()}
    assert origins == {(moved / "renamed.txt").resolve().as_posix(), (moved / "a.jsonl").resolve().as_posix()}
    again = pipeline.ingest([moved], progress=False, sync=True)
    assert not again.changed and again.unchanged == 3


def test_editing_a_file_replaces_its_article(pipeline: Pipeline, tmp_path: Path) -> None:
    path = tmp_path / "story.txt"
    path.write_text("The harbour reopened on Monday after a year of repairs, officials said.")
    pipeline.ingest([path], progress=False)
    path.write_text("The harbour stays closed until spring, officials said on Tuesday.")
    report = pipeline.ingest([path], progress=False)
    assert len(report.updated) == 1 and report.added == []
    texts = [chunk["text"] for chunk in stored_chunks(pipeline).values()]
    assert texts == ["The harbour stays closed until spring, officials said on Tuesday."]
    assert pipeline.store.article_count() == 1


def test_inserting_a_record_without_url_keeps_the_others_ids(pipeline: Pipeline, tmp_path: Path) -> None:
    def no_url(n: int) -> dict[str, str]:
        return {k: v for k, v in news(n).items() if k != "url"}

    path = tmp_path / "a.jsonl"
    write_jsonl(path, [no_url(1), no_url(3)])
    pipeline.ingest([path], progress=False)
    write_jsonl(path, [no_url(2), no_url(1), no_url(3)])
    report = pipeline.ingest([path], progress=False)
    assert len(report.added) == 1 and report.unchanged == 2 and report.updated == []


def test_date_number() -> None:
    assert date_number("2022-03-30") == 20220330
    assert date_number("2022-03") == 20220301
    assert date_number("2022") == 20220101
    assert date_number("") == 0


def test_ingest_saves_the_lexical_index_before_publishing_its_generation(pipeline: Pipeline, tmp_path: Path) -> None:
    """Readers (the app) find the BM25 index of a new generation ready instead of building it mid-request."""
    folder = tmp_path / "feed"
    folder.mkdir()
    for articles in ([news(1)], [news(1), news(2)]):
        write_jsonl(folder / "a.jsonl", articles)
        pipeline.ingest([folder], progress=False)
        reader = Bm25Index(pipeline.lexical.directory)  # another process's view of the same index
        reader.refresh(pipeline.store)
        assert reader.last_delta is None  # it had nothing to build or catch up
        scores = reader.scores("story")
        assert scores is not None and len(scores.top(10)) == len(articles)


def test_a_re_published_story_is_stored_once_with_its_other_sources(pipeline: Pipeline, tmp_path: Path) -> None:
    wire = (
        "Officials in the port city said on Monday that the new ferry line will start service in March, linking "
        "the two islands for the first time in a decade. The regional government will pay for two ships, and "
        "tickets will cost the same as a bus fare. Local businesses welcomed the plan, saying it would bring "
        "visitors back after a difficult few years. The first ship is being built at a yard in the north and "
        "will be tested at sea in February before carrying passengers."
    )
    original = news(1, body=wire)
    copy = news(2, body=wire.replace("on Monday", "on Monday, according to Reuters,") + " Reuters contributed.")
    copy |= {"source": "Daily Wire Reprints", "title": "Ferry line to link islands"}
    other = news(3)
    path = tmp_path / "a.jsonl"
    write_jsonl(path, [original, copy, other])
    report = pipeline.ingest([path], progress=False)
    assert sorted(report.added) == ["https://example.com/story-1", "https://example.com/story-3"]
    assert report.syndicated == [("https://example.com/story-2", "https://example.com/story-1")]
    hits = pipeline.retriever.retrieve("When will the ferry line start service?", 3)
    assert hits[0].article_id == "https://example.com/story-1"
    assert hits[0].also_published_by == ("Daily Wire Reprints",)
    assert len({p.article_id for p in hits if "ferry" in p.text}) == 1  # the story cannot be cited twice
    again = pipeline.ingest([path], progress=False)
    assert not again.changed and again.unchanged == 3
    record = pipeline.store.manifest()["https://example.com/story-1"]
    assert [(c.id, c.source, c.url) for c in record.also] == [
        ("https://example.com/story-2", "Daily Wire Reprints", "https://example.com/story-2")
    ]


def test_a_store_built_before_canonical_urls_is_migrated(
    pipeline: Pipeline, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "a.jsonl"
    write_jsonl(path, [news(1) | {"url": "https://Example.com/story-1?ref=rss&utm_source=rss"}, news(2)])
    with monkeypatch.context() as old_version:
        old_version.setattr("rag.ingest.files.canonical_url", lambda url: url)
        pipeline.ingest([path], progress=False)
    assert "https://Example.com/story-1?ref=rss&utm_source=rss" in pipeline.store.manifest()
    report = pipeline.ingest([path], progress=False)
    assert report.updated == ["https://example.com/story-1"] and report.added == [] and report.unchanged == 1
    assert set(pipeline.store.manifest()) == {"https://example.com/story-1", "https://example.com/story-2"}
    assert {c.metadata["article_id"] for c in pipeline.store.iter_chunks()} == set(pipeline.store.manifest())
