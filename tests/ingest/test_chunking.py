"""Tests of rag.ingest.chunking: sentence splitting and chunk packing (examples and properties)."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rag.ingest.chunking import TextChunk, chunk_text
from rag.text.sentences import split_sentences

DEMO = Path(__file__).resolve().parents[2] / "demo" / "articles" / "istanbul-talks-2022-03.txt"


def word_count(text: str) -> int:
    return len(text.split())


def sentences(text: str) -> list[str]:
    return [text[start:end] for start, end in split_sentences(text)]


def covered(text: str, spans: list[tuple[int, int]]) -> set[int]:
    return {i for start, end in spans for i in range(start, end)}


def non_space(text: str) -> set[int]:
    return {i for i, char in enumerate(text) if not char.isspace()}


# --- split_sentences: examples ----------------------------------------------------


def test_plain_sentences() -> None:
    assert sentences("One here. Two there! Three? Four") == [
        "One here.",
        "Two there!",
        "Three?",
        "Four",
    ]


@pytest.mark.parametrize(
    "text",
    [
        "Mr. Smith met Dr. Jones and Prof. Lee at St. Paul's.",
        "Sen. Warren and Rep. Ocasio-Cortez spoke with Gen. Milley.",
        "The U.S. and the U.K. met at the U.N. on Tuesday.",
        "Apple Inc. and Acme Corp. and Foo Ltd. and Bar Co. merged.",
        "He lives at No. 10 since Jan. 5 and left on Dec. 24.",
        "Fruit, e.g. apples, i.e. the red ones, vs. pears etc. are fine.",
        "John F. Kennedy and Martin Luther King Jr. were mentioned.",
        "Growth was 3.5 percent, up from 2.75 percent.",
        "He said “wait. . . no” and left.",
    ],
)
def test_no_split_inside(text: str) -> None:
    assert sentences(text) == [text]


def test_closing_quotes_and_brackets_stay_with_sentence() -> None:
    text = "He said “it is over.” Then he left. (It was late.) She stayed.' Done"
    assert sentences(text) == [
        "He said “it is over.”",
        "Then he left.",
        "(It was late.)",
        "She stayed.'",
        "Done",
    ]


def test_newline_always_ends_sentence() -> None:
    text = "Headline without a period\nBody starts here. And goes on\n\n  Second paragraph"
    assert sentences(text) == [
        "Headline without a period",
        "Body starts here.",
        "And goes on",
        "Second paragraph",
    ]


def test_lowercase_continuation_does_not_end_sentence() -> None:
    assert sentences("Wait... what? Yes. ok then") == ["Wait... what?", "Yes. ok then"]


def test_ellipsis_character() -> None:
    assert sentences("It ended… Then silence.") == ["It ended…", "Then silence."]


def test_spans_are_trimmed_and_exact() -> None:
    text = "  First one.   Second one.  \n"
    spans = split_sentences(text)
    assert spans == [(2, 12), (15, 26)]


def test_empty_and_blank() -> None:
    assert split_sentences("") == []
    assert split_sentences(" \n\t ") == []
    assert chunk_text("", word_count) == []
    assert chunk_text("  \n ", word_count) == []


def test_demo_article_keeps_guarantee_sentence_whole() -> None:
    text = DEMO.read_text(encoding="utf-8")
    matches = [s for s in sentences(text) if "designated guarantor countries" in s]
    assert matches == [
        "Podolyak said Kyiv was still looking for specific security guarantees that could be"
        " imposed by “designated guarantor countries” with “strong armies”, including the"
        " United States and a handful of Western allies."
    ]
    assert (
        "U.S. officials say Putin’s move in recent days comes amid growing evidence that the"
        " Russian president feels “misled” by his military commanders about how his attack on"
        " Ukraine is unfolding." in sentences(text)
    )


def test_demo_article_chunks() -> None:
    text = DEMO.read_text(encoding="utf-8")
    chunks = chunk_text(text, word_count, max_tokens=120, overlap_tokens=30)
    assert len(chunks) > 3
    assert any("designated guarantor countries" in c.text for c in chunks)
    for chunk in chunks:
        assert chunk.text == text[chunk.start : chunk.end]
        assert word_count(chunk.text) <= 120


# --- chunk_text: examples ------------------------------------------------------------


def test_short_text_is_one_chunk() -> None:
    text = "One sentence. Another sentence."
    assert chunk_text(text, word_count) == [TextChunk(0, len(text), text)]


def test_overlap_repeats_trailing_sentences() -> None:
    text = "A b c. D e f. G h i. J k l."
    chunks = chunk_text(text, word_count, max_tokens=6, overlap_tokens=3)
    assert [c.text for c in chunks] == ["A b c. D e f.", "D e f. G h i.", "G h i. J k l."]


def test_overlap_never_repeats_whole_chunk() -> None:
    text = "A b. C d. E f."
    chunks = chunk_text(text, word_count, max_tokens=2, overlap_tokens=10)
    assert [c.text for c in chunks] == ["A b.", "C d.", "E f."]


def test_long_sentence_is_split_at_whitespace() -> None:
    words = [f"w{i}" for i in range(25)]
    text = " ".join(words) + "."
    chunks = chunk_text(text, word_count, max_tokens=10, overlap_tokens=0)
    assert [word_count(c.text) for c in chunks] == [10, 10, 5]
    assert " ".join(c.text for c in chunks) == text


def test_unsplittable_word_is_its_own_piece() -> None:
    text = "short. " + "x" * 50 + " tail."
    chunks = chunk_text(text, len, max_tokens=10, overlap_tokens=0)
    assert [c.text for c in chunks] == ["short.", "x" * 50, "tail."]


def test_rejects_bad_limits() -> None:
    with pytest.raises(ValueError):
        chunk_text("a.", word_count, max_tokens=0)
    with pytest.raises(ValueError):
        chunk_text("a.", word_count, overlap_tokens=-1)


# --- properties ------------------------------------------------------------------------

_pieces = st.sampled_from(
    [
        "word",
        "Mr.",
        "U.S.",
        "e.g.",
        "3.5",
        "F.",
        "end.",
        "yes!",
        "why?",
        "so…",
        ". . .",
        "“quoted.”",
        "(aside.)",
        "'single.'",
        "[x]",
        "The",
        "said",
        "\n",
        "\n\n",
        " ",
        "  ",
        "\t",
        "Ünïcode",
        "a",
        ".",
        "!",
        "?",
    ]
)
texts = st.one_of(
    st.lists(_pieces, max_size=80).map(lambda parts: " ".join(parts)),
    st.lists(_pieces, max_size=80).map("".join),
    st.text(max_size=300),
)
PROPERTY = settings(max_examples=150, deadline=None)


@pytest.mark.slow
@PROPERTY
@given(texts)
def test_sentence_spans_property(text: str) -> None:
    spans = split_sentences(text)
    for (start, end), following in zip(spans, [*spans[1:], (len(text) + 1, 0)], strict=False):
        assert 0 <= start < end <= len(text)
        assert end <= following[0]
        segment = text[start:end]
        assert segment == segment.strip()
    assert non_space(text) <= covered(text, spans)


@PROPERTY
@given(
    text=texts,
    max_tokens=st.integers(min_value=1, max_value=30),
    overlap_tokens=st.integers(min_value=0, max_value=40),
)
def test_chunk_properties(text: str, max_tokens: int, overlap_tokens: int) -> None:
    chunks = chunk_text(text, word_count, max_tokens=max_tokens, overlap_tokens=overlap_tokens)
    if not text.strip():
        assert chunks == []
    spans = [(c.start, c.end) for c in chunks]
    assert covered(text, spans) >= non_space(text)
    for chunk in chunks:
        assert chunk.text == text[chunk.start : chunk.end]
        assert chunk.text == chunk.text.strip() != ""
        assert word_count(chunk.text) <= max_tokens
    for previous, current in itertools.pairwise(chunks):
        assert previous.start < current.start
        assert previous.end < current.end
        overlap = text[current.start : previous.end] if current.start < previous.end else ""
        assert word_count(overlap) <= overlap_tokens
