"""A fast deterministic embedder for tests where the ONNX model is not the point.

`HashEmbedder` follows `rag.models.embedding.Embedder`: every word (lower-cased, `\\w+`) is hashed
to one of `dimension` signed buckets, the counts are summed and the row L2-normalised, so
texts sharing words are close and identical texts embed identically in every process (blake2b,
not Python's salted `hash`). Tokens are words and punctuation marks, close enough to
WordPiece for the chunker to stay sentence-aware. Its own `model_id` keeps its stores apart
from MiniLM's: a store refuses an embedder other than the one that built it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

HASH_MODEL_ID = "test-word-hash-384"
HASH_DIMENSION = 384

_WORD = re.compile(r"\w+")
_TOKEN = re.compile(r"\w+|[^\w\s]")


@lru_cache(maxsize=65536)
def _bucket(word: str) -> tuple[int, float]:
    """The bucket a word adds to and its sign (+1 or -1), from a stable hash."""
    digest = int.from_bytes(hashlib.blake2b(word.encode("utf-8"), digest_size=8).digest(), "big")
    return digest % HASH_DIMENSION, 1.0 if digest >> 63 else -1.0


class HashEmbedder:
    """Bag of hashed words, L2-normalised; an empty text is the first unit vector."""

    model_id = HASH_MODEL_ID
    dimension = HASH_DIMENSION

    def count_tokens(self, text: str) -> int:
        return len(_TOKEN.findall(text))

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in _WORD.findall(text.lower()):
                bucket, sign = _bucket(word)
                vectors[row, bucket] += sign
            norm = float(np.linalg.norm(vectors[row]))
            if norm == 0.0:
                vectors[row, 0] = 1.0
            else:
                vectors[row] /= norm
        return vectors
