"""Chunking: owns cutting article text into overlapping passages of whole sentences.

Everything here is pure text work over character offsets: a passage always knows
where it came from (`TextChunk.start`/`end` index the source text), and the token
counter is passed in, so this module never imports a model.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from rag.text.sentences import split_sentences


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
