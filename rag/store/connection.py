"""Connections to Chroma (embedded or a server) and the cache of a store's collection handles.

`connect` makes one reopenable `Connection` per embedded store directory in a process (an
HttpClient per call for a server). `Handles` keeps a store's two collections (chunks and
manifest) and fetches them again after the connection was reopened.
"""

from __future__ import annotations

import gc
import threading
import warnings
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import cast

import chromadb
from chromadb.api import ClientAPI
from chromadb.api.models.Collection import Collection
from chromadb.api.types import Embeddable, EmbeddingFunction

from rag.config import Settings
from rag.errors import MissingCollection, StoreError
from rag.models.embedding import Embedder
from rag.store.embedding_function import FUNCTION_NAME, ChromaEmbeddingFunction

MANIFEST_SUFFIX = "__articles"
WRITER_SUFFIX = "__writer"  # the writer lock of a collection on a server (rag.store.writer)


class Connection:
    """A Chroma client that can be reopened.

    An embedded (PersistentClient) process keeps its vector index in memory and does not
    see vectors another process added; reopening it does. `epoch` counts reopenings so
    stores know to fetch fresh collection handles; `lock` keeps queries off a closing client.

    Chroma's `clear_system_cache` only forgets the old client's system, which holds the whole
    vector index and sits in reference cycles: left to Python's collector it stayed in memory
    beside the new one, +2 GB per reopen at 1M chunks (2.5 -> 4.5 -> 6.6 GB over two reopens).
    So a reopen drops every handle of the old client and collects it before the new index loads
    (2.5 -> 2.7 -> 3.0 GB; the collection costs ~0.9 s at 1M chunks). A query still running on
    the old client keeps it alive until it ends.
    """

    def __init__(self, factory: Callable[[], ClientAPI], embedded: bool, folder: Path | None = None) -> None:
        self._factory, self.embedded = factory, embedded
        self.folder = folder  # an embedded store's data dir (its writer locks live there)
        self.client = factory()
        self.epoch = 0
        self.lock = threading.RLock()
        self._users: weakref.WeakSet[Handles] = weakref.WeakSet()

    def reopen(self) -> None:
        with self.lock:
            self.client.clear_system_cache()
            self.client = self._factory()
            self.epoch += 1
            for handles in list(self._users):
                handles.forget()
            gc.collect()  # the old client's system and its vector index (see the class doc)

    def serve(self, handles: Handles) -> None:
        """Let go of `handles`' collections when reopening."""
        self._users.add(handles)


_EMBEDDED: dict[Path, Connection] = {}  # one per store directory in this process (Chroma shares them anyway)


def _quiet_chroma() -> None:
    """Chroma warns whenever it loads a collection whose embedding function it cannot rebuild from
    config (every embedder but MiniLM); the store always passes the function itself, so to a user
    that warning is noise. Installed when a client is made (idempotent: the filter is not repeated)."""
    warnings.filterwarnings(
        "ignore", message=f"Could not reconstruct embedding function {FUNCTION_NAME}", category=UserWarning
    )


def connect(settings: Settings) -> Connection:
    """HttpClient when CHROMA_HOST is set, else a PersistentClient under data_dir."""
    _quiet_chroma()
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


def collection_names(client: ClientAPI) -> list[str]:
    """The chunk collections of a client, sorted (manifest collections and writer locks left out)."""
    return sorted(c.name for c in client.list_collections() if not c.name.endswith((MANIFEST_SUFFIX, WRITER_SUFFIX)))


def require_collection(connection: Connection, settings: Settings) -> None:
    """The one check that a collection exists (read commands, `rag remove` and the web app's picker never
    create one): a `MissingCollection` (a configuration error, exit 2) naming the existing ones."""
    existing = collection_names(connection.client)
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


class Handles:
    """The chunk and manifest collections of one store, fetched again after the connection reopened."""

    def __init__(self, connection: Connection, name: str, embedder: Embedder) -> None:
        self.connection, self.name, self.model_id = connection, name, embedder.model_id
        # Chroma types collections for text-or-image functions; text-only ones (like its own default) are accepted.
        self._function = cast("EmbeddingFunction[Embeddable]", ChromaEmbeddingFunction(embedder))
        self._epoch = -1
        self._handles: tuple[Collection, Collection] | None = None
        connection.serve(self)

    def forget(self) -> None:
        """Drop the collections of a client that was replaced (fetched again when next needed)."""
        self._handles = None

    def _both(self) -> tuple[Collection, Collection]:
        found = self._handles  # read once: a reopen in another thread may forget them meanwhile
        if found is None or self._epoch != self.connection.epoch:
            epoch, client = self.connection.epoch, self.connection.client  # epoch first: a reopen between refetches
            chunks = client.get_or_create_collection(
                self.name,
                embedding_function=self._function,
                metadata={"embedder": self.model_id},
                configuration={"hnsw": {"space": "cosine"}},
            )
            manifest = client.get_or_create_collection(
                f"{self.name}{MANIFEST_SUFFIX}",
                embedding_function=self._function,
                configuration={"hnsw": {"space": "l2"}},
            )
            found = chunks, manifest
            self._handles, self._epoch = found, epoch
        return found

    def chunks(self) -> Collection:
        return self._both()[0]

    def manifest(self) -> Collection:
        return self._both()[1]
