"""The manifest a writer saves when it publishes (rag.store.manifest_cache): the next run starts from it
instead of scanning the manifest collection, but only while it still matches the store."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rag.config import Settings
from rag.pipeline import Pipeline
from rag.store import library
from rag.store.chroma import ArticleRecord, ChunkStore
from tests.conftest import make_settings
from tests.fake_embedder import HashEmbedder
from tests.ingest.test_ingest import news, write_jsonl


class Scans:
    """Counts the scans of the manifest collection a store makes."""

    def __init__(self, store: ChunkStore) -> None:
        self.count, self._all = 0, store.articles.all
        store.articles.all = self  # type: ignore[method-assign]

    def __call__(self) -> dict[str, ArticleRecord]:
        self.count += 1
        return self._all()


def opened(settings: Settings, embedder: HashEmbedder) -> tuple[Pipeline, Scans]:
    pipeline = Pipeline.open(settings, embedder)
    return pipeline, Scans(pipeline.store)


def ingest(pipeline: Pipeline, folder: Path, numbers: range) -> None:
    write_jsonl(folder / f"news-{numbers.start}.jsonl", [news(n) for n in numbers])
    pipeline.ingest([folder], progress=False)


def scanned(pipeline: Pipeline) -> dict[str, ArticleRecord]:
    """The manifest as a scan reads it (not counted)."""
    spy = pipeline.store.articles.all
    return spy._all() if isinstance(spy, Scans) else spy()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / "articles"
    path.mkdir()
    return path


def test_the_next_run_starts_from_the_saved_manifest(tmp_path: Path, folder: Path, fast_embedder: HashEmbedder) -> None:
    settings = make_settings(tmp_path / "store")
    first, scans = opened(settings, fast_embedder)
    ingest(first, folder, range(1, 4))
    assert scans.count == 1  # nothing saved yet

    second, scans = opened(settings, fast_embedder)
    changed = news(2, body="Story two was corrected: the harbour stays shut.")
    write_jsonl(folder / "news-1.jsonl", [news(1), changed, news(3)])
    (folder / "news-1.jsonl").replace(folder / "moved.jsonl")  # articles 1 and 3 move with it, 2 changes
    ingest(second, folder, range(4, 6))
    assert scans.count == 0
    assert len(scanned(second)) == 5 and scanned(second)["https://example.com/story-1"].origin.endswith("moved.jsonl")
    third, scans = opened(settings, fast_embedder)
    assert third.ingest([folder], progress=False).unchanged == 5  # the saved copy knew every change
    assert scans.count == 0
    assert third.store.manifest() == scanned(third)  # outside a run: a scan, and the same records


def test_a_removal_and_a_stale_copy_are_not_trusted(tmp_path: Path, folder: Path, fast_embedder: HashEmbedder) -> None:
    settings = make_settings(tmp_path / "store")
    pipeline, _ = opened(settings, fast_embedder)
    ingest(pipeline, folder, range(1, 4))
    saved = settings.data_dir / "manifest" / f"{settings.collection}.json"
    shutil.copy(saved, tmp_path / "old.json")

    library.remove(pipeline.store, ["https://example.com/story-2"])  # publishes a generation, saves no copy
    (folder / "news-1.jsonl").unlink()
    reader, scans = opened(settings, fast_embedder)
    reader.ingest([folder], progress=False)
    assert scans.count == 1 and set(scanned(reader)) == {"https://example.com/story-1", "https://example.com/story-3"}

    shutil.copy(tmp_path / "old.json", saved)  # e.g. a copy from another machine's data directory
    ingest(reader, folder, range(7, 8))
    assert scans.count == 2
    assert set(scanned(reader)) == {f"https://example.com/story-{n}" for n in (1, 3, 7)}

    saved.write_text("{not json", encoding="utf-8")
    again, scans = opened(settings, fast_embedder)
    assert again.ingest([folder], progress=False).unchanged == 1 and scans.count == 1  # story 7's file is left


def test_a_crashed_run_makes_the_next_one_scan(tmp_path: Path, folder: Path, fast_embedder: HashEmbedder) -> None:
    settings = make_settings(tmp_path / "store")
    ingest(Pipeline.open(settings, fast_embedder), folder, range(1, 3))
    crashing = Pipeline.open(settings, fast_embedder)
    commit = crashing.store.commit_articles

    def commit_then_die(records: list[ArticleRecord]) -> None:
        commit(records)  # the manifest changed, no generation published
        raise RuntimeError("killed")

    crashing.store.commit_articles = commit_then_die  # type: ignore[method-assign]
    with pytest.raises(RuntimeError):
        ingest(crashing, folder, range(3, 4))
    assert crashing.store.manifest() == scanned(crashing)  # the failed run left no copy in the process

    after, scans = opened(settings, fast_embedder)
    report = after.ingest([folder], progress=False)
    assert scans.count == 2 and report.unchanged == 3  # the sweep's scan and the run's: no saved copy trusted
    assert set(scanned(after)) == {f"https://example.com/story-{n}" for n in (1, 2, 3)}
