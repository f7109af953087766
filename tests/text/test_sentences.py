"""Word spans: a highlight never starts or ends inside a word (pure, with properties)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from rag.text.sentences import word_span


@given(st.text(alphabet="ab- .’'", max_size=40), st.integers(0, 45), st.integers(0, 45))
def test_word_spans_never_cut_a_word(text: str, a: int, b: int) -> None:
    start, end = word_span(text, min(a, b), max(a, b))
    assert 0 <= start <= end <= len(text)
    assert start <= min(a, b, len(text)) and end >= min(max(a, b), len(text))
    for edge in (start, end):
        if 0 < edge < len(text):
            assert not (text[edge - 1].isalnum() and text[edge].isalnum())


def test_a_highlight_starting_inside_a_word_takes_the_whole_word() -> None:
    text = "He joined as co-CEO Bret Taylor said."
    start = text.index("CEO")
    assert text[slice(*word_span(text, start, start + len("CEO Bret")))] == "co-CEO Bret"
