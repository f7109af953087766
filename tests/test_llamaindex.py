"""This store from llama-index: our embedder and retriever inside llama-index, and query and chat
engines over the store answering through a llama-index LLM on the loopback server."""

from __future__ import annotations

import asyncio

import numpy as np
from llama_index.core import Document, VectorStoreIndex
from llama_index.core.base.base_query_engine import BaseQueryEngine
from llama_index.core.chat_engine.types import BaseChatEngine
from llama_index.llms.openai_like import OpenAILike

from rag.llamaindex import LlamaIndexEmbedding, LlamaIndexRetriever, NewsIndex
from rag.models.embedding import MINILM_MODEL_ID, MiniLMEmbedder
from rag.pipeline import Pipeline
from rag.text.dates import QueryFilters
from tests.answer.test_answering import cite_guarantor
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
