"""Answering: question + numbered passages -> answer text with [n] citation markers.

Two answerers share one interface (`Answerer.stream` yields text as it is produced):

* `ExtractiveAnswerer` (default, offline): picks the passage sentences that best answer
  the question (embedding similarity plus term overlap), quotes them with markers, and
  says "The articles do not say." when none clears the support threshold.
* `rag.llm.LLMAnswerer`: any llama-index chat model, told to answer only from the
  passages, cite them, and decline otherwise (in its own module, imported only when a
  chat model is configured).

`is_refusal` recognises a declining answer; `answer_json` is the JSON form of an `Answer`
(CLI `--json` and the web API). `finish_answer` turns the final text into an `Answer`: markers checked against the
passages given (invalid ones dropped and reported), each cited passage paired with the
sentence that supports the claim citing it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from rag.chunking import split_sentences
from rag.citations import claims, drop_markers, invalid_markers, parse_markers, supporting_span, term_overlap
from rag.embedding import Embedder
from rag.retrieval import Passage

DECLINE = "The articles do not say."


# --- refusals ------------------------------------------------------------------------

_NOT = r"(?:do(?:es)?\s+not|do(?:es)?n['’]t|cannot|can['’]t|can\s+not)"

REFUSAL_PATTERNS: tuple[re.Pattern[str], ...] = tuple(
    re.compile(pattern, re.IGNORECASE)
    for pattern in (
        # "The articles do not say", "The provided articles don't contain", "the passages do not mention"
        rf"\b(?:articles?|passages?|sources?|context|documents?|texts?)\s+{_NOT}\s+"
        r"(?:say|state|mention|contain|provide|include|specify|cover|answer|address|tell)\b",
        rf"\bI\s+{_NOT}\s+know\b",
        r"\b(?:insufficient|not\s+enough)\s+(?:information|evidence|context)\b",
        r"\b(?:cannot|can['’]t|can\s+not)\s+be\s+answered\b",
    )
)


def is_refusal(text: str) -> bool:
    """True when the text declines to answer ("The articles do not say ...", "I don't know", ...)."""
    return any(pattern.search(text) for pattern in REFUSAL_PATTERNS)


MAX_SENTENCES = 3
MIN_WORDS = 6  # shorter "sentences" are mostly headlines, bylines and captions


@dataclass(frozen=True)
class Citation:
    """A cited passage and the span of it (offsets into passage.text) that best supports the claims citing it.

    `spans` holds every supporting span in the passage (one per claim citing it, in text
    order); empty means just (quote_start, quote_end).
    """

    number: int
    passage: Passage
    quote_start: int
    quote_end: int
    spans: tuple[tuple[int, int], ...] = ()

    @property
    def quote(self) -> str:
        return self.passage.text[self.quote_start : self.quote_end]

    @property
    def highlights(self) -> tuple[tuple[int, int], ...]:
        """Every span to highlight in the passage, in text order, without overlaps."""
        return self.spans or ((self.quote_start, self.quote_end),)


@dataclass(frozen=True)
class Support:
    """Where a claim is supported: passage `number` (as cited in the answer), offsets into its text."""

    number: int
    start: int
    end: int


@dataclass(frozen=True)
class Claim:
    """One claim (sentence) of an answer, its markers, and whether its cited passages support it.

    `supported` is False when a cited passage lacks the claim's numbers or names, or its
    support score is below the threshold; a claim with no markers is uncited (never supported).
    """

    text: str
    markers: tuple[int, ...]
    supported: bool
    score: float
    support: tuple[Support, ...] = ()


@dataclass(frozen=True)
class Answer:
    text: str
    citations: list[Citation]
    passages: list[Passage]
    answerer: str
    declined: bool
    notices: list[str] = field(default_factory=list)
    dropped_markers: tuple[int, ...] = ()  # markers that named no given passage, removed from text
    claims: list[Claim] = field(default_factory=list)  # filled by claim verification (rag.claims)


def answer_json(answer: Answer, searched: str) -> dict[str, Any]:
    return {
        "answer": answer.text,
        "searched": searched,
        "declined": answer.declined,
        "answerer": answer.answerer,
        "notices": answer.notices,
        "citations": [
            {
                "number": c.number,
                "quote": c.quote,
                "title": c.passage.title,
                "date": c.passage.date,
                "source": c.passage.source,
                "url": c.passage.url,
                "article_id": c.passage.article_id,
                "passage": c.passage.text,
                "score": round(c.passage.similarity, 4),
            }
            for c in answer.citations
        ],
    }


class Answerer(Protocol):
    name: str

    def stream(self, question: str, passages: Sequence[Passage]) -> Iterator[str]: ...


# --- extractive -------------------------------------------------------------------------
@dataclass(frozen=True)
class _Candidate:
    number: int
    start: int
    end: int
    score: float
    vector: np.ndarray


class ExtractiveAnswerer:
    """Composes an answer from the best-supported sentences of the passages."""

    name = "local extractive"

    def __init__(self, embedder: Embedder, min_support: float = 0.35) -> None:
        self.embedder, self.min_support = embedder, min_support

    def select(self, question: str, passages: Sequence[Passage]) -> list[_Candidate]:
        """Up to MAX_SENTENCES supporting sentences, best first, near-duplicates dropped."""
        spans = [
            (number, start, end)
            for number, p in enumerate(passages, 1)
            for start, end in split_sentences(p.text)
            if len(p.text[start:end].split()) >= MIN_WORDS
        ]
        if not spans:
            return []
        texts = [passages[number - 1].text[start:end] for number, start, end in spans]
        vectors = self.embedder.embed([question, *texts])
        similarities = vectors[1:] @ vectors[0]
        candidates = sorted(
            (
                _Candidate(number, start, end, 0.6 * float(sim) + 0.4 * term_overlap(question, text), vector)
                for (number, start, end), text, sim, vector in zip(
                    spans, texts, similarities, vectors[1:], strict=False
                )
            ),
            key=lambda c: c.score,
            reverse=True,
        )
        if not candidates or candidates[0].score < self.min_support:
            return []
        floor = max(self.min_support, 0.8 * candidates[0].score)
        chosen: list[_Candidate] = []
        for candidate in candidates:
            if len(chosen) == MAX_SENTENCES or candidate.score < floor:
                break
            if all(float(candidate.vector @ other.vector) < 0.9 for other in chosen):
                chosen.append(candidate)
        return chosen

    def compose(self, question: str, passages: Sequence[Passage]) -> str:
        chosen = self.select(question, passages)
        if not chosen:
            return DECLINE
        return " ".join(f"{passages[c.number - 1].text[c.start : c.end]} [{c.number}]" for c in chosen)

    def stream(self, question: str, passages: Sequence[Passage]) -> Iterator[str]:
        yield self.compose(question, passages)


# --- final answer -------------------------------------------------------------------------------
def finish_answer(text: str, passages: Sequence[Passage], answerer: str) -> Answer:
    """Validate markers and attach the supporting span of every cited passage."""
    notices: list[str] = []
    invalid = invalid_markers(text, len(passages))
    if invalid:
        text = drop_markers(text, set(invalid))
        notices.append(f"Removed citation markers that name no retrieved passage: {', '.join(map(str, invalid))}.")
    declined = is_refusal(text) and not parse_markers(text)
    citations = [] if declined else _support_spans(text, passages)
    return Answer(text.strip(), citations, list(passages), answerer, declined, notices, tuple(invalid))


def _support_spans(text: str, passages: Sequence[Passage]) -> list[Citation]:
    claims_by_number: dict[int, list[str]] = {}
    for claim, numbers in claims(text):
        for number in numbers:
            claims_by_number.setdefault(number, []).append(claim)
    citations = []
    for number in parse_markers(text):
        passage = passages[number - 1]
        start, end = supporting_span(claims_by_number.get(number, []), passage.text)
        citations.append(Citation(number, passage, start, end))
    return citations
