"""The test embedder keeps the `Embedder` contract the pipeline relies on."""

from __future__ import annotations

import subprocess
import sys

import numpy as np

from rag.models.embedding import Embedder
from tests.conftest import ROOT
from tests.fake_embedder import HASH_DIMENSION, HashEmbedder


def test_vectors_are_unit_rows_in_order_and_texts_sharing_words_are_closer() -> None:
    embedder: Embedder = HashEmbedder()
    texts = ["The harbour closed in May.", "", "harbour closed", "A bakery sold sourdough."]
    vectors = embedder.embed(texts)
    assert vectors.shape == (4, HASH_DIMENSION) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(embedder.embed(texts[::-1]), vectors[::-1])
    assert vectors[0] @ vectors[2] > 0.5 > abs(float(vectors[0] @ vectors[3]))
    assert embedder.embed([]).shape == (0, HASH_DIMENSION)


def test_tokens_are_words_and_punctuation() -> None:
    assert HashEmbedder().count_tokens("Kyiv wants guarantees, now.") == 6
    assert HashEmbedder().count_tokens("  ") == 0


def test_vectors_are_the_same_in_another_process() -> None:
    code = "from tests.fake_embedder import HashEmbedder as E; print(E().embed(['zeppelin festival']).tobytes().hex())"
    other = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert other.stdout.strip() == HashEmbedder().embed(["zeppelin festival"]).tobytes().hex()
