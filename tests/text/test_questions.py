"""What kind of answer a question wants, read from its question words, whatever its case."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rag.text.questions import Kind, is_title_case, question_kind, refers_back

NATURAL = Path(__file__).resolve().parents[2] / "demo" / "natural-questions.jsonl"


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("Who took over as interim chief executive?", Kind.ENTITY),
        ("Whose record did the contract beat?", Kind.ENTITY),
        ("Which app was downloaded most on iPhones?", Kind.ENTITY),
        ("What company bought the studio?", Kind.ENTITY),
        ("When was the scooter company founded", Kind.DATE),
        ("In which year did the league start?", Kind.DATE),
        ("Where did the talks take place?", Kind.PLACE),
        ("In what town was the prison camp?", Kind.PLACE),
        ("How much did the film gross in its first weekend?", Kind.NUMBER),
        ("What share of the vote did she win?", Kind.NUMBER),
        ("Why did the board fire its chief executive?", Kind.CAUSE),
        ("Is the company appealing the verdict?", Kind.YES_NO),
        ("Didn't the council approve the bridge?", Kind.YES_NO),
        ("Did the Guardian report the fine before the Verge reported the appeal?", Kind.ORDER),
        ("What happened at the summit?", Kind.EVENT),
        ("Who joined the board when the founder left it?", Kind.ENTITY),
        ("Where were the refugees living when the reporters met them?", Kind.PLACE),
        ("What happened when the dam burst?", Kind.EVENT),
        ("Which minister resigned when the vote was lost, and why?", Kind.ENTITY),
        ("When did the minister who resigned return?", Kind.DATE),
        ("What did the regulator accuse the retailer of?", Kind.OTHER),
        ("Welche Garantien will Kiew?", Kind.OTHER),
    ],
)
def test_question_kind(question: str, kind: Kind) -> None:
    assert question_kind(question) is kind


def _title(question: str) -> str:
    return " ".join(word[:1].upper() + word[1:] for word in question.split())


def test_case_never_decides_the_kind_of_a_real_question() -> None:
    questions = [json.loads(line)["question"] for line in NATURAL.read_text(encoding="utf-8").splitlines()]
    assert len(questions) >= 240
    for question in questions:
        kind = question_kind(question)
        assert question_kind(question.upper()) is kind, question
        assert question_kind(_title(question)) is kind, question
        assert question_kind(question.lower()) is kind, question


@given(st.text(alphabet=st.characters(categories=["L", "N", "P", "Zs"]), max_size=80))
def test_any_text_has_a_kind_whatever_its_case(text: str) -> None:
    assert question_kind(text.upper()) is question_kind(text.lower())


def test_title_case_and_capitals_are_recognised() -> None:
    assert is_title_case("What Did Apple Announce At Its Event?")
    assert is_title_case("WHAT DID APPLE ANNOUNCE AT ITS EVENT?")
    assert not is_title_case("What did Apple announce at its event?")
    assert not is_title_case("Why?")


@pytest.mark.parametrize(
    ("question", "points"),
    [
        ("How does that compare with last year?", True),
        ("That was in May?", True),
        ("Where is that company based?", True),
        ("Who scored in that one?", True),
        ("WHAT HAPPENED AFTER THAT?", True),
        ("Who else was on the same card?", True),
        ("Which law that Congress passed hit the banks?", False),  # a relative clause of its own
        ("Did the minister say that talks would resume?", False),
        ("What did Apple announce this week?", False),  # "this" means now
        ("Who won the same-sex marriage vote?", False),
    ],
)
def test_refers_back(question: str, points: bool) -> None:
    assert refers_back(question) is points
