"""Chat turns: question checks, follow-up rewriting, history-aware retrieval."""

from __future__ import annotations

import pytest

from rag.chat import Exchange, check_question, heuristic_standalone
from rag.errors import QuestionRejected
from rag.pipeline import Pipeline
from tests.answer.test_answering import llm_engine
from tests.openai_server import FakeOpenAI

FIRST = Exchange("What guarantees does Kyiv want?", "What guarantees does Kyiv want?", "Security guarantees [1].")


@pytest.mark.parametrize(
    ("question", "message"),
    [
        ("", "Please type a question."),
        ("   ", "Please type a question."),
        ("?!...", "no words"),
        ("x" * 100_000, "100,000 characters"),
    ],
)
def test_unusable_questions_are_rejected_clearly(question: str, message: str) -> None:
    with pytest.raises(QuestionRejected, match=message):
        check_question(question)


def _after(previous: str) -> list[Exchange]:
    return [Exchange(previous, previous, "An answer [1].")]


@pytest.mark.parametrize(
    ("previous", "follow_up", "searched"),
    [
        # a follow-up without a topic of its own (a pronoun, a connective, a bare question word) carries the
        # previous question's key phrases
        (FIRST.question, "And what does it demand?", "What does it demand? (guarantees, Kyiv)"),
        (
            "What happened in Google's antitrust trial?",
            "And what did the judge say?",
            "What did the judge say? (Google's antitrust trial)",
        ),
        (
            "What happened in Google's antitrust trial?",
            "When did it start?",
            "When did it start? (Google's antitrust trial)",
        ),
        (
            "What did John Kirby say about Russian troops?",
            "What did he say next?",
            "What did he say next? (John Kirby, Russian troops)",
        ),
        (FIRST.question, "Why?", "Why? (guarantees, Kyiv)"),
        # a personal pronoun points back even when the follow-up names something of its own
        (
            "Who won the mayoral race in Denver?",
            "What did Governor Polis say about her?",
            "What did Governor Polis say about her? (won, mayoral race, Denver)",
        ),
        # a question naming its own topic is a new topic: nothing carried
        (FIRST.question, "What about Nvidia chips?", "What about Nvidia chips?"),
        (FIRST.question, "Who is Kirby?", "Who is Kirby?"),
        (FIRST.question, "What's new on the iPhone 15?", "What's new on the iPhone 15?"),
        (FIRST.question, "And what does Russia demand?", "And what does Russia demand?"),
        # a possessive points inside its own question as often: not a follow-up's mark
        (
            "Who runs Microsoft?",
            "How much did Spotify earn in its last quarter?",
            "How much did Spotify earn in its last quarter?",
        ),
        (
            "Who runs Microsoft?",
            "What did the Barbie movie earn in its first week?",
            "What did the Barbie movie earn in its first week?",
        ),
        (
            "Who runs Microsoft?",
            "What Did The Barbie Movie Earn In Its First Week?",
            "What Did The Barbie Movie Earn In Its First Week?",
        ),
        # a demonstrative or "the same" points back even beside a name of the question's own
        (
            "Who won the final between Leeds and Hull?",
            "How many did Ortega score in that one?",
            "How many did Ortega score in that one? (won, final, Leeds, Hull)",
        ),
        (
            "Who is Leeds playing at the Riverside festival?",
            "Who is Hull facing on the same day?",
            "Who is Hull facing on the same day? (Leeds playing, Riverside festival)",
        ),
        # …but not "that" opening a clause of its own, nor "this" meaning now
        (
            "Who runs Microsoft?",
            "Which law that Congress passed hit Spotify?",
            "Which law that Congress passed hit Spotify?",
        ),
        ("Who runs Microsoft?", "What did Spotify earn this year?", "What did Spotify earn this year?"),
        # context already in the follow-up is not repeated
        (
            "What did John Kirby say about Russian troops?",
            "And what did Kirby's office add?",
            "And what did Kirby's office add?",
        ),
        (
            "What did John Kirby say about Russian troops in Kyiv?",
            "Where are the troops now?",
            "Where are the troops now? (John Kirby, Russian troops, Kyiv)",
        ),
    ],
)
def test_heuristic_carries_context_only_when_the_follow_up_needs_it(
    previous: str, follow_up: str, searched: str
) -> None:
    assert heuristic_standalone(follow_up, _after(previous)) == searched


def test_a_pronoun_follow_up_also_carries_the_names_the_previous_answer_gave() -> None:
    question = "Who founded the startup Zibo?"
    answered = Exchange(question, question, "Anna Kowalski founded Zibo in Warsaw in 2019. [1]\n\n- A quote. [2]")
    searched = "When did she leave it? (founded, startup Zibo, Anna Kowalski, Warsaw)"
    assert heuristic_standalone("When did she leave it?", [answered]) == searched
    declined = Exchange(question, question, "The articles do not say. The closest articles are “Zibo in Warsaw”.")
    assert (
        heuristic_standalone("When did she leave it?", [declined]) == "When did she leave it? (founded, startup Zibo)"
    )


def test_a_possessive_points_back_when_the_follow_up_names_nothing_of_its_own() -> None:
    question = "Which startup did Anna Kowalski found?"
    answered = Exchange(question, question, "Anna Kowalski founded Zibo in Warsaw in 2019. [1]")
    searched = "How much is its app worth? (startup, Anna Kowalski found, Zibo, Warsaw)"
    assert heuristic_standalone("How much is its app worth?", [answered]) == searched


def test_heuristic_leaves_a_first_question_alone() -> None:
    assert heuristic_standalone("And what does Russia demand?", []) == "And what does Russia demand?"


def test_follow_up_in_extractive_chat(demo_pipeline: Pipeline) -> None:
    engine = demo_pipeline.engine
    first = engine.answer(FIRST.question)
    assert first.answer is not None
    history = [Exchange(FIRST.question, first.searched, first.answer.text)]
    second = engine.answer("Who said that?", history)
    assert second.searched == "Who said that? (guarantees, Kyiv)"
    assert second.answer is not None and not second.answer.declined and second.answer.citations
    third = engine.answer("And when?", [*history, Exchange("Who said that?", second.searched, second.answer.text)])
    assert third.searched == "When?"  # the topic is never carried across two turns


def test_the_previous_topic_is_never_carried_across_two_turns() -> None:
    history = [
        Exchange("What did John Kirby say?", "What did John Kirby say?", "…"),
        Exchange("Why did he say it?", "Why did he say it? (John Kirby)", "…"),
    ]
    assert heuristic_standalone("And when?", history) == "When?"


@pytest.mark.parametrize("top_k", [0, -1, 51])
def test_a_top_k_outside_1_to_50_is_rejected_clearly(demo_pipeline: Pipeline, top_k: int) -> None:
    with pytest.raises(QuestionRejected, match=f"top-k is {top_k}: ask for 1 to 50 passages per answer"):
        next(demo_pipeline.engine.ask("What guarantees does Kyiv want?", top_k=top_k))


def test_non_english_and_long_questions_get_answers_not_crashes(demo_pipeline: Pipeline) -> None:
    for question in ("Какие гарантии хочет Киев?", "guarantees " * 150):
        final = demo_pipeline.engine.answer(question)
        assert final.answer is not None and final.answer.text


def test_llm_condenses_follow_up(demo_pipeline: Pipeline, fake_openai: FakeOpenAI) -> None:
    def reply(messages: list[dict]) -> str:
        if "standalone" in messages[0]["content"]:
            return "Why does Kyiv want security guarantees?"
        return "Kyiv wants guarantees against a new attack [1]."

    fake_openai.reply = reply
    final = llm_engine(demo_pipeline, fake_openai).answer("And why do they want them?", [FIRST])
    assert final.searched == "Why does Kyiv want security guarantees?"
    condense_request = fake_openai.requests[0]
    assert "What guarantees does Kyiv want?" in condense_request["messages"][1]["content"]
    assert final.answer is not None and final.answer.text == "Kyiv wants guarantees against a new attack [1]."
