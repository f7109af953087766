"""Citation markers and support matching (pure functions)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from rag.answer.citations import (
    best_supporting_sentence,
    claims,
    drop_markers,
    invalid_markers,
    parse_markers,
    supporting_span,
)
from rag.text.terms import content_terms, term_overlap


def test_parse_markers_in_order_without_repeats() -> None:
    assert parse_markers("Kyiv wants guarantees [2]. Allies [1][2] and [3, 4]; again [2].") == [2, 1, 3, 4]
    assert parse_markers("No markers, [a] or [] or [12345].") == []


def test_invalid_markers_name_missing_passages() -> None:
    assert invalid_markers("A [1]. B [3]. C [0].", passage_count=2) == [3, 0]


def test_drop_markers_keeps_valid_ones_and_punctuation() -> None:
    assert drop_markers("A [1]. B [3]. C [1, 3].", {3}) == "A [1]. B. C [1]."
    assert drop_markers("A [1].", set()) == "A [1]."


def test_claims_attach_trailing_markers_to_their_sentence() -> None:
    assert claims("Kyiv wants guarantees [1]. Russia wants neutrality. [2][3] Talks continue.") == [
        ("Kyiv wants guarantees.", [1]),
        ("Russia wants neutrality.", [2, 3]),
        ("Talks continue.", []),
    ]


def test_content_terms_fold_plurals_and_drop_stopwords() -> None:
    assert content_terms("What guarantees does Kyiv want?") == {"guarantee", "kyiv", "want"}
    assert term_overlap("What guarantees does Kyiv want?", "Kyiv seeks a guarantee") == 2 / 3
    assert term_overlap("what is it", "anything") == 0.0


def test_best_supporting_sentence_finds_the_claim() -> None:
    passage = "Troops moved north. Kyiv wants security guarantees from allies. Talks resume Friday."
    start, end = best_supporting_sentence("Kyiv asks allies for security guarantees", passage)
    assert passage[start:end] == "Kyiv wants security guarantees from allies."


@given(st.lists(st.integers(min_value=1, max_value=999), max_size=8), st.text(alphabet="abc .", max_size=30))
def test_markers_round_trip(numbers: list[int], filler: str) -> None:
    text = filler + "".join(f" claim [{n}]." for n in numbers)
    assert parse_markers(text) == list(dict.fromkeys(numbers))
    assert parse_markers(drop_markers(text, set(numbers))) == []


def test_supporting_span_prefers_a_verbatim_quote() -> None:
    passage = "Kyiv wants guarantees. Kyiv wants guarantees from strong armies, officials said."
    quote = "Kyiv wants guarantees from strong armies, officials said."
    assert supporting_span(["Something else entirely.", quote], passage) == (passage.index(quote), len(passage))
    start, end = supporting_span(["Officials said Kyiv wants strong armies as guarantors"], passage)
    assert passage[start:end] == quote


def test_claims_are_cut_after_markers_before_a_new_capitalised_claim() -> None:
    text = (
        "Manchester United Team News [5] Ahead of their visit, Chelsea won [2]. "
        "Kyiv wants guarantees [1] and allies agree [3]."
    )
    assert claims(text) == [
        ("Manchester United Team News", [5]),
        ("Ahead of their visit, Chelsea won.", [2]),
        ("Kyiv wants guarantees and allies agree.", [1, 3]),
    ]


def test_located_claims_point_at_each_claim_with_its_markers() -> None:
    from rag.answer.citations import located_claims

    text = "Kyiv wants guarantees [1]. Russia pays 300 billion [2]. [3] The talks go on."
    found = located_claims(text)
    assert [(claim, numbers) for claim, numbers, _ in found] == [
        ("Kyiv wants guarantees.", [1]),
        ("Russia pays 300 billion.", [2, 3]),
        ("The talks go on.", []),
    ]
    assert [text[start:end].strip() for _, _, (start, end) in found] == [
        "Kyiv wants guarantees [1].",
        "Russia pays 300 billion [2]. [3]",
        "The talks go on.",
    ]
