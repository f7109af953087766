"""Both answerers on the demo article: extractive offline, and an LLM over the OpenAI
protocol (a real HTTP server on loopback), including its failure modes."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from rag.answer.finish import finish_answer
from rag.answer.llm import LLMAnswerer
from rag.answer.refusal import DECLINE
from rag.chat import ChatEngine
from rag.pipeline import Pipeline
from tests.conftest import make_settings
from tests.openai_server import FakeOpenAI

KYIV = "What guarantees does Kyiv want?"


def test_extractive_answer_cites_the_guarantor_passage(demo_pipeline: Pipeline) -> None:
    final = demo_pipeline.engine.answer(KYIV)
    answer = final.answer
    assert answer is not None and not answer.declined
    assert re.search(r"\[\d\]", answer.text)
    assert "designated guarantor countries" in answer.text and "strong armies" in answer.text
    quotes = [citation.quote for citation in answer.citations]
    assert any("designated guarantor countries" in quote for quote in quotes)
    for citation in answer.citations:  # every quote is verbatim from its passage, and numbered like it
        assert citation.quote in citation.passage.text
        assert answer.passages[citation.number - 1] == citation.passage
    assert answer.answerer == "local extractive"


@pytest.mark.parametrize("question", ["Who won the 2018 World Cup?", "What is the boiling point of mercury?"])
def test_extractive_declines_when_articles_do_not_say(demo_pipeline: Pipeline, question: str) -> None:
    answer = demo_pipeline.engine.answer(question).answer
    assert answer is not None and answer.declined and answer.text.startswith(DECLINE) and answer.citations == []


def loopback_answerer(base_url: str, timeout: float = 30.0, **settings: Any) -> LLMAnswerer:
    """The chat-model answerer as configured by RAG_LLM=openai-like:fake-model and OPENAI_BASE_URL."""
    configured = make_settings(
        Path("unused"), llm="openai-like:fake-model", openai_base_url=base_url, llm_timeout=timeout, **settings
    )
    return LLMAnswerer.from_settings(configured)


def llm_engine(
    pipeline: Pipeline, server: FakeOpenAI, timeout: float = 30.0, gate: bool = True, **settings: Any
) -> ChatEngine:
    """A chat engine over `pipeline` answering through the loopback server (`settings`: e.g. retries=0)."""
    if "retries" in settings:
        settings["llm_retries"] = settings.pop("retries")
    answerer = loopback_answerer(server.base_url, timeout, **settings)
    return ChatEngine(pipeline.retriever, pipeline.engine.extractive, answerer, 3, gate=gate)


def passages_in(messages: list[dict]) -> list[tuple[int, str]]:
    """(number, text) of each <passage> in the user message of a chat request."""
    found = re.findall(r'<passage number="(\d+)"[^>]*>\n(.*?)\n</passage>', messages[-1]["content"], re.DOTALL)
    return [(int(number), text) for number, text in found]


def cite_guarantor(messages: list[dict]) -> str:
    """Plays a model that reads the numbered passages and cites the one about guarantors."""
    number = next(n for n, text in passages_in(messages) if "guarantor countries" in text)
    return f"Kyiv wants security guarantees from designated guarantor countries with strong armies [{number}]. See [9]."


def test_llm_answer_streams_and_markers_map_to_passages(demo_pipeline: Pipeline, fake_openai: FakeOpenAI) -> None:
    fake_openai.reply = cite_guarantor
    updates = list(llm_engine(demo_pipeline, fake_openai).ask(KYIV))
    partials = [u.text for u in updates if u.answer is None and u.text]
    assert len(partials) > 3  # streamed token by token
    answer = updates[-1].answer
    assert answer is not None and answer.answerer == "fake-model" and not answer.declined
    assert "[9]" not in answer.text and any("9" in notice for notice in answer.notices)  # invalid marker dropped
    (citation,) = answer.citations
    assert "designated guarantor countries" in citation.passage.text
    assert "guarantor" in citation.quote
    request = fake_openai.requests[-1]
    assert request["stream"] is True and "only" in request["messages"][0]["content"].lower()
    assert "designated guarantor countries" in request["messages"][1]["content"]


def test_llm_decline_is_recognised(demo_pipeline: Pipeline, fake_openai: FakeOpenAI) -> None:
    fake_openai.reply = lambda messages: DECLINE
    answer = llm_engine(demo_pipeline, fake_openai).answer("Who won the 2018 World Cup?").answer
    assert answer is not None and answer.declined and answer.citations == []


@pytest.mark.parametrize("mode", ["error", "hang", "broken_stream"])
def test_failing_endpoint_falls_back_to_extractive(demo_pipeline: Pipeline, fake_openai: FakeOpenAI, mode: str) -> None:
    fake_openai.mode = mode
    fake_openai.hang_seconds = 3.0
    answer = llm_engine(demo_pipeline, fake_openai, timeout=0.5).answer(KYIV).answer
    assert answer is not None and answer.answerer == "local extractive"
    assert "designated guarantor countries" in answer.text
    assert any("language model fake-model" in notice and "extractive" in notice for notice in answer.notices)


def test_unreachable_endpoint_message(demo_pipeline: Pipeline) -> None:
    engine = ChatEngine(
        demo_pipeline.retriever, demo_pipeline.engine.extractive, loopback_answerer("http://127.0.0.1:9/v1", 1.0)
    )
    answer = engine.answer(KYIV).answer
    assert answer is not None and any("could not be reached" in notice for notice in answer.notices)


def test_finish_answer_without_passages_declines() -> None:
    answer = finish_answer(DECLINE, [], "x")
    assert answer.declined and answer.citations == []
