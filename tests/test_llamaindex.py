"""This store from llama-index: our embedder and retriever inside llama-index, and query and chat
engines over the store answering through a llama-index LLM on the loopback server."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import numpy as np
import pytest
from llama_index.core import Document, VectorStoreIndex
from llama_index.core.base.base_query_engine import BaseQueryEngine
from llama_index.core.chat_engine.types import BaseChatEngine, ChatMode
from llama_index.core.postprocessor import SimilarityPostprocessor
from llama_index.core.query_engine import RetrieverQueryEngine
from llama_index.core.vector_stores.types import FilterCondition, FilterOperator, MetadataFilter, MetadataFilters
from llama_index.llms.openai_like import OpenAILike

from rag.llamaindex import LlamaIndexEmbedding, LlamaIndexRetriever, NewsIndex
from rag.models.embedding import MINILM_MODEL_ID, MiniLMEmbedder
from rag.pipeline import Pipeline
from rag.text.dates import QueryFilters
from tests.answer.test_answering import cite_guarantor, passages_in
from tests.openai_server import FakeOpenAI

GUARANTEE = "Kyiv wants security guarantees from designated guarantor countries."
UNRELATED = "The bakery sold out of sourdough before noon."


def test_embedding_adapter_matches_the_embedder(embedder: MiniLMEmbedder) -> None:
    adapter = LlamaIndexEmbedding(embedder)
    assert adapter.model_name == MINILM_MODEL_ID
    raw = embedder.embed([GUARANTEE, UNRELATED])
    np.testing.assert_allclose(adapter.get_text_embedding(GUARANTEE), raw[0], atol=1e-6)
    np.testing.assert_allclose(adapter.get_query_embedding(UNRELATED), raw[1], atol=1e-6)
    np.testing.assert_allclose(adapter.get_text_embedding_batch([GUARANTEE, UNRELATED]), raw, atol=1e-6)
    np.testing.assert_allclose(asyncio.run(adapter.aget_query_embedding(GUARANTEE)), raw[0], atol=1e-6)


def test_llama_index_builds_an_index_with_our_embedder(embedder: MiniLMEmbedder) -> None:
    index = VectorStoreIndex.from_documents(
        [Document(text=GUARANTEE), Document(text=UNRELATED)], embed_model=LlamaIndexEmbedding(embedder)
    )
    (best,) = index.as_retriever(similarity_top_k=1).retrieve("Which countries would guarantee Ukraine's security?")
    assert best.node.get_content() == GUARANTEE


def test_retriever_adapter_returns_nodes_with_citation_metadata(demo_pipeline: Pipeline) -> None:
    nodes = LlamaIndexRetriever(demo_pipeline.retriever, top_k=3).retrieve("What guarantees does Kyiv want?")
    assert len(nodes) == 3
    assert any("designated guarantor countries" in n.node.get_content() for n in nodes)
    meta = nodes[0].node.metadata
    assert meta["title"] == "Russia-Ukraine peace talks in Istanbul" and meta["date"] == "2022-03-30"
    assert meta["end"] > meta["start"] >= 0


def loopback_llm(server: FakeOpenAI) -> OpenAILike:
    """A llama-index LLM built the way a user would, pointed at the loopback server."""
    return OpenAILike(model="fake-model", api_base=server.base_url, api_key="test", is_chat_model=True, timeout=5.0)


def test_query_engine_answers_with_cited_source_nodes(demo_pipeline: Pipeline, fake_openai: FakeOpenAI) -> None:
    fake_openai.reply = cite_guarantor
    engine = NewsIndex(demo_pipeline).as_query_engine(llm=loopback_llm(fake_openai), top_k=3)
    assert isinstance(engine, BaseQueryEngine)
    response = engine.query("What guarantees does Kyiv want?")
    assert "designated guarantor countries" in str(response) and "[9]" not in str(response)
    assert len(response.source_nodes) == 3 and response.metadata is not None
    cited = [n for n in response.source_nodes if "citation" in n.node.metadata]
    (node,) = cited
    meta = node.node.metadata
    assert f"[{meta['citation']}]" in str(response) and response.source_nodes[meta["citation"] - 1] is node
    assert "guarantor" in node.node.get_content()[meta["quote_start"] : meta["quote_end"]]
    assert meta["title"] == "Russia-Ukraine peace talks in Istanbul" and meta["date"] == "2022-03-30"
    assert meta["end"] > meta["start"] >= 0 and "source" in meta and "url" in meta
    assert response.metadata["answerer"] == "fake-model" and any("9" in n for n in response.metadata["notices"])
    assert "Today's date is" in fake_openai.requests[-1]["messages"][0]["content"]  # this project's prompt


def test_streaming_query_engine_and_offline_default(demo_pipeline: Pipeline, fake_openai: FakeOpenAI) -> None:
    fake_openai.reply = cite_guarantor
    index = NewsIndex(demo_pipeline)
    streaming = index.as_query_engine(llm=loopback_llm(fake_openai), top_k=3, streaming=True)
    response = streaming.query("What guarantees does Kyiv want?")
    pieces = list(response.response_gen)
    assert len(pieces) > 3 and "".join(pieces).count("guarantor countries") == 1 and "[9]" not in "".join(pieces)
    assert response.metadata is not None and response.metadata["citations"][0]["date"] == "2022-03-30"
    assert "[9]" not in response.metadata["answer"]  # the checked text
    fake_openai.mode = "error"  # the model fails: the extractive answer streams instead, with a notice
    failed = streaming.query("What guarantees does Kyiv want?")
    assert "strong armies" in "".join(failed.response_gen) and failed.metadata is not None
    assert failed.metadata["answerer"] == "local extractive" and "HTTP 500" in failed.metadata["notices"][0]
    fake_openai.mode = "ok"
    offline = index.as_query_engine().query("What guarantees does Kyiv want?")  # no LLM configured: extractive
    assert offline.metadata is not None and offline.metadata["answerer"] == "local extractive"
    assert "strong armies" in str(offline)
    nodes = index.as_retriever(top_k=2).retrieve("What guarantees does Kyiv want?")
    assert len(nodes) == 2 and nodes[0].node.metadata["source"]
    later = QueryFilters.parse("2023-01-01", None)  # the demo article is from 2022-03-30
    assert index.as_retriever(filters=later).retrieve("What guarantees does Kyiv want?") == []
    declined = index.as_query_engine(filters=later).query("What guarantees does Kyiv want?")
    assert declined.metadata is not None and declined.metadata["declined"] and declined.source_nodes == []


def test_chat_engine_condenses_follow_ups_through_the_model(demo_pipeline: Pipeline, fake_openai: FakeOpenAI) -> None:
    def reply(messages: list[dict]) -> str:
        if "standalone" in messages[0]["content"]:
            return "What does Russia demand in the Istanbul talks with Kyiv?"
        question = messages[-1]["content"].rpartition("Question:")[2]  # not the passages, which may say anything
        return cite_guarantor(messages) if "guarantees" in question else "Russia wants neutrality [1]."

    fake_openai.reply = reply
    chat = NewsIndex(demo_pipeline).as_chat_engine(llm=loopback_llm(fake_openai), top_k=3)
    assert isinstance(chat, BaseChatEngine)
    first = chat.chat("What guarantees does Kyiv want?")
    assert "guarantor countries" in first.response and first.source_nodes
    second = chat.stream_chat("And Russia?")
    assert "".join(second.response_gen) == "Russia wants neutrality [1]."
    assert second.source_nodes and chat.last_answer is not None and chat.last_answer.citations
    condense = fake_openai.requests[-2]["messages"]
    assert "What guarantees does Kyiv want?" in condense[1]["content"] and condense[1]["content"].endswith(
        "And Russia?"
    )
    assert [m.role.value for m in chat.chat_history] == ["user", "assistant", "user", "assistant"]
    again = asyncio.run(chat.achat("Who is Kirby?", chat_history=[]))
    assert again.response and len(chat.chat_history) == 2


# --- llama-index that behaves like llama-index (issue 17, case 6) -------------------------------------
KYIV = "What guarantees does Kyiv want?"


def cite_three_then_twelve(messages: list[dict]) -> str:
    """Plays a model that cites passages 3, 1 and 12 (of 3 given) in that order."""
    return "Kyiv wants guarantees [3]. Talks went on [1]. Allies agree [12]. More guarantees [3][1]."


def test_the_stream_agrees_with_the_metadata_and_the_nodes(demo_pipeline: Pipeline, fake_openai: FakeOpenAI) -> None:
    fake_openai.reply = cite_three_then_twelve
    index = NewsIndex(demo_pipeline)
    response = index.as_query_engine(llm=loopback_llm(fake_openai), similarity_top_k=3, streaming=True).query(KYIV)
    retrieved = [node.node.node_id for node in response.source_nodes]  # before the stream: retrieval order
    streamed = "".join(response.response_gen)
    assert streamed == "Kyiv wants guarantees [1]. Talks went on [2]. Allies agree. More guarantees [1][2]."
    assert response.metadata is not None and response.metadata["answer"] == streamed
    assert [c["number"] for c in response.metadata["citations"]] == [1, 2]
    assert [node.node.node_id for node in response.source_nodes] == [retrieved[2], retrieved[0], retrieved[1]]
    for number, node in enumerate(response.source_nodes[:2], 1):  # marker [n] is node n-1, with its quote
        meta = node.node.metadata
        assert meta["citation"] == number and meta["quotes"] and meta["quote_end"] > meta["quote_start"]
    assert response.metadata["claims"][2]["markers"] == [] and not response.metadata["claims"][2]["supported"]
    chat = index.as_chat_engine(llm=loopback_llm(fake_openai), similarity_top_k=3)
    streamed_chat = "".join(chat.stream_chat(KYIV).response_gen)
    assert streamed_chat == streamed == chat.chat_history[-1].content


def test_nodes_are_scored_by_cosine_similarity(demo_pipeline: Pipeline, embedder: MiniLMEmbedder) -> None:
    index = NewsIndex(demo_pipeline)
    nodes = index.as_retriever(similarity_top_k=6).retrieve(KYIV)
    question = embedder.embed([KYIV])[0]
    for rank, node in enumerate(nodes, 1):
        cosine = float(np.dot(question, embedder.embed([node.node.get_content()])[0]))
        assert node.score == pytest.approx(cosine, abs=1e-4)
        assert node.node.metadata["rank"] == rank and 0 < node.node.metadata["fusion_score"] < 0.1
    kept = SimilarityPostprocessor(similarity_cutoff=0.5).postprocess_nodes(nodes)
    assert 0 < len(kept) < len(nodes) and all(node.score >= 0.5 for node in kept)  # the cutoff means something


def test_a_stock_llama_index_pipeline_runs_on_the_store(demo_pipeline: Pipeline, fake_openai: FakeOpenAI) -> None:
    fake_openai.reply = lambda messages: "Security guarantees from designated guarantor countries."
    retriever = NewsIndex(demo_pipeline).as_retriever(similarity_top_k=6)
    engine = RetrieverQueryEngine.from_args(
        retriever, llm=loopback_llm(fake_openai), node_postprocessors=[SimilarityPostprocessor(similarity_cutoff=0.5)]
    )
    response = engine.query(KYIV)
    assert str(response) == "Security guarantees from designated guarantor countries."
    assert 0 < len(response.source_nodes) < 6 and all((n.score or 0) >= 0.5 for n in response.source_nodes)
    prompt = str(fake_openai.requests[-1]["messages"])
    assert "designated guarantor countries" in prompt and "title: Russia-Ukraine peace talks in Istanbul" in prompt
    assert "fusion_score" not in prompt and "quote_start" not in prompt  # offsets are not shown to the model


def test_the_usual_keyword_arguments(demo_pipeline: Pipeline, fake_openai: FakeOpenAI) -> None:
    fake_openai.reply = cite_guarantor
    index, llm = NewsIndex(demo_pipeline), loopback_llm(fake_openai)
    cutoff = SimilarityPostprocessor(similarity_cutoff=0.5)
    response = index.as_query_engine(llm=llm, similarity_top_k=6, node_postprocessors=[cutoff]).query(KYIV)
    assert len(response.source_nodes) == 3  # of 6 retrieved, the three above the cutoff reach the model
    assert len(passages_in(fake_openai.requests[-1]["messages"])) == 3
    assert response.metadata is not None and response.metadata["claims"][0]["supported"]
    for mode in ("best", "context", "condense_question", ChatMode.CONDENSE_PLUS_CONTEXT):
        chat = index.as_chat_engine(llm=llm, chat_mode=mode, similarity_top_k=2, node_postprocessors=[cutoff])
        assert "guarantor countries" in chat.chat(KYIV).response
    with pytest.raises(ValueError, match=r"chat_mode='simple' is not supported.*call the llm directly"):
        index.as_chat_engine(llm=llm, chat_mode="simple")
    with pytest.raises(TypeError, match=r"does not support response_mode, text_qa_template: .* Supported: llm"):
        index.as_query_engine(llm=llm, response_mode="tree_summarize", text_qa_template="x", verbose=True)
    with pytest.raises(TypeError, match="as_retriever"):
        index.as_retriever(vector_store_query_mode="mmr")


def test_metadata_filters(demo_pipeline: Pipeline) -> None:
    index = NewsIndex(demo_pipeline)
    source = MetadataFilters(filters=[MetadataFilter(key="source", value="News report (demo article)")])
    assert len(index.as_retriever(filters=source).retrieve(KYIV)) == 5
    dated = MetadataFilters(
        filters=[
            MetadataFilter(key="date", value="2022-03", operator=FilterOperator.GTE),
            MetadataFilter(key="date", value="2022-12-31", operator=FilterOperator.LTE),
            MetadataFilter(key="source", value=["Elsewhere", "News report (demo article)"], operator=FilterOperator.IN),
        ]
    )
    assert index.as_retriever(filters=dated).retrieve(KYIV)
    later = MetadataFilters(filters=[MetadataFilter(key="date", value="2023", operator=FilterOperator.GTE)])
    assert index.as_retriever(filters=later).retrieve(KYIV) == []
    declined = index.as_query_engine(filters=later).query(KYIV)
    assert declined.metadata is not None and declined.metadata["declined"]
    either = MetadataFilters(filters=source.filters, condition=FilterCondition.OR)
    with pytest.raises(ValueError, match="'or' are not supported"):
        index.as_retriever(filters=either)
    with pytest.raises(ValueError, match=r"Unsupported filter author == 'x': filter on 'source'"):
        index.as_retriever(filters=MetadataFilters(filters=[MetadataFilter(key="author", value="x")]))


def test_async_methods_leave_the_event_loop_free(demo_pipeline: Pipeline, fake_openai: FakeOpenAI) -> None:
    """The model answers only once a coroutine on the same event loop has run while the query waits:
    a blocking aquery would keep that coroutine from running, and the model would time out."""
    index = NewsIndex(demo_pipeline)

    async def scenario() -> tuple[Any, ...]:
        loop = asyncio.get_running_loop()
        asked, released = asyncio.Event(), threading.Event()

        def model(messages: list[dict]) -> str:
            loop.call_soon_threadsafe(asked.set)
            return cite_guarantor(messages) if released.wait(3) else "BLOCKED: the event loop never ran"

        async def release() -> None:
            await asyncio.wait_for(asked.wait(), 30)  # bounded: a blocking implementation fails, never hangs
            released.set()
            asked.clear()

        fake_openai.reply = model
        llm = loopback_llm(fake_openai)
        engine = index.as_query_engine(llm=llm, similarity_top_k=3)
        streaming = index.as_query_engine(llm=llm, similarity_top_k=3, streaming=True)
        answered, _ = await asyncio.gather(engine.aquery(KYIV), release())
        assert answered.metadata["answerer"] == "fake-model" and "BLOCKED" not in str(answered)
        released.clear()
        stream, _ = await asyncio.gather(streaming.aquery(KYIV), release())
        pieces = [piece async for piece in stream.async_response_gen()]
        released.clear()
        chat = index.as_chat_engine(llm=llm, similarity_top_k=3)
        chatted, _ = await asyncio.gather(chat.achat(KYIV), release())
        released.clear()
        chat_stream, _ = await asyncio.gather(chat.astream_chat("And from which countries?"), release())
        chat_pieces = [piece async for piece in chat_stream.async_response_gen()]
        nodes = await index.as_retriever(similarity_top_k=2).aretrieve(KYIV)
        return answered, pieces, stream, chatted, chat_pieces, chat, nodes

    answered, pieces, stream, chatted, chat_pieces, chat, nodes = asyncio.run(scenario())
    assert answered.metadata["answerer"] == "fake-model" and not answered.metadata["fallback"]
    assert "".join(pieces) == stream.metadata["answer"] and "guarantor countries" in "".join(pieces)
    assert stream.source_nodes[0].node.metadata["citation"] == 1
    assert chatted.metadata["answerer"] == "fake-model" and "guarantor countries" in "".join(chat_pieces)
    assert len(chat.chat_history) == 4 and len(nodes) == 2
