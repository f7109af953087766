"""Tests for rag.eval.metrics (hand-computed cases and properties) and for the demo test set's evidence."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rag.answer.refusal import is_refusal
from rag.eval import metrics
from rag.eval.metrics import (
    citation_precision,
    contains_answer,
    exact_match,
    first_hit_rank,
    hit_at_k,
    is_hit,
    is_yes_no_reference,
    mean,
    normalize_answer,
    percentile,
    quote_fidelity,
    recall_at_k,
    reciprocal_rank,
    token_f1,
    yes_no,
)

DEMO = Path(__file__).resolve().parents[2] / "demo"

# --- answers -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("The Cat, sat!", "cat sat"),
        ("An apple a day", "apple day"),
        ("theatre", "theatre"),  # articles only as whole words
        ("“Quoted” — text’s", "quoted texts"),  # curly quotes, em dash, curly apostrophe
        ("$5  million\n", "5 million"),  # ASCII symbols count as punctuation, as in SQuAD
        ("", ""),
    ],
)
def test_normalize_answer(raw: str, normalised: str) -> None:
    assert normalize_answer(raw) == normalised


def test_exact_match() -> None:
    assert exact_match("The Eiffel Tower!", "eiffel tower") == 1.0
    assert exact_match("Paris", "London") == 0.0


@pytest.mark.parametrize(
    ("prediction", "reference", "expected"),
    [
        # pred [cat, sat], ref [cat, sat, down]: common 2, P 2/2, R 2/3 -> 2*1*(2/3)/(5/3) = 0.8
        ("the cat sat", "cat sat down", 0.8),
        # pred [cat, cat], ref [cat]: common min(2,1)=1, P 1/2, R 1/1 -> 2*(1/2)*1/(3/2) = 2/3
        ("cat cat", "cat", 2 / 3),
        ("Kyiv", "Moscow", 0.0),  # no common token
        ("", "", 1.0),  # both empty
        ("the", "", 1.0),  # "the" normalises to empty too
        ("cat", "", 0.0),  # one empty
        ("", "cat", 0.0),
    ],
)
def test_token_f1(prediction: str, reference: str, expected: float) -> None:
    assert token_f1(prediction, reference) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Yes, the talks resumed.", "yes"),
        ("NO.", "no"),
        ("“Yes”", "yes"),
        ("Nobody knows", None),  # "nobody" is not "no"
        ("It is yes", None),  # must be the first word
        ("", None),
    ],
)
def test_yes_no(text: str, expected: str | None) -> None:
    assert yes_no(text) == expected


def test_is_yes_no_reference() -> None:
    assert is_yes_no_reference("Yes")
    assert is_yes_no_reference("no.")
    assert not is_yes_no_reference("Yes, in 2022")
    assert not is_yes_no_reference("Istanbul")


def test_contains_answer() -> None:
    assert contains_answer("The talks began in Istanbul on Tuesday.", "istanbul") == 1.0
    assert contains_answer("Kirby said about 20 percent.", "20 percent") == 1.0
    assert contains_answer("I don't know", "no") == 0.0  # "i dont know": "no" is not a whole token
    assert contains_answer("Kyiv", "") == 0.0
    # words joined by a slash or hyphen are still whole words of the answer
    assert contains_answer("The fee is €9.99/month on web.", "€9.99") == 1.0
    assert contains_answer("Everton were handed a 10-point deduction.", "10 points") == 0.0
    assert contains_answer("Everton were handed a 10-point deduction.", "10") == 1.0
    assert contains_answer("a 10-point deduction", "10-point") == 1.0
    assert contains_answer("It sold 19.3 million copies.", "9.3 million") == 0.0


# --- retrieval ---------------------------------------------------------------------

RANKED = ["alpha beta", "gamma fact one delta", "fact two here", "fact one again"]
GOLD = [" fact one ", "fact two"]  # facts are stripped before matching


def test_is_hit() -> None:
    assert is_hit("gamma fact one delta", GOLD)
    assert not is_hit("alpha beta", GOLD)
    assert not is_hit("gamma Fact One delta", GOLD)  # the official rule is case-sensitive
    assert not is_hit("anything", ["   ", ""])  # blank facts never match


def test_first_hit_rank() -> None:
    assert first_hit_rank(RANKED, GOLD, k=10) == 2
    assert first_hit_rank(RANKED, GOLD, k=1) is None
    assert first_hit_rank([], GOLD, k=5) is None


def test_hit_at_k() -> None:
    assert hit_at_k(RANKED, GOLD, k=1) == 0.0
    assert hit_at_k(RANKED, GOLD, k=2) == 1.0


def test_reciprocal_rank() -> None:
    assert reciprocal_rank(RANKED, GOLD) == 0.5  # first hit at rank 2 -> 1/2
    assert reciprocal_rank(RANKED, GOLD, k=1) == 0.0
    assert reciprocal_rank(["fact two"], GOLD) == 1.0


def test_recall_at_k() -> None:
    assert recall_at_k(RANKED, GOLD, k=2) == 0.5  # "fact one" at rank 2, "fact two" not yet: 1/2
    assert recall_at_k(RANKED, GOLD, k=3) == 1.0  # both: 2/2
    assert recall_at_k(RANKED, ["fact one", "fact one ", "fact two"], k=2) == 0.5  # distinct facts: 1/2
    assert recall_at_k(RANKED, [], k=10) == 0.0  # callers skip such questions


# --- citations ---------------------------------------------------------------------


def test_citation_precision() -> None:
    cited = ["gamma fact one delta", "alpha beta", "fact two here"]
    assert citation_precision(cited, GOLD) == pytest.approx(2 / 3)  # two of three cited passages hold a fact
    assert citation_precision([], GOLD) is None


def test_quote_fidelity() -> None:
    pairs = [("fact  one", "gamma fact one\ndelta"), ("missing", "alpha beta")]
    assert quote_fidelity(pairs) == 0.5  # first found after whitespace normalisation, second not: 1/2
    assert quote_fidelity([("“strong armies”", "with “strong armies”, including")]) == 1.0
    assert quote_fidelity([("  ", "anything")]) == 0.0  # a blank quote proves nothing
    assert quote_fidelity([]) is None


# --- refusals ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "The articles do not say who won.",
        "The provided articles don't contain that information.",
        "The provided articles don’t contain that information.",  # curly apostrophe
        "I don't know.",
        "Insufficient information.",
        "This question cannot be answered from the articles.",
        "THE ARTICLES DO NOT SAY.",
    ],
)
def test_is_refusal_recognises_declines(text: str) -> None:
    assert is_refusal(text)


@pytest.mark.parametrize(
    "text",
    [
        "The talks began in Istanbul on Tuesday [1].",
        "The articles say Kyiv wants security guarantees [2].",
        "Kirby said Russia does not say when troops go home.",
        "Kirby said there was no information about the troops.",
    ],
)
def test_is_refusal_accepts_answers(text: str) -> None:
    assert not is_refusal(text)


# --- statistics --------------------------------------------------------------------


def test_percentile() -> None:
    values = [4.0, 1.0, 3.0, 2.0]  # sorted 1 2 3 4
    assert percentile(values, 50) == 2.5  # position 3*0.50 = 1.5 -> 2 + 0.5*(3-2)
    assert percentile(values, 25) == 1.75  # position 3*0.25 = 0.75 -> 1 + 0.75*(2-1)
    assert percentile(values, 0) == 1.0
    assert percentile(values, 100) == 4.0
    assert percentile([7.0], 90) == 7.0
    assert math.isnan(percentile([], 50))
    with pytest.raises(ValueError):
        percentile(values, 101)


def test_mean() -> None:
    assert mean([1.0, 2.0, 4.0]) == pytest.approx(7 / 3)
    assert math.isnan(mean([]))


# --- properties --------------------------------------------------------------------

words = st.text(alphabet="ab .", max_size=12)
texts = st.lists(st.text(alphabet="ab", max_size=5), max_size=8)
facts = st.lists(st.text(alphabet="ab", min_size=1, max_size=3), max_size=3)
finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)


@given(words, words)
def test_f1_bounded_and_symmetric(a: str, b: str) -> None:
    assert 0.0 <= token_f1(a, b) <= 1.0
    assert token_f1(a, b) == pytest.approx(token_f1(b, a))


@given(texts, facts, st.integers(min_value=1, max_value=10))
def test_reciprocal_rank_is_zero_or_inverse_rank(ranked: list[str], gold: list[str], k: int) -> None:
    rr = reciprocal_rank(ranked, gold, k)
    assert rr == 0.0 or any(rr == 1 / r for r in range(1, k + 1))


@given(texts, facts, st.integers(min_value=1, max_value=10))
def test_hit_at_k_monotone_in_k(ranked: list[str], gold: list[str], k: int) -> None:
    assert hit_at_k(ranked, gold, k) <= hit_at_k(ranked, gold, k + 1)


@given(st.lists(finite, min_size=1, max_size=20), st.floats(min_value=0, max_value=100))
def test_percentile_between_min_and_max_and_matches_numpy(values: list[float], q: float) -> None:
    result = percentile(values, q)
    assert min(values) <= result <= max(values)
    assert result == pytest.approx(float(np.percentile(values, q)), rel=1e-9, abs=1e-9)


# --- demo test set -----------------------------------------------------------------


def test_demo_testset_evidence_is_verbatim() -> None:
    rows = [json.loads(line) for line in (DEMO / "testset.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len({row["id"] for row in rows}) == len(rows)
    for row in rows:
        for evidence in row.get("evidence", []):
            article = (DEMO / "articles" / evidence["article"]).read_text(encoding="utf-8")
            assert evidence["text"] in article, row["id"]


def test_the_first_sentence_is_the_lead_line_without_markers() -> None:
    answer = "Kyiv wants guarantees [1]. Russia does not [2].\n\n- “A quote.” [3]"
    assert metrics.first_sentence(answer) == "Kyiv wants guarantees."
    assert metrics.first_sentence("\nOnly a line [2]") == "Only a line"
    lead = "Pressure mounted on Mr. Blinken to act, as the U.S. did with Cuba [1]. It has not [2]."
    assert metrics.first_sentence(lead) == "Pressure mounted on Mr. Blinken to act, as the U.S. did with Cuba."


@pytest.mark.parametrize(
    ("answer", "keys", "expected"),
    [
        ("Mira Murati will lead the company [1]. Later, Sam Altman returned [2].", ["Mira Murati", "Murati"], True),
        ("The board met on Friday [1]. Mira Murati will lead it [2].", ["Mira Murati"], False),  # not the lead
        ("No, the council rejected the bridge [1].", ["no", "rejected"], True),
        ("Yes: the council approved it [1].", ["no"], False),
        ("The council rejected the bridge [1].", ["no", "rejected"], True),  # the decisive phrase
    ],
)
def test_lead_answers(answer: str, keys: list[str], expected: bool) -> None:
    assert metrics.lead_answers(answer, keys) is expected


def test_a_follow_up_is_searched_right_with_or_without_the_old_topic() -> None:
    assert metrics.searched_right("Who replaced him? (OpenAI's board fire Sam Altman)", ["Altman"], True) == 1.0
    assert metrics.searched_right("Who replaced him?", ["Altman"], True) == 0.0
    assert metrics.searched_right("What did the film gross? (CEO, Nvidia)", ["Nvidia"], False) == 0.0
    assert metrics.searched_right("What did the film gross?", ["Nvidia"], False) == 1.0
