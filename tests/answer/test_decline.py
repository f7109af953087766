"""Question kinds, anchors, and the decline rule with its traps (pure functions over made-up passages)."""

from __future__ import annotations

import pytest

from rag.answer.decline import DECLINE, check_anchors
from rag.answer.questions import Kind, fits, question_anchors, question_kind
from rag.search.retrieval import Passage


def passage(text: str, title: str = "", date: str = "2023-10-20", source: str = "Sporting News", n: int = 0) -> Passage:
    return Passage(f"c{n}", text, f"a{n}", title, date, source, "", 0, len(text), 1.0, 0.5)


RUGBY = passage(
    "South Africa won the Rugby World Cup in Paris on Saturday, beating New Zealand 12-11. "
    "“We always planned for this World Cup, since 2018,” Nienaber said.",
    title="Springboks win the Rugby World Cup",
)
SKI = passage(
    "Ólafsfjörður, a small fishing village in north Iceland, offers heli-skiing on untouched slopes.",
    title="7 of the best luxury ski resorts",
    source="The Independent",
    n=1,
)
INDIA = passage(
    "India overtook China this year as the country with the largest population, about 1.43 billion people.",
    title="India's population",
    source="BBC",
    n=2,
)
ALTMAN = passage(
    "Sam Altman has been fired from OpenAI. The board said he was not consistently candid in his communications.",
    title="Sam Altman ousted as OpenAI's CEO",
    date="2023-11-17",
    source="TechCrunch",
    n=3,
)


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("Who won the 2018 World Cup?", Kind.ENTITY),
        ("Which company is accused by news publishers of siphoning off ad revenue?", Kind.ENTITY),
        ("When was Sam Altman fired?", Kind.DATE),
        ("How many people live in India?", Kind.NUMBER),
        ("Why did OpenAI's board fire Sam Altman?", Kind.CAUSE),
        ("What happened to Sam Altman in November 2023?", Kind.EVENT),
        ("Where is Ólafsfjörður?", Kind.PLACE),
        ("Did OpenAI fire Sam Altman?", Kind.YES_NO),
        ("Did The Verge report on the trial before TechCrunch reported the verdict?", Kind.ORDER),
        ("What guarantees does Kyiv want?", Kind.OTHER),
    ],
)
def test_question_kind(question: str, kind: Kind) -> None:
    assert question_kind(question) is kind


def test_anchors_of_a_question() -> None:
    anchors = question_anchors("Who won the 2018 World Cup with 7 goals?")
    assert anchors.years == ("2018",) and anchors.numbers == ("7",)
    assert anchors.names == ("World Cup",) and set(anchors.event) == {"win", "goal"}


def test_answer_kinds() -> None:
    question = "Why did OpenAI's board fire Sam Altman?"
    assert fits(Kind.CAUSE, ALTMAN.text.split(". ")[1], question)
    assert not fits(Kind.CAUSE, "Sam Altman has been fired from OpenAI.", question)
    assert fits(Kind.ENTITY, "The board named Mira Murati interim chief executive.", "Who replaced Sam Altman?")
    assert not fits(Kind.ENTITY, "Sam Altman was replaced on Friday.", "Who replaced Sam Altman?")
    assert fits(Kind.DATE, "He was fired on November 17.", "When was he fired?")
    assert fits(Kind.NUMBER, "About 1.43 billion people live there.", "How many people live in India?")


def test_a_year_the_articles_only_mention_in_passing_is_declined() -> None:
    check = check_anchors("Who won the 2018 World Cup?", [RUGBY])
    assert not check.matched and "2018" in check.missing
    assert check.decline() == f"{DECLINE} They cover the Rugby World Cup."


def test_a_year_matched_by_the_article_date() -> None:
    assert check_anchors("Who won the World Cup in 2023?", [RUGBY]).matched


def test_a_word_used_in_another_article_does_not_match() -> None:
    """Iceland in a ski article and a population in an article on India: not the population of Iceland."""
    check = check_anchors("What is the population of Iceland?", [SKI, INDIA])
    assert not check.matched and check.decline().startswith(DECLINE)
    assert check_anchors("What is the population of India?", [SKI, INDIA]).matched


def test_a_name_the_articles_lack_is_declined() -> None:
    check = check_anchors("What did Elon Musk say about the World Cup?", [RUGBY])
    assert not check.matched and "Elon Musk" in check.missing


def test_a_number_the_articles_lack_is_declined() -> None:
    assert not check_anchors("Which team won the Rugby World Cup by 7 points?", [RUGBY]).matched
    assert check_anchors("Which team won the Rugby World Cup 12-11?", [RUGBY]).matched


def test_matched_questions() -> None:
    assert check_anchors("What happened to Sam Altman in November 2023?", [ALTMAN]).matched
    assert check_anchors("Why did OpenAI's board fire Sam Altman?", [ALTMAN]).matched
    assert check_anchors("What did TechCrunch report about Sam Altman?", [ALTMAN]).matched


def test_no_passages_declines() -> None:
    check = check_anchors("Who won?", [])
    assert not check.matched and check.decline() == DECLINE


def test_a_role_of_an_organisation_names_the_organisation() -> None:
    assert question_anchors("Who is the CEO of Nvidia?").names == ("Nvidia",)
    assert question_anchors("What did Bank of America say?").names == ("Bank of America",)
    nvidia = passage("Nvidia CEO Jensen Huang spoke on Tuesday.", "Nvidia results", "2023-11-21", "Wire")
    assert check_anchors("Who is the CEO of Nvidia?", [nvidia]).matched
