"""Content terms, stems and weighted coverage (pure functions, with properties)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from rag.text.terms import content_terms, stem, term_overlap, weighted_coverage, words


def test_stems_and_possessives() -> None:
    assert stem("guarantees") == stem("guarantee")
    assert words("Google's lawyers didn't say") == ["google", "lawyers", "didn't", "say"]
    assert content_terms("Google's lawyers didn't say it's over") == {stem("google"), stem("lawyers")}
    assert content_terms("THE BOARD FIRED ALTMAN") == content_terms("the board fired Altman")


def test_term_overlap() -> None:
    assert term_overlap("What guarantees does Kyiv want?", "Kyiv seeks a guarantee") == 2 / 3
    assert term_overlap("what is it", "anything") == 0.0


def test_weighted_coverage_counts_rare_terms_more() -> None:
    weight = {"kyiv": 5.0, "want": 1.0}.get
    assert weighted_coverage(["kyiv", "want"], {"kyiv"}, lambda t: weight(t, 0.0)) == 5 / 6
    assert weighted_coverage([], {"kyiv"}, lambda t: 1.0) == 0.0


@given(
    st.lists(st.sampled_from("abcdefgh"), max_size=8),
    st.sets(st.sampled_from("abcdefgh")),
    st.sets(st.sampled_from("abcdefgh")),
)
def test_weighted_coverage_is_a_share_that_grows_with_what_is_found(
    wanted: list[str], a: set[str], b: set[str]
) -> None:
    weight = {letter: float(i + 1) for i, letter in enumerate("abcdefgh")}.__getitem__
    small, large = weighted_coverage(wanted, a, weight), weighted_coverage(wanted, a | b, weight)
    assert 0.0 <= small <= large <= 1.0
