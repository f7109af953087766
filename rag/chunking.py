"""Chunking: owns cutting article text into sentences and into overlapping passages.

Everything here is pure text work over character offsets: a passage always knows
where it came from (`TextChunk.start`/`end` index the source text), and the token
counter is passed in, so this module never imports a model.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

ABBREVIATIONS: frozenset[str] = frozenset([
    "Mr", "Mrs", "Ms", "Dr", "Prof", "Sen", "Rep", "Gen", "Gov", "Lt", "Col", "Capt", "Sgt", "St", "Jr", "Sr",
    "vs", "etc", "Inc", "Corp", "Ltd", "Co", "No", "Jan", "Feb", "Mar", "Apr", "Jun", "Jul", "Aug", "Sep",
    "Sept", "Oct", "Nov", "Dec"
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


@dataclass(frozen=True)
class TextChunk:
    """A passage of a source text: `text == source[start:end]`."""

    start: int
    end: int
    text: str


@dataclass(frozen=True)
class _Unit:
    """A span that is never cut further (a sentence or a piece of one) and its token count."""

    start: int
    end: int
    tokens: int


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


def _words(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    for match in re.finditer(r"\S+", text[start:end]):
        yield start + match.start(), start + match.end()


def _split_long(text: str, start: int, end: int, count_tokens: Callable[[str], int], max_tokens: int) -> list[_Unit]:
    """Cut an over-long sentence at whitespace into pieces of at most `max_tokens`.

    A piece counts as the sum of its words' counts; a word over the limit stands alone.
    """
    pieces: list[_Unit] = []
    piece: _Unit | None = None
    for w_start, w_end in _words(text, start, end):
        tokens = count_tokens(text[w_start:w_end])
        if piece is not None and piece.tokens + tokens <= max_tokens:
            piece = _Unit(piece.start, w_end, piece.tokens + tokens)
        else:
            if piece is not None:
                pieces.append(piece)
            piece = _Unit(w_start, w_end, tokens)
    if piece is not None:
        pieces.append(piece)
    return pieces


def _units(text: str, count_tokens: Callable[[str], int], max_tokens: int) -> list[_Unit]:
    units: list[_Unit] = []
    for start, end in split_sentences(text):
        tokens = count_tokens(text[start:end])
        if tokens <= max_tokens:
            units.append(_Unit(start, end, tokens))
        else:
            units.extend(_split_long(text, start, end, count_tokens, max_tokens))
    return units


def _pack_end(units: list[_Unit], first: int, max_tokens: int) -> int:
    """Index one past the last unit of the chunk that starts at `first` (at least one unit)."""
    total, end = units[first].tokens, first + 1
    while end < len(units) and total + units[end].tokens <= max_tokens:
        total += units[end].tokens
        end += 1
    return end


def _overlap_start(units: list[_Unit], first: int, end: int, max_tokens: int, overlap_tokens: int) -> int:
    """Where the next chunk starts: the trailing units of `units[first:end]` that fit in
    `overlap_tokens` and still leave room for the next new unit; never `first` itself."""
    room = min(overlap_tokens, max_tokens - units[end].tokens)
    start, total = end, 0
    while start - 1 > first and total + units[start - 1].tokens <= room:
        start -= 1
        total += units[start].tokens
    return start


def chunk_text(
    text: str,
    count_tokens: Callable[[str], int],
    max_tokens: int = 200,
    overlap_tokens: int = 40,
) -> list[TextChunk]:
    """Greedily pack whole sentences into chunks of at most `max_tokens` tokens.

    Each chunk after the first repeats the trailing sentences of the previous one that
    total at most `overlap_tokens`. Sentences over the limit are cut at whitespace.
    """
    if max_tokens < 1 or overlap_tokens < 0:
        raise ValueError("max_tokens must be >= 1 and overlap_tokens >= 0")
    units = _units(text, count_tokens, max_tokens)
    chunks: list[TextChunk] = []
    first = 0
    while first < len(units):
        end = _pack_end(units, first, max_tokens)
        start, stop = units[first].start, units[end - 1].end
        chunks.append(TextChunk(start, stop, text[start:stop]))
        if end == len(units):
            break
        first = _overlap_start(units, first, end, max_tokens, overlap_tokens)
    return chunks
