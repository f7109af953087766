"""Sentences: cutting text into sentences, as character spans.

Hand-written because the libraries that split sentences (nltk's punkt, spaCy, pysbd) either
need model data downloaded at run time or do not keep exact character offsets, and every
citation highlight here is an offset into the passage. Pure functions, no model.
"""

from __future__ import annotations

import itertools
import re

from rag.text.dates import MONTHS

ABBREVIATIONS: frozenset[str] = frozenset([
    "Mr", "Mrs", "Ms", "Dr", "Prof", "Sen", "Rep", "Gen", "Gov", "Lt", "Col", "Capt", "Sgt", "St", "Jr", "Sr",
    "vs", "etc", "Inc", "Corp", "Ltd", "Co", "No",
    *(abbreviation for names in MONTHS for abbreviation in names[1:]),
])  # fmt: skip
"""Words that end in a period without ending a sentence (compared without the period)."""

# A run of terminators (". . ." counts as one), optional closing quotes/brackets, then
# whitespace or the end of the text. `word` is the token the terminator is glued to.
_SENTENCE_END = re.compile(r"(?<!\S)(?P<word>\S*?)(?P<term>[.!?…]+(?:[ \t]+[.!?…]+)*)[”\"’')\]]*(?=\s|$)")
_LINE_BREAK = re.compile(r"[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]")
# Dotted initials such as U.S, e.g, i.e, p.m, or a single capital initial (John F. Kennedy).
_INITIALS = re.compile(r"(?:[A-Za-z]\.)+[A-Za-z]|[A-Z]")
_OPENERS = "“\"‘'([«"
_NEXT_VISIBLE = re.compile(r"\s*(\S?)")


def _is_abbreviation(word: str) -> bool:
    bare = word.lstrip(_OPENERS)
    return bare in ABBREVIATIONS or _INITIALS.fullmatch(bare) is not None


def _ends_sentence(text: str, match: re.Match[str]) -> bool:
    """Whether a terminator match really closes a sentence."""
    if match["term"] == "." and _is_abbreviation(match["word"]):
        return False
    following = _NEXT_VISIBLE.match(text, match.end())
    return not (following and following[1].islower())


def _boundaries(text: str) -> list[int]:
    """Offsets where a sentence may end: after a real terminator, and at every line break."""
    ends = {m.end() for m in _SENTENCE_END.finditer(text) if _ends_sentence(text, m)}
    ends.update(m.start() for m in _LINE_BREAK.finditer(text))
    return sorted(ends)


def _stripped(text: str, start: int, end: int) -> tuple[int, int] | None:
    """`(start, end)` narrowed to exclude surrounding whitespace; None if nothing is left."""
    segment = text[start:end]
    body = segment.strip()
    if not body:
        return None
    left = start + len(segment) - len(segment.lstrip())
    return left, left + len(body)


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Spans of the sentences of `text`, in order, each trimmed of whitespace.

    The spans are disjoint and together cover every non-whitespace character.
    """
    cuts = [0, *_boundaries(text), len(text)]
    spans = (_stripped(text, a, b) for a, b in itertools.pairwise(cuts))
    return [span for span in spans if span is not None]


def word_span(text: str, start: int, end: int) -> tuple[int, int]:
    """`(start, end)` widened to whole words: a highlight never starts or ends inside a word
    ("co-CEO" is highlighted whole, never from "CEO")."""
    start, end = max(0, min(start, len(text))), max(0, min(end, len(text)))
    while 0 < start < len(text) and _in_word(text, start - 1) and _in_word(text, start):
        start -= 1
    while 0 < end < len(text) and _in_word(text, end - 1) and _in_word(text, end):
        end += 1
    return start, max(start, end)


def _in_word(text: str, index: int) -> bool:
    """A letter, digit, or a hyphen or apostrophe inside a word."""
    char = text[index]
    if char.isalnum():
        return True
    inner = 0 < index < len(text) - 1 and text[index - 1].isalnum() and text[index + 1].isalnum()
    return char in "-'’" and inner
