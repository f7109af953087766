"""The Chroma embedding function that embeds with our embedder.

`ChromaEmbeddingFunction` lets a Chroma collection embed with the configured embedder, so
Chroma never falls back on its own default model (which would download one). Chroma rebuilds
a collection's function from its stored config when it loads the collection, and again on
every write (to read the collection's schema); only MiniLM can be rebuilt without our settings
(the store always passes the function itself). The rebuilt function loads the model only
if Chroma ever embeds with it, which the store never asks it to (it passes its vectors): loading
it for nothing cost an ingest or an app 0.45 s and the model's memory.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import numpy as np
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings, Space
from chromadb.utils.embedding_functions import register_embedding_function

from rag.models.embedding import MINILM_DIMENSION, MINILM_MODEL_ID, Embedder, MiniLMEmbedder

FUNCTION_NAME = "rag-news-embedder"


class _LazyMiniLM:
    """MiniLM's id and dimension; the model itself is loaded on first use (one per process)."""

    model_id = MINILM_MODEL_ID
    dimension = MINILM_DIMENSION

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return _shared_minilm().embed(texts)

    def count_tokens(self, text: str) -> int:
        return _shared_minilm().count_tokens(text)


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
        return ChromaEmbeddingFunction(_LazyMiniLM())

    def is_legacy(self) -> bool:
        return False

    def default_space(self) -> Space:
        return "cosine"
