"""The llama-index adapters: our embedder and retriever inside llama-index."""

from __future__ import annotations

import asyncio

import numpy as np
from llama_index.core import Document, VectorStoreIndex

from rag.embedding import MINILM_MODEL_ID, MiniLMEmbedder
from rag.llamaindex import LlamaIndexEmbedding, LlamaIndexRetriever
from rag.pipeline import Pipeline

GUARANTEE = "Kyiv wants security guarantees from designated guarantor countries."
UNRELATED = "The bakery sold out of sourdough before noon."


def test_embedding_adapter_matches_the_embedder(embedder: MiniLMEmbedder) -> None:
    adapter = LlamaIndexEmbedding(embedder)
    assert adapter.model_name == MINILM_MODEL_ID
    raw = embedder.embed([GUARANTEE, UNRELATED])
    np.testing.assert_allclose(adapter.get_text_embedding(GUARANTEE), raw[0], atol=1e-6)
    np.testing.assert_allclose(adapter.get_query_embedding(UNRELATED), raw[1], atol=1e-6)
    np.testing.assert_allclose(adapter.get_text_embedding_batch([GUARANTEE, UNRELATED]), raw, atol=1e-6)
    np.testing.assert_allclose(asyncio.run(adapter.aget_query_embedding(GUARANTEE)), raw[0], atol=1e-6)


def test_llama_index_builds_an_index_with_our_embedder(embedder: MiniLMEmbedder) -> None:
    index = VectorStoreIndex.from_documents(
        [Document(text=GUARANTEE), Document(text=UNRELATED)], embed_model=LlamaIndexEmbedding(embedder)
    )
    (best,) = index.as_retriever(similarity_top_k=1).retrieve("Which countries would guarantee Ukraine's security?")
    assert best.node.get_content() == GUARANTEE


def test_retriever_adapter_returns_nodes_with_citation_metadata(demo_pipeline: Pipeline) -> None:
    nodes = LlamaIndexRetriever(demo_pipeline.retriever, top_k=3).retrieve("What guarantees does Kyiv want?")
    assert len(nodes) == 3
    assert any("designated guarantor countries" in n.node.get_content() for n in nodes)
    meta = nodes[0].node.metadata
    assert meta["title"] == "Russia-Ukraine peace talks in Istanbul" and meta["date"] == "2022-03-30"
    assert meta["end"] > meta["start"] >= 0
