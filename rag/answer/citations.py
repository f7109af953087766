"""Citation markers and support matching: pure text functions.

Answers cite passages with numbered markers such as `[1]`, `[2][3]` or `[1, 3]`.
This module finds and validates markers, splits an answer into claims with their
markers, and finds the sentence of a passage that best supports a claim (to highlight
and quote it).
"""

from __future__ import annotations

import re

from rag.text.sentences import split_sentences
from rag.text.terms import term_overlap

MARKER = re.compile(r"\[(\d{1,3}(?:\s*[,;]\s*\d{1,3})*)\]")
_SPACED_MARKER = re.compile(r"\s*" + MARKER.pattern)
_LEADING_MARKERS = re.compile(r"(?:\s*" + MARKER.pattern + r")+")
_BULLET = re.compile(r"^[-•*]\s+")  # a list item's bullet: answers list their supporting quotes
_MARKER_THEN_CAPITAL = re.compile(r"(" + MARKER.pattern + r")\s+(?=[A-Z“\"‘'])")


def parse_markers(text: str) -> list[int]:
    """Numbers cited in `text`, in order of first appearance, without repeats."""
    numbers: list[int] = []
    for match in MARKER.finditer(text):
        for part in re.split(r"[,;]", match.group(1)):
            number = int(part)
            if number not in numbers:
                numbers.append(number)
    return numbers


def invalid_markers(text: str, passage_count: int) -> list[int]:
    """Cited numbers that do not name one of the `passage_count` passages given."""
    return [number for number in parse_markers(text) if not 1 <= number <= passage_count]


def drop_markers(text: str, numbers: set[int]) -> str:
    """Remove the given numbers from every marker (a marker left empty disappears)."""

    def keep(match: re.Match[str]) -> str:
        kept = [part.strip() for part in re.split(r"[,;]", match.group(1)) if int(part) not in numbers]
        return f"[{', '.join(kept)}]" if kept else ""

    return re.sub(r"\s+(?=[.,;:!?]|$)", "", MARKER.sub(keep, text)) if numbers else text


def renumber(text: str, mapping: dict[int, int]) -> str:
    """Rewrite every marker's numbers through `mapping` (numbers not in it are kept)."""

    def swap(match: re.Match[str]) -> str:
        parts = [mapping.get(int(part), int(part)) for part in re.split(r"[,;]", match.group(1))]
        return f"[{', '.join(map(str, dict.fromkeys(parts)))}]"

    return MARKER.sub(swap, text) if mapping else text


def merge_spans(spans: list[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    """Spans sorted by start, overlapping ones merged."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return tuple(merged)


def claims(text: str) -> list[tuple[str, list[int]]]:
    """The answer's sentences with the numbers they cite.

    Markers that open a sentence ("... neutrality. [2] Talks ...") belong to the sentence before.
    """
    return [(claim, numbers) for claim, numbers, _ in located_claims(text)]


def located_claims(text: str) -> list[tuple[str, list[int], tuple[int, int]]]:
    """`claims`, each with its span in `text` (markers included), to mark it in place."""
    result: list[tuple[str, list[int], tuple[int, int]]] = []
    for start, end in _claim_spans(text):
        sentence = text[start:end]
        leading = _LEADING_MARKERS.match(sentence)
        if leading and result:
            result[-1][1].extend(n for n in parse_markers(leading.group()) if n not in result[-1][1])
            result[-1] = (result[-1][0], result[-1][1], (result[-1][2][0], start + leading.end()))
            sentence, start = sentence[leading.end() :], start + leading.end()
        claim = _BULLET.sub("", _SPACED_MARKER.sub("", sentence).strip())
        if claim:
            result.append((claim, parse_markers(sentence), (start, end)))
    return result


def _claim_spans(text: str) -> list[tuple[int, int]]:
    """Sentence spans, also cut after a marker that is followed by a capitalised word
    ("Team News [5] Ahead of ..."): quoted headlines and lists often lack a full stop."""
    spans: list[tuple[int, int]] = []
    for start, end in split_sentences(text):
        for cut in _MARKER_THEN_CAPITAL.finditer(text, start, end):
            spans.append((start, cut.end(1)))
            start = cut.end()
        spans.append((start, end))
    return spans


def supporting_span(claims: list[str], passage: str) -> tuple[int, int]:
    """Offsets in `passage` of the first claim it contains verbatim (a quote), else of its
    sentence sharing most content terms with the claims."""
    for claim in claims:
        found = passage.find(claim) if claim else -1
        if found >= 0:
            return (found, found + len(claim))
    return best_supporting_sentence(" ".join(claims), passage)


def best_supporting_sentence(claim: str, passage: str) -> tuple[int, int]:
    """Offsets in `passage` of its sentence sharing most content terms with `claim`."""
    spans = split_sentences(passage)
    if not spans:
        return (0, len(passage))
    return max(spans, key=lambda span: term_overlap(claim, passage[span[0] : span[1]]))
