"""llama-index adapters: the pipeline's embedder and retriever as llama-index components.

`LlamaIndexEmbedding` is a llama-index `BaseEmbedding` backed by any `Embedder` (so
llama-index never loads a model of its own), and `LlamaIndexRetriever` is a llama-index
`BaseRetriever` over `rag.retrieval.Retriever`, returning `NodeWithScore`s whose metadata
carry title, date, source, url and character offsets. With them, our store and models
plug into llama-index query engines, agents and evaluators. Imported only when used, to
keep the command line quick to start.
"""

from __future__ import annotations

import asyncio
from typing import Any

from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.embeddings import BaseEmbedding
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode
from pydantic import PrivateAttr

from rag.dates import QueryFilters
from rag.embedding import Embedder
from rag.retrieval import Passage, Retriever


class LlamaIndexEmbedding(BaseEmbedding):
    """Exposes an `Embedder` to llama-index (queries and texts embed the same way)."""

    _embedder: Embedder = PrivateAttr()

    def __init__(self, embedder: Embedder, embed_batch_size: int = 64, **kwargs: Any) -> None:
        super().__init__(model_name=embedder.model_id, embed_batch_size=embed_batch_size, **kwargs)
        self._embedder = embedder

    @classmethod
    def class_name(cls) -> str:
        return "LlamaIndexEmbedding"

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        vectors: list[list[float]] = self._embedder.embed(texts).tolist()
        return vectors

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._get_text_embeddings([text])[0]

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._get_text_embedding(query)

    async def _aget_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return await asyncio.to_thread(self._get_text_embeddings, texts)

    async def _aget_text_embedding(self, text: str) -> list[float]:
        return await asyncio.to_thread(self._get_text_embedding, text)

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return await asyncio.to_thread(self._get_query_embedding, query)


def passage_node(passage: Passage) -> NodeWithScore:
    metadata = {
        "article_id": passage.article_id,
        "title": passage.title,
        "date": passage.date,
        "source": passage.source,
        "url": passage.url,
        "start": passage.start,
        "end": passage.end,
    }
    return NodeWithScore(node=TextNode(id_=passage.chunk_id, text=passage.text, metadata=metadata), score=passage.score)


class LlamaIndexRetriever(BaseRetriever):
    """Our hybrid retriever (with its filters) as a llama-index retriever."""

    def __init__(self, retriever: Retriever, top_k: int = 5, filters: QueryFilters = QueryFilters()) -> None:
        super().__init__()
        self._retriever, self._top_k, self._filters = retriever, top_k, filters

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return [passage_node(p) for p in self._retriever.retrieve(query_bundle.query_str, self._top_k, self._filters)]
