"""What the web app needs from the store, on real Chroma: opening never creates a collection,
and a whole article comes back from its chunks."""

from __future__ import annotations

import pytest

from rag.errors import StoreError
from rag.ingest.files import LoadOptions, load_file
from rag.pipeline import Pipeline
from rag.web.overview import read_overview
from rag.web.render import article_text
from tests.conftest import DEMO_ARTICLE


def test_opening_an_unknown_collection_is_an_error_and_creates_nothing(demo_pipeline: Pipeline) -> None:
    settings = demo_pipeline.settings.model_copy(update={"collection": "nwes"})
    with pytest.raises(StoreError, match=r"There is no collection named 'nwes' in .*; existing: test\. Choose one of"):
        Pipeline.open(settings, demo_pipeline.embedder, create=False)
    assert demo_pipeline.store.collection_names() == ["test"]
    assert Pipeline.open(demo_pipeline.settings, demo_pipeline.embedder, create=False).store.article_count() == 1


def test_a_whole_article_is_rebuilt_from_its_chunks(demo_pipeline: Pipeline) -> None:
    (article,), _ = load_file(DEMO_ARTICLE, LoadOptions())
    chunks = demo_pipeline.store.article_chunks(article.id)
    assert len(chunks) > 1 and article_text(chunks) == article.text
    overview = read_overview(demo_pipeline.store)
    assert overview.line() == "Collection **test**: 1 article from 1 source, 2022-03-30 (6 passages)"
