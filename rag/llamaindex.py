"""This store from llama-index: the pipeline's parts as llama-index components.

`NewsIndex` offers `as_retriever()`, `as_query_engine()` and `as_chat_engine()` with llama-index's
usual keyword arguments (`similarity_top_k`, `filters` as `MetadataFilters`, `node_postprocessors`,
`streaming`, `chat_mode`; anything else is a clear error): llama-index objects backed by this
project's hybrid retriever, answerers, deadline and claim checks. A node's `score` is the cosine
similarity between question and passage (what `SimilarityPostprocessor` expects), the fusion score
and rank are in its metadata; a response's source nodes are in marker order (marker [n] is node
n-1, also after a stream ends) with the cited quote offsets, and its metadata holds the answer's
JSON form (claims, usage, fallback, notices). The async methods run the turn in a worker thread
and hand its updates to the event loop, which stays free (the embedder is CPU-bound, and one
implementation of the turn serves both). `LlamaIndexEmbedding` is a llama-index `BaseEmbedding`
backed by any `Embedder` (so llama-index never loads a model of its own). Imported only when
used, to keep the command line quick to start.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Generator, Iterator, Sequence
from typing import Any

from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.base.llms.types import ChatResponse
from llama_index.core.base.response.schema import AsyncStreamingResponse, Response, StreamingResponse
from llama_index.core.chat_engine.types import AgentChatResponse, BaseChatEngine, StreamingAgentChatResponse
from llama_index.core.embeddings import BaseEmbedding
from llama_index.core.llms import LLM, ChatMessage, MessageRole
from llama_index.core.postprocessor.types import BaseNodePostprocessor
from llama_index.core.query_engine import CustomQueryEngine
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode
from llama_index.core.vector_stores.types import FilterCondition, FilterOperator, MetadataFilter, MetadataFilters
from pydantic import Field, PrivateAttr

from rag.answer.model import Answer, Citation, answer_json
from rag.chat import ChatEngine, Exchange, TurnUpdate, check_question
from rag.config import Settings
from rag.models.embedding import Embedder
from rag.pipeline import Pipeline
from rag.search.retrieval import Passage, Retriever
from rag.text.dates import QueryFilters

Filters = QueryFilters | MetadataFilters | None
Postprocessors = Sequence[BaseNodePostprocessor]
_HIDDEN_FROM_MODELS = ["article_id", "url", "start", "end", "fusion_score", "rank", "citation", "quotes"]
_HIDDEN_FROM_MODELS += ["quote_start", "quote_end"]
_CHAT_MODES = {"best", "context", "condense_question", "condense_plus_context"}  # all retrieve, then answer


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


def passage_node(passage: Passage, citation: Citation | None = None, rank: int | None = None) -> NodeWithScore:
    """A passage as a llama-index node scored by cosine similarity; a cited one also carries its
    citation number and quote offsets (`quotes`: every supporting span)."""
    metadata: dict[str, Any] = {
        "article_id": passage.article_id,
        "title": passage.title,
        "date": passage.date,
        "source": passage.source,
        "url": passage.url,
        "start": passage.start,
        "end": passage.end,
        "fusion_score": passage.score,
    }
    if rank is not None:
        metadata["rank"] = rank
    if citation is not None:
        metadata |= {
            "citation": citation.number,
            "quote_start": citation.quote_start,
            "quote_end": citation.quote_end,
            "quotes": [list(span) for span in citation.highlights],
        }
    node = TextNode(
        id_=passage.chunk_id,
        text=passage.text,
        metadata=metadata,
        excluded_llm_metadata_keys=_HIDDEN_FROM_MODELS,
        excluded_embed_metadata_keys=_HIDDEN_FROM_MODELS,
    )
    return NodeWithScore(node=node, score=passage.similarity)


# --- llama-index's filters and keyword arguments ------------------------------------------------------
def query_filters(filters: Filters) -> QueryFilters:
    """llama-index `MetadataFilters` on `source` (==, in) and `date` (>=, <=, ==; ISO dates) as
    this project's filters; any other key, operator or an "or" is a ValueError saying what works."""
    if filters is None:
        return QueryFilters()
    if isinstance(filters, QueryFilters):
        return filters
    if filters.condition not in (None, FilterCondition.AND):
        raise ValueError(
            f"Filters combined with '{FilterCondition(filters.condition).value}' are not supported: only 'and'."
        )
    date_from, date_to, sources = None, None, list[str]()
    for item in filters.filters:
        if not isinstance(item, MetadataFilter):
            raise ValueError("Nested MetadataFilters are not supported: list the filters in one MetadataFilters.")
        operator, value = FilterOperator(item.operator), item.value
        if item.key == "source" and operator in (FilterOperator.EQ, FilterOperator.IN):
            sources += [str(v) for v in value] if isinstance(value, list) else [str(value)]
        elif item.key == "date" and operator in (FilterOperator.GTE, FilterOperator.EQ):
            date_from = str(value)
            date_to = str(value) if operator == FilterOperator.EQ else date_to
        elif item.key == "date" and operator == FilterOperator.LTE:
            date_to = str(value)
        else:
            raise ValueError(
                f"Unsupported filter {item.key} {operator.value} {value!r}: filter on 'source' (==, in) and 'date' "
                "(>=, <=, ==; YYYY, YYYY-MM or YYYY-MM-DD)."
            )
    return QueryFilters.parse(date_from, date_to, sources)


def _check_keywords(method: str, given: dict[str, Any], supported: str) -> None:
    """A clear error for llama-index keyword arguments this store does not support."""
    unknown = sorted(name for name in given if name != "verbose")
    if unknown:
        raise TypeError(
            f"NewsIndex.{method}() does not support {', '.join(unknown)}: answers are written by this project's "
            f"answerer with cited passages. Supported: {supported}."
        )


def postprocess(passages: Sequence[Passage], postprocessors: Postprocessors, query: str) -> list[Passage]:
    """The passages the node postprocessors keep, in their order."""
    if not postprocessors:
        return list(passages)
    nodes = [passage_node(p, rank=rank) for rank, p in enumerate(passages, 1)]
    for postprocessor in postprocessors:
        nodes = postprocessor.postprocess_nodes(nodes, query_str=query)
    by_id = {p.chunk_id: p for p in passages}
    return [by_id[node.node.node_id] for node in nodes if node.node.node_id in by_id]


class LlamaIndexRetriever(BaseRetriever):
    """Our hybrid retriever (with its filters) as a llama-index retriever; `aretrieve` does not block the loop."""

    def __init__(self, retriever: Retriever, top_k: int = 5, filters: Filters = None) -> None:
        super().__init__()
        self._retriever, self._top_k, self._filters = retriever, top_k, query_filters(filters)

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        passages = self._retriever.retrieve(query_bundle.query_str, self._top_k, self._filters)
        return [passage_node(p, rank=rank) for rank, p in enumerate(passages, 1)]

    async def _aretrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return await asyncio.to_thread(self._retrieve, query_bundle)


# --- a turn, with llama-index's postprocessors between retrieval and answer -----------------------------
def turn(
    engine: ChatEngine,
    message: str,
    history: Sequence[Exchange] = (),
    filters: QueryFilters = QueryFilters(),
    top_k: int | None = None,
    postprocessors: Postprocessors = (),
) -> Iterator[TurnUpdate]:
    """`ChatEngine.ask` with the node postprocessors applied to the retrieved passages."""
    question = check_question(message)
    budget = engine.llm.budget() if engine.llm else None
    searched, notices = engine.standalone(question, history, budget)
    passages = engine.retriever.retrieve(searched, top_k or engine.top_k, filters)
    passages = postprocess(passages, postprocessors, searched)
    yield TurnUpdate(searched, "", passages, notices=notices)
    yield from engine.respond(searched, passages, notices, budget)


async def in_thread(updates: Callable[[], Iterator[TurnUpdate]]) -> AsyncIterator[TurnUpdate]:
    """The updates of a turn run in a worker thread, as they come, without blocking the event loop."""
    loop = asyncio.get_running_loop()
    results: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
    stop = threading.Event()

    def put(kind: str, item: Any) -> None:
        if not loop.is_closed():
            loop.call_soon_threadsafe(results.put_nowait, (kind, item))

    def work() -> None:
        try:
            for update in updates():
                put("update", update)
                if stop.is_set():
                    return  # the consumer went away: closing the turn closes the model's stream
            put("end", None)
        except BaseException as error:  # raised in the consumer
            put("error", error)

    threading.Thread(target=work, daemon=True).start()
    try:
        while True:
            kind, item = await results.get()
            if kind == "end":
                return
            if kind == "error":
                raise item
            yield item
    finally:
        stop.set()


# --- answers as llama-index responses ------------------------------------------------------------
def answer_nodes(answer: Answer) -> list[NodeWithScore]:
    """Every passage given to the answerer, in marker order (marker [n] is node n-1); cited ones carry their quote."""
    cited = {citation.number: citation for citation in answer.citations}
    return [passage_node(p, cited.get(number), number) for number, p in enumerate(answer.passages, 1)]


def answer_metadata(answer: Answer, searched: str) -> dict[str, Any]:
    """The answer's JSON form (`rag ask --json`): answer, declined, answerer, fallback, notices, usage,
    citations, claims."""
    return answer_json(answer, searched)


def _delta(update: TurnUpdate, shown: str) -> str:
    """What to send for `update` after `shown`: the new text. The stream is the answer (markers renumbered
    as they came); if the model failed, the extractive answer follows after a blank line."""
    if update.answer is not None and update.answer.fallback and shown:
        return "\n\n" + update.text
    return update.text[len(shown) :] if update.text.startswith(shown) else ""


async def _last(updates: AsyncIterator[TurnUpdate]) -> TurnUpdate:
    final = None
    async for update in updates:
        final = update
    assert final is not None and final.answer is not None
    return final


def _finish_stream(final: TurnUpdate, nodes: list[NodeWithScore], metadata: dict[str, Any]) -> None:
    """After a stream: source nodes in marker order, with the cited quotes; the metadata filled in."""
    assert final.answer is not None
    nodes[:] = answer_nodes(final.answer)
    metadata.update(answer_metadata(final.answer, final.searched))


class NewsQueryEngine(CustomQueryEngine):
    """A llama-index query engine answering from this store with cited passages.

    `response.source_nodes` are the passages given to the answerer in marker order (marker [n] is
    node n-1); `response.metadata` is the answer's JSON form (claims, usage, fallback, citations).
    """

    engine: ChatEngine
    filters: QueryFilters = QueryFilters()
    top_k: int | None = None
    streaming: bool = False
    node_postprocessors: list[BaseNodePostprocessor] = Field(default_factory=list)

    def _turn(self, query_str: str) -> Iterator[TurnUpdate]:
        return turn(self.engine, query_str, (), self.filters, self.top_k, self.node_postprocessors)

    def custom_query(self, query_str: str) -> Response | StreamingResponse:
        updates = self._turn(query_str)
        if not self.streaming:
            *_, final = updates
            assert final.answer is not None
            return Response(
                final.answer.text, answer_nodes(final.answer), answer_metadata(final.answer, final.searched)
            )
        first = next(updates)  # retrieval done: the passages are known before the answer streams
        nodes = [passage_node(p, rank=rank) for rank, p in enumerate(first.passages, 1)]
        metadata: dict[str, Any] = {"searched": first.searched}

        def stream() -> Generator[str, None, None]:
            shown = ""
            for update in updates:
                delta = _delta(update, shown)
                shown += delta
                if delta:
                    yield delta
                if update.answer is not None:
                    _finish_stream(update, nodes, metadata)

        return StreamingResponse(stream(), source_nodes=nodes, metadata=metadata)

    async def acustom_query(self, query_str: str) -> Response | AsyncStreamingResponse:
        updates = in_thread(lambda: self._turn(query_str))
        if not self.streaming:
            final = await _last(updates)
            assert final.answer is not None
            return Response(
                final.answer.text, answer_nodes(final.answer), answer_metadata(final.answer, final.searched)
            )
        first = await anext(updates)
        nodes = [passage_node(p, rank=rank) for rank, p in enumerate(first.passages, 1)]
        metadata: dict[str, Any] = {"searched": first.searched}

        async def stream() -> AsyncGenerator[str, None]:
            shown = ""
            async for update in updates:
                delta = _delta(update, shown)
                shown += delta
                if delta:
                    yield delta
                if update.answer is not None:
                    _finish_stream(update, nodes, metadata)

        return AsyncStreamingResponse(response_gen=stream(), source_nodes=nodes, metadata=metadata)


class NewsChatEngine(BaseChatEngine):
    """A llama-index chat engine over this store: follow-ups are condensed (by the model, or offline),
    answers are checked and cited like in the web chat. `last_answer` holds the last checked `Answer`."""

    def __init__(
        self,
        engine: ChatEngine,
        filters: QueryFilters = QueryFilters(),
        top_k: int | None = None,
        postprocessors: Postprocessors = (),
    ) -> None:
        self.engine, self.filters, self.top_k, self.postprocessors = engine, filters, top_k, list(postprocessors)
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

    def _turn(self, message: str, chat_history: Sequence[ChatMessage] | None) -> Iterator[TurnUpdate]:
        self._use_history(chat_history)
        return turn(self.engine, message, list(self._exchanges), self.filters, self.top_k, self.postprocessors)

    def _finish(self, message: str, final: TurnUpdate) -> AgentChatResponse:
        assert final.answer is not None
        self.last_answer = final.answer
        self._record(message, final.searched, final.answer.text)
        metadata = answer_metadata(final.answer, final.searched)
        return AgentChatResponse(final.answer.text, source_nodes=answer_nodes(final.answer), metadata=metadata)

    def chat(self, message: str, chat_history: list[ChatMessage] | None = None) -> AgentChatResponse:
        *_, final = self._turn(message, chat_history)
        return self._finish(message, final)

    def stream_chat(self, message: str, chat_history: list[ChatMessage] | None = None) -> StreamingAgentChatResponse:
        updates = self._turn(message, chat_history)
        first = next(updates)
        nodes = [passage_node(p, rank=rank) for rank, p in enumerate(first.passages, 1)]

        def stream() -> Generator[ChatResponse, None, None]:
            shown = ""
            for update in updates:
                delta = _delta(update, shown)
                shown += delta
                if delta:
                    yield ChatResponse(message=ChatMessage(role=MessageRole.ASSISTANT, content=shown), delta=delta)
                if update.answer is not None:
                    nodes[:] = self._finish(message, update).source_nodes

        return StreamingAgentChatResponse(chat_stream=stream(), source_nodes=nodes, is_writing_to_memory=False)

    async def achat(self, message: str, chat_history: list[ChatMessage] | None = None) -> AgentChatResponse:
        return self._finish(message, await _last(in_thread(lambda: self._turn(message, chat_history))))

    async def astream_chat(
        self, message: str, chat_history: list[ChatMessage] | None = None
    ) -> StreamingAgentChatResponse:
        updates = in_thread(lambda: self._turn(message, chat_history))
        first = await anext(updates)
        nodes = [passage_node(p, rank=rank) for rank, p in enumerate(first.passages, 1)]

        async def stream() -> AsyncGenerator[ChatResponse, None]:
            shown = ""
            async for update in updates:
                delta = _delta(update, shown)
                shown += delta
                if delta:
                    yield ChatResponse(message=ChatMessage(role=MessageRole.ASSISTANT, content=shown), delta=delta)
                if update.answer is not None:
                    nodes[:] = self._finish(message, update).source_nodes

        return StreamingAgentChatResponse(achat_stream=stream(), source_nodes=nodes, is_writing_to_memory=False)


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

        settings = self.pipeline.settings
        return ChatEngine(
            engine.retriever, engine.extractive, LLMAnswerer.from_settings(settings, llm), settings.llm_top_k
        )

    def as_retriever(
        self, similarity_top_k: int | None = None, filters: Filters = None, top_k: int | None = None, **kwargs: Any
    ) -> LlamaIndexRetriever:
        """Hybrid retrieval; nodes scored by cosine similarity (`filters`: MetadataFilters on source and date)."""
        _check_keywords("as_retriever", kwargs, "similarity_top_k, filters")
        depth = similarity_top_k or top_k or self.pipeline.engine.top_k
        return LlamaIndexRetriever(self.pipeline.retriever, depth, filters)

    def as_query_engine(
        self,
        llm: LLM | None = None,
        similarity_top_k: int | None = None,
        filters: Filters = None,
        node_postprocessors: Postprocessors | None = None,
        streaming: bool = False,
        top_k: int | None = None,
        **kwargs: Any,
    ) -> NewsQueryEngine:
        """Answers with cited passages; `llm` (any llama-index LLM) replaces the configured answerer."""
        _check_keywords("as_query_engine", kwargs, "llm, similarity_top_k, filters, node_postprocessors, streaming")
        return NewsQueryEngine(
            engine=self._engine(llm),
            filters=query_filters(filters),
            top_k=similarity_top_k or top_k,
            streaming=streaming,
            node_postprocessors=list(node_postprocessors or ()),
        )

    def as_chat_engine(
        self,
        llm: LLM | None = None,
        chat_mode: str | None = None,
        similarity_top_k: int | None = None,
        filters: Filters = None,
        node_postprocessors: Postprocessors | None = None,
        top_k: int | None = None,
        **kwargs: Any,
    ) -> NewsChatEngine:
        """A conversation with cited answers; follow-ups are condensed by `llm` (or offline without one).
        Every retrieving `chat_mode` (best, context, condense_question, condense_plus_context) is this one."""
        _check_keywords("as_chat_engine", kwargs, "llm, chat_mode, similarity_top_k, filters, node_postprocessors")
        mode = getattr(chat_mode, "value", chat_mode)
        if mode is not None and mode not in _CHAT_MODES:
            raise ValueError(
                f"chat_mode={mode!r} is not supported: this chat engine always answers from the articles with "
                f"citations, condensing follow-ups first (chat modes {', '.join(sorted(_CHAT_MODES))}). "
                "For a chat without the articles call the llm directly."
            )
        return NewsChatEngine(
            self._engine(llm), query_filters(filters), similarity_top_k or top_k, node_postprocessors or ()
        )
