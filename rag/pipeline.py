"""Wiring: builds the pipeline's parts from one `Settings` object.

The only place that decides which implementation backs each interface: embedded or
server Chroma (rag.store.chroma.connect), MiniLM or OpenAI embeddings (rag.models.embedding),
extractive (rag.answer.extractive) or chat-model answers (rag.answer.llm). `Pipelines` keeps one pipeline
per collection (the web app's collection picker), sharing one embedding model.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from rag.answer.extractive import ExtractiveAnswerer
from rag.chat import ChatEngine
from rag.config import Settings
from rag.ingest.files import LoadOptions
from rag.ingest.run import IngestOptions, IngestReport, ingest
from rag.ingest.web.fetch import Fetcher, fetch_options
from rag.ingest.web.sources import HarvestOptions, WebRun, WebSource
from rag.ingest.web.state import FetchState
from rag.models.embedding import CachedEmbedder, Embedder, make_embedder, make_model
from rag.search.lexical import Bm25Index
from rag.search.retrieval import Retriever
from rag.store.chroma import ChunkStore


@dataclass
class Pipeline:
    settings: Settings
    embedder: CachedEmbedder
    store: ChunkStore
    lexical: Bm25Index
    retriever: Retriever
    engine: ChatEngine

    @classmethod
    def open(cls, settings: Settings, model: Embedder | None = None, create: bool = True) -> Pipeline:
        """Build every part; pass `model` to share one embedding model between pipelines.

        With `create=False` a collection that does not exist is a StoreError (nothing is created).
        """
        embedder = make_embedder(settings, model)
        store = ChunkStore.open(settings, embedder, create)
        lexical = lexical_index(settings)
        retriever = Retriever(
            store, embedder, lexical, settings.retrieval_mode, settings.candidates, hints=settings.query_hints
        )
        answerer = None
        if settings.uses_llm:
            from rag.answer.llm import LLMAnswerer  # llama-index loads only when a chat model is used

            answerer = LLMAnswerer.from_settings(settings)
        top_k = settings.llm_top_k if answerer else settings.top_k
        engine = ChatEngine(
            retriever,
            ExtractiveAnswerer(
                embedder, None, lexical.document_frequency, settings.answer_threshold, lambda: lexical.sources
            ),
            answerer,
            top_k,
            gate=settings.llm_gate == "calibrated",
        )
        return cls(settings, embedder, store, lexical, retriever, engine)

    def ingest(
        self,
        paths: Sequence[Path],
        sync: bool = False,
        progress: bool = True,
        web_sources: Sequence[WebSource] = (),
        sources_file: str = "",
        notice: Callable[[str], None] = print,
        listed: Sequence[WebSource] | None = None,
    ) -> IngestReport:
        """Ingest files and folders, and pages, feeds and sitemaps fetched from the web meanwhile.

        `sources_file`: the sources or OPML file `web_sources` came from (with `sync`, the articles of
        a line dropped from it are removed; `listed`: all the sources it lists, when `web_sources` are only
        some of them); `notice`: where a wait for another writer is announced."""
        options = IngestOptions(
            load=LoadOptions.from_settings(self.settings),
            chunk_tokens=self.settings.chunk_tokens,
            chunk_overlap=self.settings.chunk_overlap,
            sync=sync,
            write_wait=self.settings.write_wait,
        )
        prepare = None if self.settings.retrieval_mode == "dense" else self.prepare_lexical
        if not web_sources and not sources_file:
            return ingest(paths, self.store, self.embedder, options, progress, prepare, None, notice)
        state = FetchState(self.settings.data_dir / "fetch" / f"{self.settings.collection}.json")
        origins = tuple(source.origin for source in listed) if listed is not None else None
        harvest = HarvestOptions(self.settings.max_article_bytes, sources_file, origins)
        with Fetcher(fetch_options(self.settings)) as fetcher:
            web = WebRun(list(web_sources), fetcher, state, harvest)
            return ingest(paths, self.store, self.embedder, options, progress, prepare, web, notice)

    def prepare_lexical(self, generation: int) -> None:
        """Build the BM25 index of the store's next generation (before publishing it to readers)."""
        self.lexical.prepare(self.store, generation)


def lexical_index(settings: Settings) -> Bm25Index:
    """The BM25 index of `settings.collection` (persisted under the data dir)."""
    return Bm25Index(settings.data_dir / "bm25" / settings.collection)


class Pipelines:
    """One pipeline per collection, sharing the embedder; thread-safe lazy opening."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.model = make_model(settings)
        self._open: dict[str, Pipeline] = {}
        self._lock = threading.Lock()

    def get(self, collection: str | None = None, create: bool = True) -> Pipeline:
        """The collection's pipeline; with `create=False` an unknown collection is a StoreError (nothing created)."""
        name = collection or self.settings.collection
        with self._lock:
            if name not in self._open:
                settings = self.settings.model_copy(update={"collection": name})
                self._open[name] = Pipeline.open(settings, self.model, create)
            return self._open[name]

    def collections(self) -> list[str]:
        names = self.get().store.collection_names()
        return sorted(set(names) | {self.settings.collection})
