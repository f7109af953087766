"""The offline answerer leads with the answer: made-up passages shaped like the MultiHop
articles of issue 8, answered with the real MiniLM embedder."""

from __future__ import annotations

from rag.answer.decline import DECLINE
from rag.answer.extractive import ExtractiveAnswerer
from rag.answer.finish import finish_answer
from rag.models.embedding import MiniLMEmbedder
from rag.search.retrieval import Passage

OUSTED = (
    "Sam Altman has been fired from OpenAI, Inc., the nonprofit that acts as the governing body for OpenAI. "
    "He’ll both leave the company’s board of directors and step down as CEO.\n\n"
    "In a post on OpenAI’s official blog, the company writes that Altman’s departure follows a review by the board "
    "that concluded that Altman “wasn’t consistently candid in his communications” with other board members.\n\n"
    "Do you work at OpenAI and know more about Sam Altman’s departure? Get in touch with TechCrunch\n\n"
    "🫡 — Sam Altman (@sama) November 17, 2023\n\n"
    "Photo: Sam Altman speaks at OpenAI DevDay in San Francisco (Getty Images)"
)
REACTION = (
    "Investors said the decision by the board of OpenAI to fire Sam Altman took them by surprise on Friday. "
    "Microsoft, which has invested billions in OpenAI, said it remained committed to the partnership."
)


def passage(text: str, n: int, title: str, source: str, date: str, start: int = 0) -> Passage:
    return Passage(f"c{n}", text, f"a{n}", title, date, source, "", start, start + len(text), 1.0, 0.5)


PASSAGES = [
    passage(REACTION, 1, "Investors stunned", "The Verge", "2023-11-18", start=900),
    passage(OUSTED, 2, "Sam Altman ousted as OpenAI’s CEO", "TechCrunch", "2023-11-17"),
]


def answer(embedder: MiniLMEmbedder, question: str, passages: list[Passage] = PASSAGES) -> str:
    return ExtractiveAnswerer(embedder).compose(question, passages)


def test_what_happened_leads_with_the_event_not_the_embed(embedder: MiniLMEmbedder) -> None:
    text = answer(embedder, "What happened to Sam Altman in November 2023?")
    assert text.startswith("Sam Altman ousted as OpenAI’s CEO [2]")  # the headline of the article that reports it
    assert "Sam Altman has been fired from OpenAI" in text
    assert "@sama" not in text and "Get in touch" not in text and "Getty" not in text and "?" not in text


def test_why_leads_with_the_cause(embedder: MiniLMEmbedder) -> None:
    text = answer(embedder, "Why did OpenAI's board fire Sam Altman?")
    lead = text.split(" [")[0]
    assert "consistently candid" in lead


def test_who_names_someone_the_question_does_not(embedder: MiniLMEmbedder) -> None:
    text = answer(embedder, "Which company has invested billions in OpenAI?")
    assert text.split(" [")[0].startswith("Microsoft")


def test_supporting_sentences_are_other_quotes_with_markers(embedder: MiniLMEmbedder) -> None:
    text = answer(embedder, "What happened to Sam Altman in November 2023?")
    final = finish_answer(text, PASSAGES, ExtractiveAnswerer.name)
    assert 1 <= len(final.claims) <= 3 and all(claim.supported and claim.score == 1.0 for claim in final.claims)
    assert final.citations[0].passage.source == "TechCrunch" and final.text.count("[1]") >= 1


def test_order_of_reports_is_answered_from_the_dates(embedder: MiniLMEmbedder) -> None:
    question = (
        "Did TechCrunch report that Sam Altman was fired before The Verge reported that investors were surprised?"
    )
    text = answer(embedder, question)
    assert text == "Yes: TechCrunch published on 2023-11-17 [2], The Verge on 2023-11-18 [1]."
    final = finish_answer(text, PASSAGES, ExtractiveAnswerer.name, embedder)
    assert final.text == "Yes: TechCrunch published on 2023-11-17 [1], The Verge on 2023-11-18 [2]."
    (claim,) = final.claims
    assert claim.supported


def test_unanchored_questions_are_declined(embedder: MiniLMEmbedder) -> None:
    assert answer(embedder, "What happened to Sam Altman in 2019?").startswith(DECLINE)
    assert answer(embedder, "Why did Google fire Sundar Pichai?").startswith(DECLINE)
