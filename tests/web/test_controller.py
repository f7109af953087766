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

from rag import cli
from rag.answer.model import Answer, Citation
from rag.chat import Exchange, TurnUpdate, check_question
from rag.config import Settings
from rag.errors import LLMError, RagError
from rag.eval.run import load_testset
from rag.models.embedding import Embedder
from rag.pipeline import Pipeline
from rag.search.retrieval import Retriever
from rag.store import library
from rag.text.dates import QueryFilters
from rag.web.controller import ARTICLE_PLACEHOLDER, ChatController, Examples, Options, Shown
from rag.web.feedback import FeedbackStore
from tests.conftest import DEMO_ARTICLE, make_settings
from tests.fake_embedder import HashEmbedder
from tests.news_site import NewsSite, generated_story, news_site

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

    def __init__(self, settings: Settings, embedder: Embedder, scripted: bool = True) -> None:
        self.settings, self.embedder, self.scripted = settings, embedder, scripted
        self.open: dict[str, Pipeline] = {}

    def get(self, collection: str | None = None, create: bool = True) -> Pipeline:
        name = collection or self.settings.collection
        if name not in self.open:
            settings = self.settings.model_copy(update={"collection": name})
            pipeline = Pipeline.open(settings, self.embedder, create)
            if self.scripted:
                pipeline = dataclasses.replace(pipeline, engine=ScriptedEngine(pipeline.retriever))  # type: ignore[arg-type]
            self.open[name] = pipeline
        return self.open[name]

    def collections(self) -> list[str]:
        return sorted(set(self.get().store.collection_names()))


@pytest.fixture
def controller(tmp_path: Path, fast_embedder: HashEmbedder) -> ChatController:
    settings = make_settings(
        tmp_path / "store", collection="news", fetch_allow_private=True
    )  # the news site is on loopback
    pipelines = FakePipelines(settings, fast_embedder)
    pipelines.get("news").ingest([DEMO_ARTICLE], progress=False)
    chips = tmp_path / "chips.txt"
    chips.write_text(CHIPS, encoding="utf-8")
    pipelines.get("other").ingest([chips], progress=False)
    return ChatController(settings, pipelines)


def engine(controller: ChatController, collection: str = "news") -> ScriptedEngine:
    return controller.existing(collection).engine  # type: ignore[return-value]


def final(changes: list[Any]) -> Any:
    """The change that completed the turn (the answer with its sources)."""
    return next(change for change in reversed(changes) if "turns" in change)


def run_turn(controller: ChatController, question: str, turns: list[Any] | None = None, **inputs: Any) -> list[Any]:
    values = {"chat": [], "collection": "news", "top_k": 5, "date_from": "", "date_to": "", "sources": []} | inputs
    client = values.pop("client", "local")
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
            client,
        )
    )


# --- the turn ------------------------------------------------------------------------------------------------
def test_a_turn_shows_the_stage_then_the_answer_with_its_sources_and_exports(controller: ChatController) -> None:
    changes = run_turn(controller, KYIV)
    first, last = changes[0], changes[-1]
    assert first["question"] == "" and first["notice"] == ""  # the box empties as soon as it is asked
    assert first["chat"][0] == {"role": "user", "content": KYIV}
    assert "Searching the articles" in first["chat"][1]["content"]
    answered = next(c for c in changes if "turns" in c and c is not first)
    [turn] = answered["turns"]
    assert turn.number == 1 and turn.question == KYIV and turn.answer.citations
    assert turn.retrieved and turn.retrieval == "hybrid"  # in retrieval order, as the first update gave them
    message = answered["chat"][1]["content"]
    assert 'id="answer-1"' in message and 'id="cite-1-1"' in message
    assert f"Searched for: <em>{KYIV}</em>" in message and " s · answer " in message  # under this answer
    assert answered["transcript"].startswith(f"Q: {KYIV}\n\nA: ") and "References:" in answered["transcript"]
    assert f"## 1. {KYIV}" in Path(answered["export_md"]).read_text(encoding="utf-8")
    assert last["status"].startswith("Collection **news**: 1 article") and last["sources"] == Options(
        ["News report (demo article)"], []
    )  # the overview as the collection is now


def test_streamed_text_is_shown_escaped_while_it_grows(controller: ChatController) -> None:
    engine(controller).partials = ["Kyiv <b>wants", "Kyiv <b>wants guarantees"]
    changes = run_turn(controller, KYIV)
    streamed = [c["chat"][1]["content"] for c in changes[1:-1]]
    assert any("Answering from" in s and "Kyiv &lt;b&gt;wants guarantees" in s for s in streamed)
    assert all("<b>" not in s for s in streamed)


def test_a_follow_up_gets_the_sessions_own_history(controller: ChatController) -> None:
    first = final(run_turn(controller, KYIV))
    second = final(run_turn(controller, "And Russia?", first["turns"], chat=first["chat"]))
    assert engine(controller).histories[-1] == [Exchange(KYIV, KYIV, first["turns"][0].answer.text)]
    assert [t.number for t in second["turns"]] == [1, 2] and len(second["chat"]) == 4
    assert 'id="answer-2"' in second["chat"][3]["content"]


@pytest.mark.parametrize(
    ("question", "inputs", "message"),
    [
        ("", {}, "Please type a question."),
        ("Why? " * 500, {}, "characters long; the limit is 2,000"),
        (KYIV, {"date_from": "2023-12", "date_to": "2023-01"}, "Not asked: fix the filters first"),
        (KYIV, {"date_from": "March"}, "Not asked: fix the filters first"),
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
    last = final(run_turn(controller, KYIV, date_from="2030-01", date_to="2030-12"))
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


def test_reset_clears_messages_memory_and_reader_and_brings_the_examples_back(controller: ChatController) -> None:
    assert controller.reset("news") == {
        "chat": Examples(["What do the articles say about “Russia-Ukraine peace talks in Istanbul”?"]),
        "turns": [],
        "notice": "",
        "transcript": "",
        "export_md": None,
        "article": ARTICLE_PLACEHOLDER,
        "reader": Shown(False),
    }


def test_switching_collection_shows_its_overview_sources_and_examples(controller: ChatController) -> None:
    change = controller.switch_collection("other")
    assert "Collection **other**: 1 article from 1 source, 2023-10-17" in change["status"]
    assert change["sources"] == Options(["Tech Wire"], [])
    assert change["chat"] == Examples(["What do the articles say about “US tightens curbs on chip exports to China”?"])
    assert change["turns"] == [] and change["article"] == ARTICLE_PLACEHOLDER and change["reader"] == Shown(False)
    unknown = controller.switch_collection("nwes")
    assert unknown["status"].startswith("⚠️ There is no collection named 'nwes'") and "chat" not in unknown


# --- the article reader ----------------------------------------------------------------------------------------
def test_a_cited_article_opens_in_the_reader_whole_with_its_quote_highlighted(controller: ChatController) -> None:
    turns = final(run_turn(controller, KYIV))["turns"]
    opened = controller.open_article("1:1:123", turns, "news")
    assert opened["reader"] == Shown(True)  # the reader takes width only now
    article = opened["article"]
    assert 'id="article-view-1-1-123"' in article  # the page script finds it by the request's nonce
    assert "Back to answer 1" in article and "Pentagon spokesman John Kirby" in article
    assert '<mark id="hl-1-1-0">' in article and "highlight 1 of 1" in article
    gone = controller.open_article("2:1:5", turns, "news")["article"]
    assert "no longer in this conversation" in gone
    assert "no longer in this conversation" in controller.open_article("junk", turns, "news")["article"]
    assert controller.close_reader() == {"reader": Shown(False), "article": ARTICLE_PLACEHOLDER}


# --- feedback ---------------------------------------------------------------------------------------------------
def comment(turn: int, text: str) -> str:
    return json.dumps({"turn": turn, "text": text, "at": 1})


def test_a_rating_and_its_comment_are_stored_and_exported(controller: ChatController) -> None:
    turns = final(run_turn(controller, KYIV))["turns"]
    assert controller.comment(comment(1, "Nice."), turns, "news") == {
        "comment_status": "Rate answer 1 with 👍 or 👎 first."
    }
    rated = controller.rate(1, True, turns, "news")  # message 1 is the first answer
    assert set(rated) == {"export_tests"}  # the page script opens the answer's comment box
    assert controller.comment(comment(1, "  "), turns, "news") == {"comment_status": "Type a comment first."}
    saved = controller.comment(comment(1, "  Quotes the right sentence. "), turns, "news")
    assert saved["comment_status"] == "Comment saved for answer 1. Thank you."
    [record] = [json.loads(line) for line in Path(saved["export_tests"]).read_text(encoding="utf-8").splitlines()]
    assert record["question"] == KYIV and record["note"] == "Quotes the right sentence." and record["evidence"]
    [stored] = FeedbackStore.for_collection(controller.settings.data_dir, "news").all()
    assert (stored.rating, stored.comment) == ("up", "Quotes the right sentence.")
    assert "no longer" in controller.comment(comment(5, "x"), turns, "news")["comment_status"]
    assert "no longer" in controller.comment("not json", turns, "news")["comment_status"]


def test_a_rating_of_no_answer_is_ignored(controller: ChatController) -> None:
    turns = final(run_turn(controller, KYIV))["turns"]
    assert controller.rate(7, True, turns, "news") == {}
    assert controller.rate(1, None, turns, "news") == {}
    assert FeedbackStore.for_collection(controller.settings.data_dir, "news").all() == []


@pytest.mark.slow  # the real model answers, then `rag eval` re-asks
def test_an_exported_feedback_case_scores_full_marks_on_its_own_answer(tmp_path: Path, embedder: Embedder) -> None:
    settings = make_settings(tmp_path / "store", collection="news")
    controller = ChatController(settings, FakePipelines(settings, embedder, scripted=False))
    controller.pipelines.get("news").ingest([DEMO_ARTICLE], progress=False)
    question = "What did John Kirby say about Russian troops near Kyiv?"  # an answer of several quoted claims
    turns = final(run_turn(controller, question))["turns"]
    assert len(turns[0].answer.citations) >= 1 and not turns[0].answer.declined
    exported = Path(controller.rate(1, True, turns, "news")["export_tests"])
    [case] = load_testset(exported)
    assert case.answer and "[" not in case.answer and "  " not in case.answer
    out = tmp_path / "report"
    where = ["--data-dir", str(settings.data_dir), "--collection", "news"]
    assert cli.main(["eval", str(exported), "--out", str(out), "--quiet", *where]) == 0
    [result] = json.loads((out / "results.json").read_text(encoding="utf-8"))["cases"]
    assert result["scores"]["contains_answer"] == 1.0 and result["scores"]["exact_match"] == 1.0


# --- the API ------------------------------------------------------------------------------------------------------
def test_the_api_answers_or_says_what_is_wrong(controller: ChatController) -> None:
    *_, result = controller.api_ask(KYIV)
    assert result["done"] and result["searched"] == KYIV and result["citations"][0]["number"] == 1
    assert list(controller.api_ask("")) == [{"error": "Please type a question.", "done": True}]
    [unknown] = controller.api_ask(KYIV, "nwes")
    assert unknown["error"].startswith("There is no collection named 'nwes'")


def test_the_api_streams_and_takes_the_conversation_so_far(controller: ChatController) -> None:
    engine(controller).partials = ["Kyiv wants", "Kyiv wants guarantees"]
    history = [{"question": KYIV, "answer": "Security guarantees [1]."}]
    updates = list(controller.api_ask("And Russia?", "", 0, history))
    assert [u["answer"] for u in updates[:-1]] == ["", "Kyiv wants", "Kyiv wants guarantees"]
    assert not any(u["done"] for u in updates[:-1]) and updates[-1]["done"]
    assert updates[-1]["searched"] == f"And Russia? ({KYIV})"  # a follow-up of the history given
    assert engine(controller).histories[-1] == [Exchange(KYIV, KYIV, "Security guarantees [1].")]
    list(controller.api_ask("And Russia?", "", 0, [[KYIV, "Guarantees."]]))  # pairs work too
    assert engine(controller).histories[-1] == [Exchange(KYIV, KYIV, "Guarantees.")]
    [bad] = controller.api_ask("And Russia?", "", 0, ["just text"])
    assert bad["error"].startswith("history: give earlier turns as")


# --- serving past loopback: read-only without a login, limits --------------------------------------------------
@pytest.mark.parametrize(
    ("overrides", "writable"),
    [
        ({"host": "127.0.0.1"}, True),
        ({"host": "::1"}, True),
        ({"host": "0.0.0.0"}, False),
        ({"host": "127.0.0.1", "share": True}, False),
        ({"host": "0.0.0.0", "auth_user": "editor", "auth_password": "s3cret"}, True),
        ({"host": "0.0.0.0", "allow_anonymous_writes": True}, True),
    ],
)
def test_off_loopback_without_a_login_the_app_is_read_only(
    tmp_path: Path, fast_embedder: HashEmbedder, overrides: dict[str, Any], writable: bool
) -> None:
    settings = make_settings(tmp_path / "store", collection="news", **overrides)
    controller = ChatController(settings, FakePipelines(settings, fast_embedder))
    controller.pipelines.get("news").ingest([DEMO_ARTICLE], progress=False)
    assert controller.writable is writable
    assert ("Read-only" in controller.status("news")) is not writable
    view = controller.library_view("news", "")
    assert ("remove-article" in view["library_table"]) is writable
    if writable:
        return
    chips = upload(tmp_path, "chips.txt", CHIPS)
    [refused] = controller.add_articles("news", [chips], "")
    assert refused["add_result"].startswith("**Nothing added:** Read-only: this app is reachable on")
    article_id = library.articles(controller.existing("news").store)[0].id
    assert controller.ask_removal(f"{article_id}\n1", "news")["library_result"].startswith("Read-only")
    assert controller.remove_pending([article_id], "news", "")["library_result"].startswith("Read-only")
    assert controller.existing("news").store.article_count() == 1  # nothing written
    *_, answered = controller.api_ask(KYIV)  # asking works
    assert answered["citations"]


def test_questions_per_minute_are_limited_per_client(tmp_path: Path, fast_embedder: HashEmbedder) -> None:
    settings = make_settings(tmp_path / "store", collection="news", questions_per_minute=2)
    controller = ChatController(settings, FakePipelines(settings, fast_embedder))
    controller.pipelines.get("news").ingest([DEMO_ARTICLE], progress=False)
    for _ in range(2):
        assert final(run_turn(controller, KYIV, client="10.0.0.1"))["turns"]
    [refused] = run_turn(controller, KYIV, client="10.0.0.1")
    assert refused["question"] == KYIV and refused["chat"] == []  # no bubble, the text kept
    assert refused["notice"].startswith("⚠️ You have asked 2 questions in the last minute; the limit is 2 a minute.")
    assert "Ask again in" in refused["notice"]
    [api] = controller.api_ask(KYIV, client="10.0.0.1")  # the API counts too
    assert api["error"].startswith("You have asked 2 questions")
    assert final(run_turn(controller, KYIV, client="10.0.0.2"))["turns"]  # another client is served


def test_answers_at_once_are_bounded_and_a_full_queue_is_refused(tmp_path: Path, fast_embedder: HashEmbedder) -> None:
    settings = make_settings(tmp_path / "store", collection="news", concurrency=1, queue_size=1)
    controller = ChatController(settings, FakePipelines(settings, fast_embedder))
    controller.pipelines.get("news").ingest([DEMO_ARTICLE], progress=False)
    first = controller.turn(KYIV, [], [], "news", 5, "", "", [], client="a")
    assert "Searching the articles" in next(first)["chat"][-1]["content"]  # holds the one slot (paused here)
    second = controller.turn(KYIV, [], [], "news", 5, "", "", [], client="b")
    waiting = next(second)
    assert "Waiting for a free answer slot (1 in the queue)" in waiting["chat"][-1]["content"]
    [refused] = controller.turn(KYIV, [], [], "news", 5, "", "", [], client="c")
    assert refused["notice"].startswith("⚠️ The app is busy: 1 answers are being written and 1 questions are waiting.")
    assert refused["question"] == KYIV
    assert final(list(first))["turns"]  # the first finishes and frees its slot…
    assert final(list(second))["turns"]  # …so the second is answered
    assert final(run_turn(controller, KYIV, client="c"))["turns"]  # and there is room again


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ([("a.txt", "x")] * 3, "3 files at once; the limit is 2. Upload them in smaller groups."),
        ([("run.exe", "x")], "run.exe: .exe files cannot be read; upload .txt .md"),
        ([("big.txt", "x" * 2_000)], "big.txt is 0.0 MB; the limit is 0.0 MB per file."),
    ],
)
def test_uploads_are_bounded_in_number_size_and_type(
    tmp_path: Path, fast_embedder: HashEmbedder, files: list[tuple[str, str]], message: str
) -> None:
    settings = make_settings(tmp_path / "store", collection="news", max_upload_files=2, max_upload_bytes=1_000)
    controller = ChatController(settings, FakePipelines(settings, fast_embedder))
    paths = [upload(tmp_path, f"{i}-{name}" if name == "a.txt" else name, text) for i, (name, text) in enumerate(files)]
    [refused] = controller.add_articles("news", paths, "")
    assert refused["add_result"].startswith("**Nothing added:** ") and message in refused["add_result"]


# --- the Library --------------------------------------------------------------------------------------------------
def upload(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / "upload" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_the_library_lists_and_searches_its_articles(controller: ChatController) -> None:
    view = controller.library_view("news", "")
    assert (
        "Russia-Ukraine peace talks in Istanbul" in view["library_table"]
        and 'class="remove-article"' in view["library_table"]
    )
    assert view["library_summary"] == "1 of 1 articles in 'news', newest first."
    assert view["remove_source"] == Options(["News report (demo article)"], None)
    assert controller.library_view("news", "no such words")["library_summary"].startswith("0 of 1 articles")


def test_adding_reports_progress_and_each_item_in_words(controller: ChatController, tmp_path: Path) -> None:
    chips = upload(tmp_path, "chips.txt", CHIPS)
    again = upload(tmp_path, "kyiv.txt", DEMO_ARTICLE.read_text(encoding="utf-8"))
    story = generated_story(3)
    with news_site(NewsSite(stories={story.slug: story})) as site:
        page, gone = site.url("/news/story-3.html"), site.url("/gone")
        steps = list(controller.add_articles("news", [chips, again], f"{page}\n{gone}"))
    progress = [step["add_result"] for step in steps[:-2]]
    assert progress == [
        "Reading 1 of 4: chips.txt…",
        "Done 1 of 4 (1 added). Reading 2 of 4: kyiv.txt…",
        f"Done 2 of 4 (0 added). Fetching 3 of 4: {page}…",
        f"Done 3 of 4 (1 added). Fetching 4 of 4: {gone}…",
    ]
    report = steps[-2]["add_result"]
    assert report.startswith("**Added 2 articles, 1 failed**")
    assert "- chips.txt: “US tightens curbs on chip exports to China” — added" in report
    assert "- kyiv.txt — already in the library as “Russia-Ukraine peace talks in Istanbul”" in report
    assert f"- {page}: “{story.title}” — added" in report
    assert f"- {gone} — failed: HTTP 410" in report
    done = steps[-1]
    assert done["add_urls"] == "" and done["add_files"] is None and "3 of 3 articles" in done["library_summary"]
    assert done["add_result"] == report
    assert story.title in done["library_table"]


def test_a_record_stored_without_its_unreadable_date_is_reported(controller: ChatController, tmp_path: Path) -> None:
    record = {"title": "Harbour reopens", "body": "The harbour reopened on Monday after repairs.", "date": "Monday"}
    report = list(controller.add_articles("news", [upload(tmp_path, "one.jsonl", json.dumps(record))], ""))[-2]
    shown = "- one.jsonl:\n  - “Harbour reopens” — added\n  - #line 1 — stored, but: date &#x27;Monday&#x27; is not"
    assert shown in report["add_result"]  # Markdown shows &#x27; as '


def test_a_republication_is_reported_as_such(controller: ChatController, tmp_path: Path) -> None:
    original = upload(tmp_path, "chips.txt", CHIPS)
    list(controller.add_articles("news", [original], ""))
    same = CHIPS.replace("Title: US", "Title: The US")  # the same text under another headline
    report = list(controller.add_articles("news", [upload(tmp_path, "same.txt", same)], ""))[-2]["add_result"]
    assert "- same.txt — already in the library as “US tightens curbs on chip exports to China”" in report
    copy = CHIPS.replace("Source: Tech Wire", "Source: Other Wire").replace("on Tuesday", "on Wednesday")
    report = list(controller.add_articles("news", [upload(tmp_path, "copy.txt", copy)], ""))[-2]["add_result"]
    assert "re-publication of “US tightens curbs on chip exports to China”" in report


def test_adding_nothing_or_a_non_address_or_an_unreadable_type_says_what_to_do(
    controller: ChatController, tmp_path: Path
) -> None:
    [nothing] = controller.add_articles("news", [], "")
    assert nothing["add_result"] == "**Nothing added:** Choose files to upload or paste page or feed URLs first."
    [refused] = controller.add_articles("news", [], "ftp://example.org/x")
    assert refused["add_result"].startswith("**Nothing added:** 'ftp://example.org/x' is not a web address")
    assert "add_urls" not in refused  # the pasted text stays to be corrected


def test_removing_asks_first_then_removes_and_the_overview_follows(controller: ChatController, tmp_path: Path) -> None:
    list(controller.add_articles("news", [upload(tmp_path, "chips.txt", CHIPS)], ""))
    assert "2 articles from 2 sources" in controller.refresh_overview("news", [])["status"]
    chips_id = next(a for a in library.articles(controller.existing("news").store) if a.source == "Tech Wire").id
    asked = controller.ask_removal(f"{chips_id}\n123", "news")
    assert asked["pending"] == [chips_id] and asked["confirm_row"] == Shown(True)
    assert asked["confirm_text"] == (
        "Remove “US tightens curbs on chip exports to China” (2023-10-17 · Tech Wire) from 'news'? "
        "This cannot be undone."
    )
    assert controller.cancel_removal() == {"pending": [], "confirm_text": "", "confirm_row": Shown(False)}
    assert "2 of 2 articles" in controller.library_view("news", "")["library_summary"]  # cancelled: nothing gone
    done = controller.remove_pending(asked["pending"], "news", "")
    assert done["library_result"] == "Removed “US tightens curbs on chip exports to China” (2023-10-17 · Tech Wire)."
    assert done["confirm_row"] == Shown(False) and "1 of 1 articles" in done["library_summary"]
    overview = controller.refresh_overview("news", ["Tech Wire"])
    assert "1 article from 1 source" in overview["status"]
    assert overview["sources"] == Options(["News report (demo article)"], [])  # a removed source is unchosen
    assert "nothing to remove" in controller.remove_pending([chips_id], "news", "")["library_result"].lower() or (
        "no longer in the collection" in controller.remove_pending([chips_id], "news", "")["library_result"]
    )


def test_removing_by_source_names_how_many(controller: ChatController, tmp_path: Path) -> None:
    list(controller.add_articles("news", [upload(tmp_path, "chips.txt", CHIPS)], ""))
    asked = controller.ask_source_removal("Tech Wire", "news")
    assert asked["confirm_text"] == "Remove its one article from 'news'? This cannot be undone."
    assert controller.ask_source_removal(None, "news") == {"library_result": "Choose a source to remove first."}
    assert "No articles from source 'Nope'" in controller.ask_source_removal("Nope", "news")["library_result"]
    assert controller.remove_pending(asked["pending"], "news", "")["library_result"].startswith("Removed “US tightens")


def test_the_first_screen_follows_an_ingest_made_elsewhere(controller: ChatController, tmp_path: Path) -> None:
    before = controller.first_screen("news")
    assert "1 article from 1 source" in before["status"]
    assert before["chat"] == Examples(
        ["What do the articles say about “Russia-Ukraine peace talks in Istanbul”?"], clear=False
    )  # a question asked meanwhile stays
    elsewhere = Pipeline.open(controller.existing("news").settings, controller.existing("news").embedder)
    elsewhere.ingest([Path(upload(tmp_path, "chips.txt", CHIPS))], progress=False)  # not through the app
    after = controller.first_screen("news")
    assert "2 articles from 2 sources, 2022-03-30 to 2023-10-17" in after["status"]
    assert after["sources"] == Options(["News report (demo article)", "Tech Wire"], [])
    assert after["chat"] == Examples(
        [
            "What do the articles say about “US tightens curbs on chip exports to China”?",
            "What did News report (demo article) report about “Russia-Ukraine peace talks in Istanbul”?",
        ],
        clear=False,
    )
