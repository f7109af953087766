"""This store from llama-index: the pipeline's parts as llama-index components.

`NewsIndex` offers `as_retriever()`, `as_query_engine(llm=…)` and `as_chat_engine(llm=…)`:
llama-index objects backed by this project's hybrid retriever, filters, answerers and
citation checks (markers validated, supporting spans found), whose source nodes carry
title, date, source, url and character offsets. `LlamaIndexEmbedding` is a llama-index
`BaseEmbedding` backed by any `Embedder` (so llama-index never loads a model of its own),
and `LlamaIndexRetriever` a `BaseRetriever` over `rag.search.retrieval.Retriever`. Imported only
when used, to keep the command line quick to start.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Generator, Iterator, Sequence
from typing import Any

from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.base.llms.types import ChatResponse
from llama_index.core.base.response.schema import Response, StreamingResponse
from llama_index.core.chat_engine.types import AgentChatResponse, BaseChatEngine, StreamingAgentChatResponse
from llama_index.core.embeddings import BaseEmbedding
from llama_index.core.llms import LLM, ChatMessage, MessageRole
from llama_index.core.query_engine import CustomQueryEngine
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode
from pydantic import PrivateAttr

from rag.answer.model import Answer, Citation
from rag.chat import ChatEngine, Exchange, TurnUpdate
from rag.config import Settings
from rag.models.embedding import Embedder
from rag.pipeline import Pipeline
from rag.search.retrieval import Passage, Retriever
from rag.text.dates import QueryFilters


class LlamaIndexEmbedding(BaseEmbedding):
    """Exposes an `Embedder` to llama-index (queries and texts embed the same way)."""

    _embedder: Embedder = PrivateAttr()

    def __init__(self, embedder: Embedder, embed_batch_size: int = 64, **kwargs: Any) -> None:
        super().__init__(model_name=embedder.model_id, embed_batch_size=embed_batch_size, **kwargs)
        self._embedder = embedder

    @classmethod
    def class_name(cls) -> str:
        return "LlamaIndexEmbedding"

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        vectors: list[list[float]] = self._embedder.embed(texts).tolist()
        return vectors

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._get_text_embeddings([text])[0]

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._get_text_embedding(query)

    async def _aget_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return await asyncio.to_thread(self._get_text_embeddings, texts)

    async def _aget_text_embedding(self, text: str) -> list[float]:
        return await asyncio.to_thread(self._get_text_embedding, text)

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return await asyncio.to_thread(self._get_query_embedding, query)


def passage_node(passage: Passage, citation: Citation | None = None) -> NodeWithScore:
    """A passage as a llama-index node; a cited one also carries its citation number and quote offsets."""
    metadata: dict[str, Any] = {
        "article_id": passage.article_id,
        "title": passage.title,
        "date": passage.date,
        "source": passage.source,
        "url": passage.url,
        "start": passage.start,
        "end": passage.end,
    }
    if citation is not None:
        metadata |= {"citation": citation.number, "quote_start": citation.quote_start, "quote_end": citation.quote_end}
    return NodeWithScore(node=TextNode(id_=passage.chunk_id, text=passage.text, metadata=metadata), score=passage.score)


class LlamaIndexRetriever(BaseRetriever):
    """Our hybrid retriever (with its filters) as a llama-index retriever."""

    def __init__(self, retriever: Retriever, top_k: int = 5, filters: QueryFilters = QueryFilters()) -> None:
        super().__init__()
        self._retriever, self._top_k, self._filters = retriever, top_k, filters

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return [passage_node(p) for p in self._retriever.retrieve(query_bundle.query_str, self._top_k, self._filters)]


# --- answers as llama-index responses ------------------------------------------------------------
def answer_nodes(answer: Answer) -> list[NodeWithScore]:
    """Every passage given to the answerer, in order (marker [n] is node n-1); cited ones carry their quote."""
    cited = {citation.number: citation for citation in answer.citations}
    return [passage_node(p, cited.get(number)) for number, p in enumerate(answer.passages, 1)]


def answer_metadata(answer: Answer, searched: str) -> dict[str, Any]:
    return {
        "searched": searched,
        "answerer": answer.answerer,
        "declined": answer.declined,
        "answer": answer.text,
        "notices": list(answer.notices),
        "citations": [
            {"number": c.number, "title": c.passage.title, "date": c.passage.date, "quote": c.quote}
            for c in answer.citations
        ],
    }


def _deltas(updates: Iterator[TurnUpdate], finished: list[TurnUpdate], streamer: str) -> Iterator[str]:
    """The answer text as it streams. The final, checked text (invalid markers dropped) is not sent
    again; an extractive answer replacing a failed model (`streamer`) comes after a blank line."""
    shown = ""
    for update in updates:
        if update.answer is not None:
            finished.append(update)
            if shown and update.answer.answerer == streamer:
                return
            delta = ("\n\n" if shown else "") + update.text
        else:
            delta = update.text[len(shown) :]
        if delta:
            shown += delta
            yield delta


class NewsQueryEngine(CustomQueryEngine):
    """A llama-index query engine answering from this store with cited passages.

    `response.source_nodes` are the passages given to the answerer (marker [n] is node n-1);
    `response.metadata` holds the searched query, the answerer, notices and the citations.
    """

    engine: ChatEngine
    filters: QueryFilters = QueryFilters()
    top_k: int | None = None
    streaming: bool = False

    def custom_query(self, query_str: str) -> Response | StreamingResponse:
        updates = self.engine.ask(query_str, filters=self.filters, top_k=self.top_k)
        if not self.streaming:
            *_, final = updates
            assert final.answer is not None
            return Response(
                final.answer.text, answer_nodes(final.answer), answer_metadata(final.answer, final.searched)
            )
        first = next(updates)  # retrieval done: the passages are known before the answer streams
        metadata: dict[str, Any] = {"searched": first.searched}
        finished: list[TurnUpdate] = []

        def stream() -> Generator[str, None, None]:
            yield from _deltas(updates, finished, self.engine.answerer_name)
            answer = finished[-1].answer
            assert answer is not None
            metadata.update(answer_metadata(answer, first.searched))

        nodes = [passage_node(p) for p in first.passages]
        return StreamingResponse(stream(), source_nodes=nodes, metadata=metadata)


class NewsChatEngine(BaseChatEngine):
    """A llama-index chat engine over this store: follow-ups are condensed (by the model, or offline),
    answers are checked and cited like in the web chat. `last_answer` holds the last checked `Answer`."""

    def __init__(self, engine: ChatEngine, filters: QueryFilters = QueryFilters(), top_k: int | None = None) -> None:
        self.engine, self.filters, self.top_k = engine, filters, top_k
        self._exchanges: list[Exchange] = []
        self._messages: list[ChatMessage] = []
        self.last_answer: Answer | None = None

    @property
    def chat_history(self) -> list[ChatMessage]:
        return list(self._messages)

    def reset(self) -> None:
        self._exchanges, self._messages, self.last_answer = [], [], None

    def _use_history(self, chat_history: Sequence[ChatMessage] | None) -> None:
        if chat_history is None:
            return
        self.reset()
        question = ""
        for message in chat_history:
            if message.role == MessageRole.USER:
                question = message.content or ""
            elif message.role == MessageRole.ASSISTANT and question:
                self._record(question, question, message.content or "")

    def _record(self, question: str, searched: str, answer: str) -> None:
        self._exchanges.append(Exchange(question, searched, answer))
        self._messages += [
            ChatMessage(role=MessageRole.USER, content=question),
            ChatMessage(role=MessageRole.ASSISTANT, content=answer),
        ]

    def _turn(self, message: str) -> Iterator[TurnUpdate]:
        return self.engine.ask(message, self._exchanges, self.filters, self.top_k)

    def _finish(self, message: str, final: TurnUpdate) -> Answer:
        assert final.answer is not None
        self.last_answer = final.answer
        self._record(message, final.searched, final.answer.text)
        return final.answer

    def chat(self, message: str, chat_history: list[ChatMessage] | None = None) -> AgentChatResponse:
        self._use_history(chat_history)
        *_, final = self._turn(message)
        answer = self._finish(message, final)
        return AgentChatResponse(
            answer.text, source_nodes=answer_nodes(answer), metadata=answer_metadata(answer, final.searched)
        )

    def stream_chat(self, message: str, chat_history: list[ChatMessage] | None = None) -> StreamingAgentChatResponse:
        self._use_history(chat_history)
        updates = self._turn(message)
        first = next(updates)
        finished: list[TurnUpdate] = []

        def stream() -> Generator[ChatResponse, None, None]:
            text = ""
            for delta in _deltas(updates, finished, self.engine.answerer_name):
                text += delta
                yield ChatResponse(message=ChatMessage(role=MessageRole.ASSISTANT, content=text), delta=delta)
            self._finish(message, finished[-1])

        nodes = [passage_node(p) for p in first.passages]
        return StreamingAgentChatResponse(chat_stream=stream(), source_nodes=nodes, is_writing_to_memory=False)

    async def achat(self, message: str, chat_history: list[ChatMessage] | None = None) -> AgentChatResponse:
        return await asyncio.to_thread(self.chat, message, chat_history)

    async def astream_chat(
        self, message: str, chat_history: list[ChatMessage] | None = None
    ) -> StreamingAgentChatResponse:
        """The checked answer in one piece (the answerers stream synchronously)."""
        response = await self.achat(message, chat_history)

        async def stream() -> AsyncGenerator[ChatResponse, None]:
            yield ChatResponse(
                message=ChatMessage(role=MessageRole.ASSISTANT, content=response.response), delta=response.response
            )

        return StreamingAgentChatResponse(
            achat_stream=stream(), source_nodes=response.source_nodes, is_writing_to_memory=False
        )


class NewsIndex:
    """This project's store (its collection, retriever, filters and answerers) seen from llama-index."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline

    @classmethod
    def open(cls, settings: Settings | None = None) -> NewsIndex:
        """The store named by `settings` (default: the environment and `.env`, like the CLI)."""
        return cls(Pipeline.open(settings or Settings.model_validate({})))

    def _engine(self, llm: LLM | None) -> ChatEngine:
        engine = self.pipeline.engine
        if llm is None:
            return engine  # the configured chat model, or the offline extractive answerer
        from rag.answer.llm import LLMAnswerer

        top_k = self.pipeline.settings.llm_top_k
        return ChatEngine(engine.retriever, engine.extractive, LLMAnswerer(llm), top_k)

    def as_retriever(self, top_k: int | None = None, filters: QueryFilters = QueryFilters()) -> LlamaIndexRetriever:
        return LlamaIndexRetriever(self.pipeline.retriever, top_k or self.pipeline.engine.top_k, filters)

    def as_query_engine(
        self,
        llm: LLM | None = None,
        top_k: int | None = None,
        filters: QueryFilters = QueryFilters(),
        streaming: bool = False,
    ) -> NewsQueryEngine:
        """Answers with cited passages; `llm` (any llama-index LLM) replaces the configured answerer."""
        return NewsQueryEngine(engine=self._engine(llm), filters=filters, top_k=top_k, streaming=streaming)

    def as_chat_engine(
        self, llm: LLM | None = None, top_k: int | None = None, filters: QueryFilters = QueryFilters()
    ) -> NewsChatEngine:
        """A conversation with cited answers; follow-ups are condensed by `llm` (or offline without one)."""
        return NewsChatEngine(self._engine(llm), filters, top_k)
