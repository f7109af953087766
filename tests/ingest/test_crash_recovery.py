"""A crash in the middle of an update, then the file reverted or removed: the next run must
sweep the half-written version, so every stored chunk belongs to the committed version of
its article. (Re-running the same update would overwrite the orphans by id and hide a
missing sweep; reverting or removing the file does not.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.config import Settings
from rag.pipeline import Pipeline
from tests.conftest import make_settings
from tests.fake_embedder import HashEmbedder

FIRST = "Title: Harbour works\n\nThe harbour will close for repairs in May. Ships will dock in the north basin."
SECOND = "Title: Harbour works\n\nThe harbour reopened early. The repairs took three weeks and cost four million."
OTHER = "Title: Bridge\n\nThe old bridge will be repainted green next spring by the city."


class Crash(Exception):
    """Stands for the process dying between writing an article's chunks and committing it."""


def crash_during_update(settings: Settings, embedder: HashEmbedder, folder: Path) -> None:
    pipeline = Pipeline.open(settings, embedder)

    def die(*_: object) -> None:
        raise Crash

    pipeline.store.commit_articles = die  # type: ignore[method-assign]
    with pytest.raises(Crash):
        pipeline.ingest([folder], progress=False)


def assert_store_matches_manifest(settings: Settings, embedder: HashEmbedder) -> dict[str, int]:
    store = Pipeline.open(settings, embedder).store
    manifest = store.manifest()
    chunks_per_article: dict[str, int] = {}
    for chunk in store.iter_chunks():
        article_id = str(chunk.metadata["article_id"])
        assert article_id in manifest, f"chunk {chunk.id} belongs to no committed article"
        assert chunk.metadata["article_hash"] == manifest[article_id].content_hash, f"stale chunk {chunk.id}"
        chunks_per_article[article_id] = chunks_per_article.get(article_id, 0) + 1
    assert chunks_per_article == {article_id: record.chunk_count for article_id, record in manifest.items()}
    return chunks_per_article


@pytest.mark.parametrize("then", ["revert", "remove"])
def test_crashed_update_is_swept_when_the_file_changes_back(
    tmp_path: Path, fast_embedder: HashEmbedder, then: str
) -> None:
    folder = tmp_path / "articles"
    folder.mkdir()
    harbour, other = folder / "harbour.txt", folder / "other.txt"
    harbour.write_text(FIRST, encoding="utf-8")
    other.write_text(OTHER, encoding="utf-8")
    settings = make_settings(tmp_path / "store")
    assert Pipeline.open(settings, fast_embedder).ingest([folder], progress=False).added

    harbour.write_text(SECOND, encoding="utf-8")
    crash_during_update(settings, fast_embedder, folder)
    if then == "revert":
        harbour.write_text(FIRST, encoding="utf-8")
    else:
        harbour.unlink()

    report = Pipeline.open(settings, fast_embedder).ingest([folder], sync=True, progress=False)
    assert report.swept > 0
    chunks = assert_store_matches_manifest(settings, fast_embedder)
    assert len(chunks) == (2 if then == "revert" else 1)
