"""The offline answerer with the shipped ranker weights and the real MiniLM embedder, on made-up
passages shaped like news articles: the lead answers, supporting quotes follow as a list, a
question the passages do not answer is declined with what they are about, and case or language
never decide."""

from __future__ import annotations

import pytest

from rag.answer.extractive import ExtractiveAnswerer
from rag.answer.finish import finish_answer
from rag.answer.ranker import RankerModel
from rag.answer.refusal import DECLINE
from rag.models.embedding import MiniLMEmbedder
from rag.search.retrieval import Passage

OUSTED = (
    "Sam Altman has been fired from OpenAI, the company behind ChatGPT. "
    "He will leave the company’s board of directors and step down as chief executive.\n\n"
    "In a post on its blog, the company writes that Altman’s departure follows a review by the board "
    "that concluded that Altman “wasn’t consistently candid in his communications” with other board members.\n\n"
    "Mira Murati, the chief technology officer, will serve as interim chief executive, effective immediately.\n\n"
    "Do you work at OpenAI and know more about Sam Altman’s departure? Get in touch with us\n\n"
    "Photo: Sam Altman speaks at a developer conference in San Francisco (Getty Images)"
)
REACTION = (
    "Investors said the decision by the board of OpenAI to fire Sam Altman took them by surprise on Friday. "
    "Microsoft, which has invested billions of dollars in OpenAI, said it remained committed to the partnership."
)
ASKED = "Who is running OpenAI now that Sam Altman is gone?"


def passage(text: str, n: int, title: str, source: str, date: str, start: int = 0) -> Passage:
    return Passage(f"c{n}", text, f"a{n}", title, date, source, "", start, start + len(text), 1.0, 0.5)


PASSAGES = [
    passage(REACTION, 1, "Investors stunned by the decision at OpenAI", "The Verge", "2023-11-18", start=900),
    passage(OUSTED, 2, "Sam Altman ousted as chief executive of OpenAI", "TechCrunch", "2023-11-17"),
]


@pytest.fixture(scope="module")
def answerer(embedder: MiniLMEmbedder) -> ExtractiveAnswerer:
    return ExtractiveAnswerer(embedder)


def lead(text: str) -> str:
    return text.splitlines()[0]


def test_the_lead_holds_what_is_asked_for(answerer: ExtractiveAnswerer) -> None:
    assert "Murati" in lead(answerer.compose("Who will serve as OpenAI's interim chief executive?", PASSAGES))
    anyway = ExtractiveAnswerer(answerer.embedder, threshold=0.0)  # the ranking, whatever the decline says
    assert "Microsoft" in lead(anyway.compose("Which company has put billions into OpenAI?", PASSAGES))


def test_supporting_quotes_follow_the_lead_as_a_list_and_are_verbatim(answerer: ExtractiveAnswerer) -> None:
    anyway = ExtractiveAnswerer(answerer.embedder, threshold=0.0)  # the form of an answer, not the decline
    text = anyway.compose("What happened to Sam Altman at OpenAI?", PASSAGES)
    first, *rest = text.split("\n\n")
    assert first.endswith("]") and "\n" not in first
    quotes = rest[0].splitlines() if rest else []
    assert all(line.startswith("- ") and line.endswith("]") for line in quotes) and len(quotes) <= 2
    final = finish_answer(text, PASSAGES, ExtractiveAnswerer.name)
    assert final.claims and all(claim.supported for claim in final.claims)
    for citation in final.citations:
        assert citation.quote in citation.passage.text or citation.quote == citation.passage.title
    assert "Get in touch" not in text and "Getty" not in text


def test_case_does_not_decide_the_answer(answerer: ExtractiveAnswerer) -> None:
    plain = answerer.compose(ASKED, PASSAGES)
    assert answerer.compose(ASKED.upper(), PASSAGES) == plain
    assert answerer.compose(ASKED.title(), PASSAGES) == plain


def test_a_question_in_another_language_is_answered_from_the_passages_or_declined(answerer: ExtractiveAnswerer) -> None:
    text = answerer.compose("¿Quién dirige OpenAI ahora que Sam Altman se ha ido?", PASSAGES)
    assert text.startswith(DECLINE) or "[" in lead(text)


def test_below_the_threshold_it_declines_with_what_the_articles_are_about(embedder: MiniLMEmbedder) -> None:
    strict = ExtractiveAnswerer(embedder, threshold=1.01)
    text = strict.compose(ASKED, PASSAGES)
    assert text == f"{DECLINE} The closest articles are “{PASSAGES[0].title}” and “{PASSAGES[1].title}”."
    assert ExtractiveAnswerer(embedder, threshold=0.0).compose(ASKED, PASSAGES) != text
    final = finish_answer(text, PASSAGES, ExtractiveAnswerer.name)
    assert final.declined and not final.citations


def test_the_probability_that_the_lead_answers_is_calibrated_between_0_and_1(answerer: ExtractiveAnswerer) -> None:
    on_topic = answerer.assess(ASKED, PASSAGES)
    off_topic = answerer.assess("What is the boiling point of mercury?", PASSAGES)
    assert 0.0 < off_topic.probability < on_topic.probability < 1.0
    assert list(on_topic.logits) == sorted(on_topic.logits, reverse=True)


def test_order_of_reports_is_answered_from_the_dates(answerer: ExtractiveAnswerer, embedder: MiniLMEmbedder) -> None:
    question = (
        "Did TechCrunch report that Sam Altman was fired before The Verge reported that investors were surprised?"
    )
    text = answerer.compose(question, PASSAGES)
    assert text == "Yes: TechCrunch published on 2023-11-17 [2], The Verge on 2023-11-18 [1]."
    final = finish_answer(text, PASSAGES, ExtractiveAnswerer.name, embedder)
    assert final.text == "Yes: TechCrunch published on 2023-11-17 [1], The Verge on 2023-11-18 [2]."


def test_the_shipped_weights_name_every_feature_the_code_computes() -> None:
    from rag.answer.features import QUESTION_FEATURES, RANK_FEATURES, RERANK_FEATURES

    model = RankerModel.load()
    assert set(model.rank.features) == set(RANK_FEATURES) and model.rerank.features == RERANK_FEATURES
    assert set(model.decline.features) == set(QUESTION_FEATURES) == set(model.relevance.features)
    assert 0.0 < model.answer_threshold < 1.0 and 0.0 < model.gate_threshold < 1.0
