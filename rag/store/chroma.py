"""Vector store: chunks and the article manifest in Chroma, embedded or on a server.

This is the only module that talks to chromadb. `ChromaEmbeddingFunction` lets Chroma embed
with our embedder, so it never falls back on its own default model (which would download
one). `ChunkStore` keeps two collections:

* `<name>`: one record per chunk (text, embedding, article metadata, offsets);
* `<name>__articles`: the manifest, one record per *committed* article (its content
  hash, origin file and chunk count) plus one state record (run-in-progress flag and a
  generation counter bumped by every ingest that changed something).

An article is committed only after all its chunks are written, and its old chunks are
deleted only after that, so a crash at any point leaves either the old or the new
version answerable. Chunks not covered by the manifest (left by a crash) are swept at
the start of the next run.
"""

from __future__ import annotations

import functools
import json
import threading
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, cast

import chromadb
import numpy as np
from chromadb.api import ClientAPI
from chromadb.api.models.Collection import Collection
from chromadb.api.types import Documents, Embeddable, EmbeddingFunction, Embeddings, Include, Space
from chromadb.base_types import InclusionExclusionOperator, LiteralValue
from chromadb.utils.embedding_functions import register_embedding_function

from rag.config import Settings
from rag.errors import ConfigurationError, MissingCollection, StoreError
from rag.models.embedding import MINILM_MODEL_ID, Embedder, MiniLMEmbedder
from rag.store import writer

STATE_ID = "__rag_state__"
_UNIT: Sequence[float] = [1.0]  # manifest records carry a dummy 1-d vector: Chroma requires one


# Chroma rebuilds a collection's embedding function from its stored config whenever it loads the
# collection; only MiniLM can be rebuilt without our settings, and ChunkStore always passes the
# function itself, so Chroma's warning about the others (the OpenAI embedder) is noise to a user.
warnings.filterwarnings(
    "ignore", message="Could not reconstruct embedding function rag-news-embedder", category=UserWarning
)


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
        return "rag-news-embedder"

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


@dataclass(frozen=True)
class ArticleRecord:
    """What the manifest remembers of a committed article."""

    id: str
    content_hash: str
    origin: str
    title: str
    chunk_count: int
    text_hash: str = ""  # hash of the text alone (rag.ingest.identity.text_hash); '' in stores built before it
    signature: str = ""  # MinHash of its shingles (rag.ingest.syndication.encode); '' in stores built before it
    also: tuple[Copy, ...] = ()  # other publications of the same story, stored once as this article


@dataclass(frozen=True)
class Copy:
    """A re-publication of a stored story (syndication): its own id, source and URL."""

    id: str
    source: str
    url: str
    origin: str = ""  # the file or feed it came from ('' in stores built before it): where to find it again


@dataclass(frozen=True)
class ChunkRecord:
    """A chunk as stored: id, text and metadata (see `chunk_metadata` in rag.ingest.run)."""

    id: str
    text: str
    metadata: dict[str, Any]


class Connection:
    """A Chroma client that can be reopened.

    An embedded (PersistentClient) process keeps its vector index in memory and does not
    see vectors another process added; reopening it does. `epoch` counts reopenings so
    stores know to fetch fresh collection handles; `lock` keeps queries off a closing client.
    """

    def __init__(self, factory: Callable[[], ClientAPI], embedded: bool, folder: Path | None = None) -> None:
        self._factory, self.embedded = factory, embedded
        self.folder = folder  # an embedded store's data dir (its writer locks live there)
        self.client = factory()
        self.epoch = 0
        self.lock = threading.RLock()

    def reopen(self) -> None:
        with self.lock:
            self.client.clear_system_cache()
            self.client = self._factory()
            self.epoch += 1


_EMBEDDED: dict[Path, Connection] = {}  # one per store directory in this process (Chroma shares them anyway)


def connect(settings: Settings) -> Connection:
    """HttpClient when CHROMA_HOST is set, else a PersistentClient under data_dir."""
    chroma_settings = chromadb.Settings(anonymized_telemetry=False)
    if settings.uses_server:
        headers = {}
        if settings.chroma_token is not None:
            headers["Authorization"] = f"Bearer {settings.chroma_token.get_secret_value()}"
        try:
            return Connection(
                lambda: chromadb.HttpClient(
                    host=settings.chroma_host or "",
                    port=settings.chroma_port,
                    headers=headers,
                    settings=chroma_settings,
                ),
                embedded=False,
            )
        except Exception as error:  # chromadb raises plain ValueError/ConnectionError here
            raise StoreError(
                f"Cannot use the Chroma server at {settings.chroma_host}:{settings.chroma_port} ({error}). "
                "Check that it runs (`chroma run --path <dir> --host 127.0.0.1 --port <port>`) and, if it "
                "needs one, that CHROMA_TOKEN is right; or unset CHROMA_HOST to use the embedded store."
            ) from error
    path = (settings.data_dir / "chroma").resolve()
    if path not in _EMBEDDED:
        path.mkdir(parents=True, exist_ok=True)
        _EMBEDDED[path] = Connection(
            lambda: chromadb.PersistentClient(path=str(path), settings=chroma_settings),
            embedded=True,
            folder=path.parent,
        )
    return _EMBEDDED[path]


class ChunkStore:
    """Chunks plus manifest of one corpus; the same code for embedded and server Chroma."""

    def __init__(self, connection: Connection, name: str, embedder: Embedder) -> None:
        self.name = name
        self.model_id = embedder.model_id
        self._connection = connection
        # Chroma types collections for text-or-image functions; text-only ones (like its own default) are accepted.
        self._function = cast("EmbeddingFunction[Embeddable]", ChromaEmbeddingFunction(embedder))
        self._epoch = -1
        self._handles: tuple[Collection, Collection] | None = None
        built_with = (self._chunks.metadata or {}).get("embedder")
        if built_with != embedder.model_id:
            raise ConfigurationError(
                f"Collection '{name}' was built with embedder '{built_with}', not '{embedder.model_id}'. "
                f"Set RAG_EMBEDDER to match it, or choose another RAG_COLLECTION."
            )
        self._batch = connection.client.get_max_batch_size()
        self._seen_generation = self.generation()

    @classmethod
    def open(cls, settings: Settings, embedder: Embedder, create: bool = True) -> ChunkStore:
        """The store of `settings.collection`; with `create=False` a missing collection is a `MissingCollection`."""
        connection = connect(settings)
        if not create:
            require_collection(connection.client, settings)
        return cls(connection, settings.collection, embedder)

    def _collections(self) -> tuple[Collection, Collection]:
        if self._handles is None or self._epoch != self._connection.epoch:
            client = self._connection.client
            chunks = client.get_or_create_collection(
                self.name,
                embedding_function=self._function,
                metadata={"embedder": self.model_id},
                configuration={"hnsw": {"space": "cosine"}},
            )
            manifest = client.get_or_create_collection(
                f"{self.name}__articles", embedding_function=self._function, configuration={"hnsw": {"space": "l2"}}
            )
            self._handles, self._epoch = (chunks, manifest), self._connection.epoch
        return self._handles

    @property
    def _chunks(self) -> Collection:
        return self._collections()[0]

    @property
    def _manifest(self) -> Collection:
        return self._collections()[1]

    def refresh(self) -> int:
        """Notice another process's ingest (reopening an embedded store); returns the generation."""
        generation = self.generation()
        if generation != self._seen_generation:
            if self._connection.embedded:
                self._connection.reopen()
            self._seen_generation = generation
        return generation

    def writing(self, wait: float, notice: Callable[[str], None]) -> AbstractContextManager[None]:
        """The collection's writer lock (rag.store.writer): one ingest or removal at a time."""
        if self._connection.folder is not None:
            return writer.file_lock(self._connection.folder / "locks", self.name, wait, notice)
        return writer.server_lock(self._connection.client, self.name, wait, notice)

    # --- manifest and run state ---------------------------------------------------------
    def manifest(self) -> dict[str, ArticleRecord]:
        records: dict[str, ArticleRecord] = {}
        for record_id, meta in _iter_metadata(self._manifest, self._batch):
            if record_id != STATE_ID:
                records[record_id] = _record(record_id, meta)
        return records

    def _state(self) -> dict[str, Any]:
        found = self._manifest.get(ids=[STATE_ID], include=["metadatas"])
        metadatas = found["metadatas"] or []
        return dict(metadatas[0]) if metadatas else {"generation": 0, "running": False}

    def _set_state(self, state: dict[str, Any]) -> None:
        self._manifest.upsert(ids=[STATE_ID], embeddings=[_UNIT], metadatas=[state])

    def generation(self) -> int:
        """Changes whenever an ingest run changed the store: readers use it to refresh caches."""
        return int(self._state()["generation"])

    def begin_run(self) -> int:
        """Mark a run as started; if the previous one never finished, sweep what it left. Returns chunks swept."""
        state = self._state()
        swept = self.sweep_orphans() if state.get("running") else 0
        self._set_state({**state, "running": True})
        return swept

    def end_run(self, changed: bool, before_publish: Callable[[int], None] | None = None) -> int:
        """Mark the run finished; if it changed the store, publish the next generation. Returns the generation.

        `before_publish(generation)` runs first when there is a new generation, so what readers of it
        need (e.g. the BM25 index) is ready when they see it.
        """
        state = self._state()
        generation = int(state["generation"]) + (1 if changed else 0)
        if changed and before_publish is not None:
            before_publish(generation)
        self._set_state({"generation": generation, "running": False})
        self._seen_generation = generation
        return generation

    def sweep_orphans(self) -> int:
        """Delete chunks whose (article, hash) is not committed in the manifest."""
        committed = {record.id: record.content_hash for record in self.manifest().values()}
        orphans = [
            chunk_id
            for chunk_id, meta in _iter_metadata(self._chunks, self._batch)
            if committed.get(str(meta["article_id"])) != meta["article_hash"]
        ]
        self._delete(orphans)
        return len(orphans)

    # --- writing -----------------------------------------------------------------------
    def write_chunks(
        self, ids: Sequence[str], texts: Sequence[str], embeddings: np.ndarray, metadatas: Sequence[dict[str, Any]]
    ) -> None:
        for start in range(0, len(ids), self._batch):
            stop = start + self._batch
            self._chunks.upsert(
                ids=list(ids[start:stop]),
                documents=list(texts[start:stop]),
                embeddings=embeddings[start:stop],
                metadatas=list(metadatas[start:stop]),
            )

    def commit_articles(self, records: Sequence[ArticleRecord]) -> None:
        """Record articles as committed, then delete their chunks of any other version."""
        self._write_manifest(records)
        if not records:
            return
        current = {record.id: record.content_hash for record in records}
        in_articles: dict[InclusionExclusionOperator, list[LiteralValue]] = {"$in": list(current)}
        found = self._chunks.get(where={"article_id": in_articles}, include=["metadatas"])
        self._delete(
            [
                chunk_id
                for chunk_id, meta in zip(found["ids"], found["metadatas"] or [], strict=False)
                if current[str(meta["article_id"])] != meta["article_hash"]
            ]
        )

    def relocate(self, records: Sequence[ArticleRecord]) -> None:
        """Record where committed articles are now found (a moved or renamed file); chunks stay as they are."""
        self._write_manifest(records)

    def _write_manifest(self, records: Sequence[ArticleRecord]) -> None:
        """Upsert the manifest records of `records`, in batches."""
        for start in range(0, len(records), self._batch):
            batch = records[start : start + self._batch]
            self._manifest.upsert(
                ids=[record.id for record in batch],
                embeddings=[_UNIT] * len(batch),
                metadatas=[_manifest_metadata(record) for record in batch],
            )

    def add_copies(self, article_id: str, copies: Sequence[Copy]) -> None:
        """Record re-publications of a stored story: in its manifest record and on its chunks
        (`also_sources`, `also_urls`: newline-separated, for citation cards)."""
        record = self.manifest_record(article_id)
        if record is None:
            return
        merged = tuple({copy.id: copy for copy in (*record.also, *copies)}.values())
        self._manifest.upsert(
            ids=[article_id], embeddings=[_UNIT], metadatas=[_manifest_metadata(replace(record, also=merged))]
        )
        sources = [source for source in dict.fromkeys(copy.source for copy in merged) if source]
        urls = [url for url in dict.fromkeys(copy.url for copy in merged) if url]
        found = self._chunks.get(where={"article_id": article_id}, include=["metadatas"])
        metadatas: list[Mapping[str, Any]] = [
            {**dict(meta), "also_sources": "\n".join(sources), "also_urls": "\n".join(urls)}
            for meta in found["metadatas"] or []
        ]
        if metadatas:
            self._chunks.update(ids=found["ids"], metadatas=metadatas)

    def manifest_record(self, article_id: str) -> ArticleRecord | None:
        found = self._manifest.get(ids=[article_id], include=["metadatas"])
        if not found["ids"]:
            return None
        return _record(article_id, dict((found["metadatas"] or [{}])[0]))

    def _delete(self, chunk_ids: Sequence[str]) -> None:
        for start in range(0, len(chunk_ids), self._batch):
            self._chunks.delete(ids=list(chunk_ids[start : start + self._batch]))

    def remove_article(self, article_id: str) -> None:
        """Forget an article: manifest first (so a crash leaves only sweepable orphans), then chunks."""
        self._manifest.delete(ids=[article_id])
        self._chunks.delete(where={"article_id": article_id})

    # --- reading -------------------------------------------------------------------------
    def query(
        self, embedding: np.ndarray, k: int, where: dict[str, Any] | None = None
    ) -> list[tuple[ChunkRecord, float]]:
        """Nearest chunks with cosine similarity (1 - distance), best first."""
        with self._connection.lock:
            count = self._chunks.count()
            if count == 0:
                return []
            result = self._chunks.query(
                query_embeddings=[embedding],
                n_results=min(k, count),
                where=where or None,
                include=["documents", "metadatas", "distances"],
            )
        documents, metadatas, distances = result["documents"], result["metadatas"], result["distances"]
        assert documents is not None and metadatas is not None and distances is not None  # all were included
        return [
            (ChunkRecord(chunk_id, text, dict(meta)), 1.0 - float(distance))
            for chunk_id, text, meta, distance in zip(
                result["ids"][0], documents[0], metadatas[0], distances[0], strict=False
            )
        ]

    def iter_chunks(self) -> Iterator[ChunkRecord]:
        """Every chunk with its text and metadata, in pages (for building the BM25 index)."""
        for page in _pages(self._chunks, ["documents", "metadatas"], self._batch):
            for chunk_id, text, meta in zip(page["ids"], page["documents"], page["metadatas"], strict=False):
                yield ChunkRecord(chunk_id, text, dict(meta))

    def get_chunks(self, ids: Sequence[str]) -> list[tuple[ChunkRecord, np.ndarray]]:
        """The chunks with these ids (those that exist, in the order asked) and their embeddings."""
        if not ids:
            return []
        found = self._chunks.get(ids=list(ids), include=["documents", "metadatas", "embeddings"])
        documents, metadatas, embeddings = found["documents"], found["metadatas"], found["embeddings"]
        assert documents is not None and metadatas is not None and embeddings is not None  # all were included
        by_id = {
            chunk_id: (ChunkRecord(chunk_id, text, dict(meta)), np.asarray(vector, dtype=np.float32))
            for chunk_id, text, meta, vector in zip(found["ids"], documents, metadatas, embeddings, strict=False)
        }
        return [by_id[chunk_id] for chunk_id in ids if chunk_id in by_id]

    def first_chunks(self, article_ids: Sequence[str] | None = None) -> dict[str, dict[str, Any]]:
        """Metadata of each article's first chunk (title, date, source, url ...), by article id."""
        where: dict[str, Any] = {"chunk_index": 0}
        if article_ids is not None:
            if not article_ids:
                return {}
            where = {"$and": [where, {"article_id": {"$in": list(article_ids)}}]}
        found: dict[str, dict[str, Any]] = {}
        offset = 0
        while True:
            page = self._chunks.get(where=where, include=["metadatas"], limit=self._batch, offset=offset)
            if not page["ids"]:
                return found
            for meta in page["metadatas"] or []:
                found[str(meta["article_id"])] = dict(meta)
            offset += len(page["ids"])

    def article_chunks(self, article_id: str) -> list[ChunkRecord]:
        """Every chunk of one article, in text order (to show the whole article)."""
        found = self._chunks.get(where={"article_id": article_id}, include=["documents", "metadatas"])
        records = [
            ChunkRecord(chunk_id, text, dict(meta))
            for chunk_id, text, meta in zip(
                found["ids"], found["documents"] or [], found["metadatas"] or [], strict=False
            )
        ]
        return sorted(records, key=lambda record: int(record.metadata["start"]))

    def collection_names(self) -> list[str]:
        """Chunk collections of this client (manifest collections left out)."""
        return collection_names(self._connection.client)

    def chunk_count(self) -> int:
        return self._chunks.count()

    def article_count(self) -> int:
        return max(0, self._manifest.count() - (1 if self._manifest.get(ids=[STATE_ID])["ids"] else 0))


def require_collection(client: ClientAPI, settings: Settings) -> None:
    """The one check that a collection exists (read commands, `rag remove`, the web app's picker never create one)."""
    existing = collection_names(client)
    if settings.collection not in existing:
        where = (
            f"the Chroma server at {settings.chroma_host}:{settings.chroma_port}"
            if settings.uses_server
            else str(settings.data_dir)
        )
        raise MissingCollection(
            f"There is no collection named '{settings.collection}' in {where}; existing: "
            f"{', '.join(existing) or 'none'}. Choose one of them with --collection or RAG_COLLECTION, "
            "or create it with `rag ingest`."
        )


def collection_names(client: ClientAPI) -> list[str]:
    """The chunk collections of a client, sorted (manifest collections left out)."""
    return sorted(
        c.name for c in client.list_collections() if not c.name.endswith(("__articles", writer.WRITER_SUFFIX))
    )


def _record(record_id: str, meta: dict[str, Any]) -> ArticleRecord:
    return ArticleRecord(
        id=record_id,
        content_hash=str(meta["hash"]),
        origin=str(meta["origin"]),
        title=str(meta.get("title", "")),
        chunk_count=int(meta["chunks"]),
        text_hash=str(meta.get("text", "")),
        signature=str(meta.get("sig", "")),
        also=tuple(Copy(*copy) for copy in json.loads(str(meta.get("also", "[]")))),
    )


def _manifest_metadata(record: ArticleRecord) -> dict[str, Any]:
    return {
        "hash": record.content_hash,
        "origin": record.origin,
        "title": record.title,
        "chunks": record.chunk_count,
        "text": record.text_hash,
        "sig": record.signature,
        "also": json.dumps([[copy.id, copy.source, copy.url, copy.origin] for copy in record.also]),
    }


def _pages(collection: Collection, include: Include, page_size: int) -> Iterator[Any]:
    offset = 0
    while True:
        page = collection.get(include=include, limit=page_size, offset=offset)
        if not page["ids"]:
            return
        yield page
        offset += len(page["ids"])


def _iter_metadata(collection: Collection, page_size: int) -> Iterator[tuple[str, dict[str, Any]]]:
    for page in _pages(collection, ["metadatas"], page_size):
        yield from zip(page["ids"], (dict(meta) for meta in page["metadatas"]), strict=False)
