"""The web app's handlers in-process (rag.web.controller), without Gradio or a browser.

The pipelines are real (embedded Chroma, BM25, the word-hash embedder) over two
collections; their chat engine is a scripted stand-in, so a test decides what an answer
streams, cites or raises.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from rag.answer.model import Answer, Citation
from rag.chat import Exchange, TurnUpdate, check_question
from rag.config import Settings
from rag.errors import LLMError, RagError
from rag.pipeline import Pipeline
from rag.search.retrieval import Retriever
from rag.text.dates import QueryFilters
from rag.web.controller import ARTICLE_PLACEHOLDER, ChatController, Examples, Options, Shown
from rag.web.feedback import FeedbackStore
from tests.conftest import DEMO_ARTICLE, make_settings
from tests.fake_embedder import HashEmbedder

CHIPS = """Title: US tightens curbs on chip exports to China
Date: 2023-10-17
Source: Tech Wire

The Commerce Department said on Tuesday that the new rules stop Nvidia from selling its A800 and H800 chips \
to China. Nvidia said it did not expect a near-term effect on its earnings.
"""
KYIV = "What guarantees does Kyiv want?"


class ScriptedEngine:
    """Stands in for rag.chat.ChatEngine: real retrieval, a scripted answer citing the first passage."""

    answerer_name = "scripted"
    top_k = 5

    def __init__(self, retriever: Retriever) -> None:
        self.retriever = retriever
        self.partials: Sequence[str] = ()
        self.failure: RagError | None = None
        self.histories: list[list[Exchange]] = []

    def ask(
        self,
        question: str,
        history: Sequence[Exchange] = (),
        filters: QueryFilters = QueryFilters(),
        top_k: int | None = None,
    ) -> Iterator[TurnUpdate]:
        question = check_question(question)
        self.histories.append(list(history))
        searched = f"{question} ({history[-1].question})" if history else question
        passages = self.retriever.retrieve(searched, top_k or self.top_k, filters)
        yield TurnUpdate(searched, "", passages)
        for partial in self.partials:
            yield TurnUpdate(searched, partial, passages)
        if self.failure is not None:
            raise self.failure
        if not passages:
            answer = Answer("The articles do not say.", [], [], self.answerer_name, True)
        else:
            first = passages[0]
            quote_end = first.text.index(".") + 1
            answer = Answer(
                f"{first.text[:quote_end]} [1]", [Citation(1, first, 0, quote_end)], list(passages), "scripted", False
            )
        yield TurnUpdate(searched, answer.text, passages, answer)

    def answer(self, question: str, top_k: int | None = None, **_: Any) -> TurnUpdate:
        return list(self.ask(question, top_k=top_k))[-1]


class FakePipelines:
    """rag.pipeline.Pipelines over real stores, each pipeline's engine scripted."""

    def __init__(self, settings: Settings, embedder: HashEmbedder) -> None:
        self.settings, self.embedder = settings, embedder
        self.open: dict[str, Pipeline] = {}

    def get(self, collection: str | None = None, create: bool = True) -> Pipeline:
        name = collection or self.settings.collection
        if name not in self.open:
            settings = self.settings.model_copy(update={"collection": name})
            pipeline = Pipeline.open(settings, self.embedder, create)
            self.open[name] = dataclasses.replace(pipeline, engine=ScriptedEngine(pipeline.retriever))  # type: ignore[arg-type]
        return self.open[name]

    def collections(self) -> list[str]:
        return sorted(set(self.get().store.collection_names()))


@pytest.fixture
def controller(tmp_path: Path, fast_embedder: HashEmbedder) -> ChatController:
    settings = make_settings(tmp_path / "store", collection="news")
    pipelines = FakePipelines(settings, fast_embedder)
    pipelines.get("news").ingest([DEMO_ARTICLE], progress=False)
    chips = tmp_path / "chips.txt"
    chips.write_text(CHIPS, encoding="utf-8")
    pipelines.get("other").ingest([chips], progress=False)
    return ChatController(settings, pipelines)


def engine(controller: ChatController, collection: str = "news") -> ScriptedEngine:
    return controller.existing(collection).engine  # type: ignore[return-value]


def run_turn(controller: ChatController, question: str, turns: list[Any] | None = None, **inputs: Any) -> list[Any]:
    values = {"chat": [], "collection": "news", "top_k": 5, "date_from": "", "date_to": "", "sources": []} | inputs
    return list(
        controller.turn(
            question,
            values["chat"],
            turns or [],
            values["collection"],
            values["top_k"],
            values["date_from"],
            values["date_to"],
            values["sources"],
        )
    )


# --- the turn ------------------------------------------------------------------------------------------------
def test_a_turn_shows_the_stage_then_the_answer_with_its_sources_and_exports(controller: ChatController) -> None:
    changes = run_turn(controller, KYIV)
    first, last = changes[0], changes[-1]
    assert first["question"] == "" and first["notice"] == ""  # the box empties as soon as it is asked
    assert first["chat"][0] == {"role": "user", "content": KYIV}
    assert "Searching the articles" in first["chat"][1]["content"]
    [turn] = last["turns"]
    assert turn.number == 1 and turn.question == KYIV and turn.answer.citations
    assert 'id="answer-1"' in last["chat"][1]["content"] and 'id="cite-1-1"' in last["chat"][1]["content"]
    assert last["searched"].startswith(f"Searched for: *{KYIV}*") and " s · answer " in last["searched"]
    assert last["transcript"].startswith(f"Q: {KYIV}\n\nA: ") and "References:" in last["transcript"]
    assert f"## 1. {KYIV}" in Path(last["export_md"]).read_text(encoding="utf-8")


def test_streamed_text_is_shown_escaped_while_it_grows(controller: ChatController) -> None:
    engine(controller).partials = ["Kyiv <b>wants", "Kyiv <b>wants guarantees"]
    changes = run_turn(controller, KYIV)
    streamed = [c["chat"][1]["content"] for c in changes[1:-1]]
    assert any("Answering from" in s and "Kyiv &lt;b&gt;wants guarantees" in s for s in streamed)
    assert all("<b>" not in s for s in streamed)


def test_a_follow_up_gets_the_sessions_own_history(controller: ChatController) -> None:
    first = run_turn(controller, KYIV)[-1]
    second = run_turn(controller, "And Russia?", first["turns"], chat=first["chat"])[-1]
    assert engine(controller).histories[-1] == [Exchange(KYIV, KYIV, first["turns"][0].answer.text)]
    assert [t.number for t in second["turns"]] == [1, 2] and len(second["chat"]) == 4
    assert 'id="answer-2"' in second["chat"][3]["content"]


@pytest.mark.parametrize(
    ("question", "inputs", "message"),
    [
        ("", {}, "Please type a question."),
        ("Why? " * 500, {}, "characters long; the limit is 2,000"),
        (KYIV, {"date_from": "2023-12", "date_to": "2023-01"}, "The date range is reversed"),
        (KYIV, {"date_from": "March"}, "From date"),
        (KYIV, {"collection": "nwes"}, "There is no collection named 'nwes'"),
    ],
)
def test_rejected_input_adds_no_bubble_and_keeps_the_text(
    controller: ChatController, question: str, inputs: dict[str, str], message: str
) -> None:
    chat = [{"role": "user", "content": "earlier"}]
    [change] = run_turn(controller, question, chat=chat, **inputs)
    assert change["chat"] == chat and change["turns"] == [] and change["question"] == question
    assert change["notice"].startswith("⚠️") and message in change["notice"]
    assert "nwes" not in controller.pipelines.collections()  # asking never creates a collection


def test_a_failure_while_answering_restores_the_conversation(controller: ChatController) -> None:
    engine(controller).failure = LLMError("The model could not be reached.")
    changes = run_turn(controller, KYIV)
    assert "Searching the articles" in changes[0]["chat"][-1]["content"]
    last = changes[-1]
    assert last["chat"] == [] and last["turns"] == [] and last["question"] == KYIV
    assert last["notice"] == "⚠️ The model could not be reached."


def test_filters_reach_the_search_and_are_kept_with_the_turn(controller: ChatController) -> None:
    last = run_turn(controller, KYIV, date_from="2030-01", date_to="2030-12")[-1]
    [turn] = last["turns"]
    assert turn.filters == "between 2030-01 and 2030-12" and not turn.answer.passages
    assert "No articles between 2030-01 and 2030-12" in last["chat"][1]["content"]


# --- filters, reset, collections --------------------------------------------------------------------------------
def test_the_filters_line_says_what_is_in_force_or_what_is_wrong(controller: ChatController) -> None:
    assert controller.show_filters("", "", []) == {"filters": "Filters: none (all articles)"}
    assert controller.show_filters("2023-01", "", ["Tech Wire"]) == {
        "filters": "Filters: from 2023-01 on, from Tech Wire"
    }
    assert "reversed" in controller.show_filters("2023-12", "2023-01", [])["filters"]


def test_reset_clears_messages_memory_reader_and_comment_box(controller: ChatController) -> None:
    assert controller.reset() == {
        "chat": [],
        "turns": [],
        "searched": "",
        "notice": "",
        "transcript": "",
        "export_md": None,
        "article": ARTICLE_PLACEHOLDER,
        "feedback_row": Shown(False),
    }


def test_switching_collection_shows_its_overview_sources_and_examples(controller: ChatController) -> None:
    change = controller.switch_collection("other")
    assert "Collection **other**: 1 article from 1 source, 2023-10-17" in change["status"]
    assert change["sources"] == Options(["Tech Wire"], [])
    assert change["chat"] == Examples(["What do the articles say about “US tightens curbs on chip exports to China”?"])
    assert change["turns"] == [] and change["article"] == ARTICLE_PLACEHOLDER
    unknown = controller.switch_collection("nwes")
    assert unknown["status"].startswith("⚠️ There is no collection named 'nwes'") and "chat" not in unknown


# --- the article reader ----------------------------------------------------------------------------------------
def test_a_cited_article_opens_whole_with_its_quote_highlighted(controller: ChatController) -> None:
    turns = run_turn(controller, KYIV)[-1]["turns"]
    article = controller.open_article("1:1:123", turns, "news")["article"]
    assert "Back to answer 1" in article and "Pentagon spokesman John Kirby" in article and "<mark>" in article
    gone = controller.open_article("2:1:5", turns, "news")["article"]
    assert "no longer in this conversation" in gone
    assert "no longer in this conversation" in controller.open_article("junk", turns, "news")["article"]


# --- feedback ---------------------------------------------------------------------------------------------------
def test_a_rating_and_its_comment_are_stored_and_exported(controller: ChatController) -> None:
    turns = run_turn(controller, KYIV)[-1]["turns"]
    assert controller.comment("", "Nice.", "news") == {"thanks": "Type a comment first."}
    rated = controller.rate(1, True, turns, "news")  # message 1 is the first answer
    assert rated["rated"] == turns[0].id and rated["feedback_row"] == Shown(True)
    assert rated["thanks"].startswith("Thanks: answer 1 rated 👍")
    saved = controller.comment(rated["rated"], "  Quotes the right sentence. ", "news")
    assert saved["thanks"] == "Comment saved. Thank you." and saved["comment"] == ""
    [record] = [json.loads(line) for line in Path(saved["export_tests"]).read_text(encoding="utf-8").splitlines()]
    assert record["question"] == KYIV and record["note"] == "Quotes the right sentence." and record["evidence"]
    [stored] = FeedbackStore.for_collection(controller.settings.data_dir, "news").all()
    assert (stored.rating, stored.comment) == ("up", "Quotes the right sentence.")


def test_a_rating_of_no_answer_is_ignored(controller: ChatController) -> None:
    turns = run_turn(controller, KYIV)[-1]["turns"]
    assert controller.rate(7, True, turns, "news") == {"thanks": "", "feedback_row": Shown(False)}
    assert controller.rate(1, None, turns, "news")["feedback_row"] == Shown(False)
    assert FeedbackStore.for_collection(controller.settings.data_dir, "news").all() == []


# --- the API ------------------------------------------------------------------------------------------------------
def test_the_api_answers_or_says_what_is_wrong(controller: ChatController) -> None:
    result = controller.api_ask(KYIV)
    assert result["searched"] == KYIV and result["citations"][0]["number"] == 1
    assert controller.api_ask("") == {"error": "Please type a question."}
    assert controller.api_ask(KYIV, "nwes")["error"].startswith("There is no collection named 'nwes'")


# --- the Library --------------------------------------------------------------------------------------------------
def test_the_library_lists_searches_and_adds_uploaded_files(controller: ChatController, tmp_path: Path) -> None:
    listed = controller.library_rows("news", "")
    assert [row[1] for row in listed["library_table"]] == ["Russia-Ukraine peace talks in Istanbul"]
    assert controller.library_rows("news", "no such words")["library_summary"].startswith("0 of 1 articles")
    upload = tmp_path / "upload" / "chips.txt"
    upload.parent.mkdir()
    upload.write_text(CHIPS, encoding="utf-8")
    added = controller.add_articles("news", [str(upload)], "")
    assert "added 1" in added["add_result"] and added["add_files"] is None and added["add_urls"] == ""
    assert added["library_table"][0][1] == "US tightens curbs on chip exports to China"
    assert added["library_summary"].startswith("2 of 2 articles")


def test_adding_nothing_or_a_non_address_says_what_to_do(controller: ChatController) -> None:
    assert controller.add_articles("news", [], "")["add_result"] == (
        "Choose files to upload or paste page or feed URLs first."
    )
    refused = controller.add_articles("news", [], "ftp://example.org/x")
    assert refused["add_result"].startswith("**Nothing added:** 'ftp://example.org/x' is not a web address")
    assert "add_urls" not in refused  # the pasted text stays to be corrected
