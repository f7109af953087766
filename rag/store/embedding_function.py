"""The Chroma embedding function that embeds with our embedder.

`ChromaEmbeddingFunction` lets a Chroma collection embed with the configured embedder, so
Chroma never falls back on its own default model (which would download one). Chroma rebuilds
a collection's function from its stored config when it loads the collection; only MiniLM can
be rebuilt without our settings (the store always passes the function itself).
"""

from __future__ import annotations

import functools
from typing import Any

from chromadb.api.types import Documents, EmbeddingFunction, Embeddings, Space
from chromadb.utils.embedding_functions import register_embedding_function

from rag.models.embedding import MINILM_MODEL_ID, Embedder, MiniLMEmbedder

FUNCTION_NAME = "rag-news-embedder"


@functools.cache
def _shared_minilm() -> MiniLMEmbedder:
    """One MiniLM per process for Chroma, which rebuilds embedding functions from config often."""
    return MiniLMEmbedder()


@register_embedding_function
class ChromaEmbeddingFunction(EmbeddingFunction[Documents]):
    """Lets a Chroma collection embed documents and query texts with our embedder."""

    def __init__(self, embedder: Embedder) -> None:
        self._embedder = embedder

    def __call__(self, input: Documents) -> Embeddings:
        return list(self._embedder.embed(input))

    @staticmethod
    def name() -> str:
        return FUNCTION_NAME

    def get_config(self) -> dict[str, Any]:
        return {"model_id": self._embedder.model_id}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> ChromaEmbeddingFunction:
        model_id = config.get("model_id")
        if model_id != MINILM_MODEL_ID:
            raise ValueError(
                f"cannot rebuild the embedder {model_id!r} from a Chroma config; "
                "pass embedding_function=ChromaEmbeddingFunction(make_embedder(settings))"
            )
        return ChromaEmbeddingFunction(_shared_minilm())

    def is_legacy(self) -> bool:
        return False

    def default_space(self) -> Space:
        return "cosine"
