"""Wiring: builds the pipeline's parts from one `Settings` object.

The only place that decides which implementation backs each interface: embedded or
server Chroma (rag.store.connect), MiniLM or OpenAI embeddings (rag.embedding),
extractive or LLM answers (rag.answering).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rag.anchors import lexical_mentions
from rag.answering import ExtractiveAnswerer, LLMAnswerer, OpenAIChatModel
from rag.chat import ChatEngine
from rag.config import Settings
from rag.embedding import CachedEmbedder, Embedder, make_embedder
from rag.ingest import IngestOptions, IngestReport, ingest
from rag.loading import LoadOptions
from rag.retrieval import Bm25Index, Retriever
from rag.store import ChunkStore


@dataclass
class Pipeline:
    settings: Settings
    embedder: CachedEmbedder
    store: ChunkStore
    lexical: Bm25Index
    retriever: Retriever
    engine: ChatEngine

    @classmethod
    def open(cls, settings: Settings, model: Embedder | None = None) -> Pipeline:
        """Build every part; pass `model` to share one embedding model between pipelines."""
        embedder = make_embedder(settings, model)
        store = ChunkStore.open(settings, embedder)
        lexical = Bm25Index(settings.data_dir / "bm25" / settings.collection)
        retriever = Retriever(
            store, embedder, lexical, settings.retrieval_mode, settings.candidates, hints=settings.query_hints
        )
        llm = None
        if settings.uses_llm and settings.openai_api_key is not None:
            chat_model = OpenAIChatModel.connect(
                settings.openai_api_key.get_secret_value(),
                settings.openai_base_url,
                settings.llm_model,
                settings.llm_timeout,
            )
            llm = LLMAnswerer(chat_model)
        engine = ChatEngine(
            retriever,
            ExtractiveAnswerer(embedder, settings.min_support, lambda: lexical.sources, lexical_mentions(lexical)),
            llm,
            settings.top_k,
        )
        return cls(settings, embedder, store, lexical, retriever, engine)

    def ingest(self, paths: Sequence[Path], sync: bool = False, progress: bool = True) -> IngestReport:
        options = IngestOptions(
            load=LoadOptions.from_settings(self.settings),
            chunk_tokens=self.settings.chunk_tokens,
            chunk_overlap=self.settings.chunk_overlap,
            sync=sync,
        )
        misses = self.embedder.misses
        prepare = None if self.settings.retrieval_mode == "dense" else self._prepare_lexical
        report = ingest(paths, self.store, self.embedder, options, progress, before_publish=prepare)
        report.embedded = self.embedder.misses - misses
        return report

    def _prepare_lexical(self, generation: int) -> None:
        self.lexical.prepare(self.store, generation)
