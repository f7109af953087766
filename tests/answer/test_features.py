"""The answer candidates and their features, on made-up passages (pure, no model)."""

from __future__ import annotations

import numpy as np
import pytest

from rag.answer.features import (
    CANDIDATE_FEATURES,
    NO_CROSS,
    QUESTION_FEATURES,
    RANK_FEATURES,
    Question,
    candidate_features,
    candidates,
    question_features,
    rank_rows,
    reread,
)
from rag.search.retrieval import Passage
from rag.text.questions import Kind
from rag.text.terms import stem

LEAD = (
    "The board of OpenAI fired Sam Altman on Friday. "
    "Mira Murati, the chief technology officer, stepped in as interim CEO. "
    "Follow us on Twitter"
)
LATER = "Investors said the decision took them by surprise. Microsoft said it remained committed to OpenAI."


def passage(text: str, n: int, title: str, date: str = "2023-11-17", start: int = 0) -> Passage:
    return Passage(f"c{n}", text, f"a{n}", title, date, "TechCrunch", "", start, start + len(text), 1.0, 0.4)


PASSAGES = [
    passage(LEAD, 1, "OpenAI board fires Sam Altman as chief executive"),
    passage(LATER, 2, "Investors stunned by the OpenAI decision", start=900),
]
CHUNKS = {"openai": 40, "board": 300, "replaced": 100, "altman": 30, "chief": 800, "executive": 700}


def frequencies(word: str) -> tuple[int, int]:
    return CHUNKS.get(word, 0), 1000


def column(rows: np.ndarray, name: str) -> np.ndarray:
    return rows[:, CANDIDATE_FEATURES.index(name)]


def test_candidates_are_prose_sentences_and_each_headline_once() -> None:
    found = candidates([*PASSAGES, passage(LATER, 3, PASSAGES[1].title, start=900)])
    texts = [c.text for c in found]
    assert "Follow us on Twitter" not in texts  # too short, and not prose
    assert texts.count(PASSAGES[1].title) == 1 and texts.count(LATER.split(". ")[1]) == 1  # each text once
    lead = next(c for c in found if c.text.startswith("The board"))
    assert lead.article_lead and lead.number == 1 and LEAD[lead.start : lead.end] == lead.text
    assert not any(c.article_lead for c in found if c.number == 2)  # that passage starts mid-article


def test_question_terms_are_weighted_by_rarity_and_unknown_words_noted() -> None:
    question = Question.read("Who replaced Altman at OpenAI's board?", frequencies)
    assert question.kind is Kind.ENTITY
    assert question.terms[stem("altman")] > question.terms[stem("board")]
    assert Question.read("Who replaced Altman at Zorblax?", frequencies).unknown == {stem("zorblax")}


def test_case_does_not_change_what_is_asked() -> None:
    plain = Question.read("Who replaced Altman at OpenAI?", frequencies)
    for variant in ("WHO REPLACED ALTMAN AT OPENAI?", "Who Replaced Altman At OpenAI?"):
        assert Question.read(variant, frequencies) == Question.read(variant, frequencies)
        read = Question.read(variant, frequencies)
        assert (read.kind, read.terms, read.unknown) == (plain.kind, plain.terms, plain.unknown)


def test_candidate_features_describe_fit_coverage_and_place() -> None:
    question = Question.read("Who replaced Altman at OpenAI?", frequencies)
    found = candidates(PASSAGES)
    rows = candidate_features(question, PASSAGES, found)
    by_text = {c.text: rows[i] for i, c in enumerate(found)}
    murati = by_text["Mira Murati, the chief technology officer, stepped in as interim CEO."]
    fired = by_text["The board of OpenAI fired Sam Altman on Friday."]
    assert murati[CANDIDATE_FEATURES.index("fit_entity")] == 1.0  # names someone the question does not
    assert fired[CANDIDATE_FEATURES.index("coverage")] > murati[CANDIDATE_FEATURES.index("coverage")]
    assert fired[CANDIDATE_FEATURES.index("article_lead")] == 1.0
    assert murati[CANDIDATE_FEATURES.index("context_coverage")] > murati[CANDIDATE_FEATURES.index("coverage")]
    assert set(column(rows, "inverse_rank")) == {1.0, 0.5}


def test_the_ranker_reads_each_feature_also_for_the_questions_kind_and_length() -> None:
    short = Question.read("Who replaced Altman at OpenAI?", frequencies)
    long = Question.read(
        "Who, according to the reports of both TechCrunch and The Verge published in November, replaced "
        "the chief executive Sam Altman at OpenAI after its board fired him?",
        frequencies,
    )
    rows = candidate_features(short, PASSAGES, candidates(PASSAGES))
    for question, is_long in ((short, False), (long, True)):
        wide = rank_rows(question, rows)
        assert wide.shape == (len(rows), len(RANK_FEATURES))
        coverage = column(rows, "coverage")
        assert coverage.any()
        widened = dict(zip(RANK_FEATURES, wide.T, strict=True))
        assert (widened["coverage"] == coverage).all()
        assert (widened["coverage|entity"] == coverage).all()  # a who-question
        assert not widened["coverage|date"].any()
        assert (widened["coverage|long"] == (coverage if is_long else 0.0)).all()


@pytest.mark.parametrize(("asked", "found", "missing"), [("2023", 1.0, 0.0), ("2019", 0.0, 1.0)])
def test_a_year_is_found_in_the_sentence_or_the_article_date(asked: str, found: float, missing: float) -> None:
    question = Question.read(f"Who fired Altman in {asked}?", frequencies)
    rows = candidate_features(question, PASSAGES, candidates(PASSAGES))
    assert set(column(rows, "year_found")) == {found} and set(column(rows, "year_missing")) == {missing}


def test_question_features_see_what_no_passage_holds() -> None:
    question = Question.read("Who replaced Altman at Zorblax in 2019?", frequencies)
    found = candidates(PASSAGES)
    rows = candidate_features(question, PASSAGES, found)
    summary = dict(
        zip(
            QUESTION_FEATURES,
            question_features(question, PASSAGES, rows, np.arange(len(found)), -np.arange(len(found)))[0],
            strict=True,
        )
    )
    assert summary["unknown_weight"] > 0 and summary["missing_weight"] >= summary["unknown_weight"]
    assert summary["year_missing"] == 1.0 and summary["rarest_found"] == 0.0
    assert summary["margin"] == 1.0 and summary["typed"] == 1.0
    assert summary["top_cross"] == -(len(found) - 1)  # the lead's (the highest logit's) cross-encoder score
    empty = question_features(question, [], np.zeros((0, len(CANDIDATE_FEATURES))), np.zeros(0), np.zeros(0))[0]
    assert empty[QUESTION_FEATURES.index("top_score")] == -10.0
    assert empty[QUESTION_FEATURES.index("top_cross")] == NO_CROSS


def test_the_cross_encoder_rereads_only_the_linear_rankers_best() -> None:
    read: list[int] = []

    def score(best: np.ndarray) -> np.ndarray:
        read.extend(best.tolist())
        return best * 10.0

    cross = reread(np.array([0.5, 3.0, -1.0, 2.0]), score, 2)
    assert read == [1, 3]  # the two best by the linear logits, best first
    assert cross.tolist() == [10.0, 10.0, 10.0, 30.0]  # the unread ones get the lowest read score
    assert reread(np.zeros(0), score, 2).tolist() == []


def test_a_small_collection_is_trusted_less() -> None:
    def small(word: str) -> tuple[int, int]:
        return (1 if word in ("altman", "openai") else 0, 6)

    big, tiny = (
        Question.read("Who replaced Altman at Zorblax?", frequencies),
        Question.read("Who replaced Altman at Zorblax?", small),
    )
    assert big.trust == 0.5 and 0.0 < tiny.trust < 0.01  # 1,000 chunks; 6
    assert max(tiny.terms.values()) - min(tiny.terms.values()) < 0.1  # drawn towards 1: six chunks say little
    assert Question.read("Who replaced Altman?").trust == 0.0  # no keyword index
