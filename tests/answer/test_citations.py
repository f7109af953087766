"""Citation markers and support matching (pure functions)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rag.answer.citations import (
    MarkerStream,
    best_supporting_sentence,
    claims,
    drop_markers,
    invalid_markers,
    normalise_markers,
    parse_markers,
    supporting_span,
)
from rag.text.terms import content_terms, stem, term_overlap


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
    assert content_terms("What guarantees does Kyiv want?") == {stem("guarantee"), "kyiv", "want"}
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


# --- the forms a chat model cites in (issue 17, case 5) ---------------------------------------------
@pytest.mark.parametrize(
    ("written", "normalised", "order"),
    [
        ("A [1, 2]. B [2].", "A [1, 2]. B [2].", [1, 2]),
        ("A [1-3]. B [2–3].", "A [1, 2, 3]. B [2, 3].", [1, 2, 3]),
        ("A [3][1]. B [1].", "A [1][2]. B [2].", [3, 1]),
        ("A [Passage 2]. B [Passages 1 and 2]. C [passage #3].", "A [1]. B [2, 1]. C [3].", [2, 1, 3]),
        ("A (2). B (1, 2). C (Passage 3).", "A [1]. B [2, 1]. C [3].", [2, 1, 3]),
        ("A 【2†source】. B [Source 1; Source 2].", "A [1]. B [2, 1].", [2, 1]),
        ("A [2][12]. B [12].", "A [1]. B.", [2]),  # 12 names no passage: dropped with its space
        ("In (2023) sales rose (4). A [9, 1].", "In (2023) sales rose (4). A [1].", [1]),  # (n) out of range is text
        ("(1) Talks resumed [2].\n(2) Kyiv wants [1].", "(1) Talks resumed [1].\n(2) Kyiv wants [2].", [2, 1]),
        ("A [the council]. B [1 of 3]. C [a] [].", "A [the council]. B [1 of 3]. C [a] [].", []),
    ],
)
def test_marker_forms_are_normalised_and_renumbered(written: str, normalised: str, order: list[int]) -> None:
    markers = normalise_markers(written, passage_count=3)
    assert markers.text == normalised and markers.order == order


def test_only_canonical_markers_count_for_the_extractive_answerer() -> None:
    quoted = "“The plan has two steps: (1) a ceasefire and (2) talks,” he said [2]."
    assert normalise_markers(quoted, 3, forms=False).text == quoted.replace("[2]", "[1]")


@given(st.text(alphabet="ab [](),-12and Passage", max_size=60), st.integers(min_value=1, max_value=20))
def test_streaming_in_any_pieces_gives_the_final_text(text: str, seed: int) -> None:
    """However the text is cut into pieces, each shown text is a prefix of the next and of the final one."""
    final = normalise_markers(text, 2).text
    stream, shown, cut = MarkerStream(2), "", 0
    while cut < len(text):
        step = 1 + (seed * (cut + 7)) % 5
        now = stream.feed(text[cut : cut + step])
        assert now.startswith(shown)
        shown, cut = now, cut + step
    assert stream.finish() == final and final.startswith(shown)
