"""Citation markers and support matching: pure text functions.

Answers cite passages with numbered markers such as `[1]`, `[2][3]` or `[1, 3]`.
This module finds and validates markers, splits an answer into claims with their
markers, and finds the sentence of a passage that best supports a claim (to highlight
and quote it). `MarkerStream` turns the other forms a chat model writes (`[1-2]`, `[1, 2]`,
`[Passage 1]`, `[Passages 1 and 2]`, `(1)`, `【1】`) into these markers and renumbers them
1..n in order of first use while the text streams, so what is shown as it arrives is the
final answer's text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from rag.text.sentences import split_sentences
from rag.text.terms import term_overlap

MARKER = re.compile(r"\[(\d{1,3}(?:\s*[,;]\s*\d{1,3})*)\]")
_SPACED_MARKER = re.compile(r"\s*" + MARKER.pattern)
_LEADING_MARKERS = re.compile(r"(?:\s*" + MARKER.pattern + r")+")
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
        claim = _SPACED_MARKER.sub("", sentence).strip()
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


# --- the forms a chat model cites in, normalised while the text streams ---------------------------
_LABELS = ("passage", "source", "doc", "document", "article", "ref", "reference", "excerpt")
_LABEL = r"(?:(?:passage|source|doc|document|article|ref|reference|excerpt)s?\s*#?\s*)"
_ITEM = rf"{_LABEL}?\d{{1,3}}"
_LIST = rf"{_ITEM}(?:\s*(?:[,;&]|and|[-–])\s*{_ITEM})*"
_FORMS = re.compile(
    rf"\[\s*(?P<square>{_LIST})\s*\]|【\s*(?P<lenticular>{_LIST})[^】]{{0,24}}】|\(\s*(?P<round>{_LIST})\s*\)",
    re.IGNORECASE,
)
_OPENERS = re.compile(r"[\[(【]")
_WORDS_IN_MARKER = re.compile(r"[A-Za-z]+")
_MAX_MARKER = 40  # characters: a longer bracket is text, not a marker
_MAX_RANGE = 20  # numbers a range like [1-3] may span


def _numbers(inner: str) -> list[int]:
    """'1, 3-5' -> [1, 3, 4, 5]; 'Passages 1 and 2' -> [1, 2]."""
    numbers: list[int] = []
    for part in re.split(r"\s*(?:[,;&]|\band\b)\s*", re.sub(_LABEL, "", inner, flags=re.IGNORECASE)):
        bounds = [int(n) for n in re.findall(r"\d+", part)]
        if len(bounds) == 2 and re.search(r"[-–]", part) and 0 <= bounds[1] - bounds[0] < _MAX_RANGE:
            numbers += range(bounds[0], bounds[1] + 1)
        else:
            numbers += bounds
    return list(dict.fromkeys(numbers))


def _may_become_marker(pending: str) -> bool:
    """Whether text that opens a bracket could still turn into a marker when more arrives."""
    inner = pending[1:]
    if len(inner) > _MAX_MARKER or not re.fullmatch(r"[\w\s,;&#–-]*", inner):
        return False
    words = [w.lower() for w in _WORDS_IN_MARKER.findall(inner)]
    return all(w in ("a", "an", "and") or any(f"{label}s".startswith(w) for label in _LABELS) for w in words)


@dataclass
class MarkerStream:
    """Normalises and renumbers citation markers in text that arrives in pieces.

    `feed` returns the text so far with every marker as `[n]` / `[n, m]`, numbered 1..n in
    order of first use (`order[i]` is the passage number the model wrote for marker i+1);
    numbers that name no passage are dropped (`invalid`) with the space before them. With
    `forms=False` only `[n]` / `[n, m]` are markers (the extractive answerer writes no other,
    and a quoted "(1)" stays text); `(n)` is a marker only when every number names a passage
    and it does not open a line (a numbered list). A bracket still open is held back until it
    closes, and trailing whitespace until what follows it is known.
    """

    passage_count: int
    forms: bool = True
    order: list[int] = field(default_factory=list)
    invalid: list[int] = field(default_factory=list)
    text: str = ""
    _pending: str = ""
    _space: str = ""

    def feed(self, delta: str) -> str:
        self._pending += delta
        self._drain(final=False)
        return self.text

    def finish(self) -> str:
        self._drain(final=True)
        return self.text

    def _drain(self, final: bool) -> None:
        while self._pending:
            opener = _OPENERS.search(self._pending)
            if opener is None:
                self._emit(self._pending)
                self._pending = ""
                return
            self._emit(self._pending[: opener.start()])
            self._pending = self._pending[opener.start() :]
            match = (_FORMS if self.forms else MARKER).match(self._pending)
            if match is not None and self._marker(match):
                self._pending = self._pending[match.end() :]
            elif match is None and not final and _may_become_marker(self._pending):
                return  # wait for the rest of the bracket
            else:
                self._emit(self._pending[0])
                self._pending = self._pending[1:]

    def _marker(self, match: re.Match[str]) -> bool:
        """Write the marker `match` renumbered (or nothing, if no number is valid); False: it is text."""
        numbers = _numbers(match.group(match.lastgroup or 1) if self.forms else match.group(1))
        if self.forms and match.lastgroup == "round":
            at_line_start = (
                not (self.text + self._space).strip(" \t") or (self.text + self._space).rstrip(" \t")[-1] == "\n"
            )
            if at_line_start or not all(1 <= n <= self.passage_count for n in numbers):
                return False
        valid = [n for n in numbers if 1 <= n <= self.passage_count]
        self.invalid += [n for n in numbers if n not in valid and n not in self.invalid]
        if not valid:
            self._space = ""  # "claim [12]." -> "claim."
            return True
        for number in valid:
            if number not in self.order:
                self.order.append(number)
        renumbered = dict.fromkeys(self.order.index(n) + 1 for n in valid)
        self.text += self._space + "[" + ", ".join(map(str, renumbered)) + "]"
        self._space = ""
        return True

    def _emit(self, text: str) -> None:
        if not text:
            return
        body = text.rstrip()
        if not body:
            self._space += text
            return
        self.text += self._space + body
        self._space = text[len(body) :]


def normalise_markers(text: str, passage_count: int, forms: bool = True) -> MarkerStream:
    """`text` through a `MarkerStream` at once (the final answer's text is `.text`)."""
    stream = MarkerStream(passage_count, forms)
    stream.feed(text)
    stream.finish()
    return stream
