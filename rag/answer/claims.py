"""Claim verification: every sentence of an answer checked against the passages it cites.

An answer is split into claims (rag.answer.citations.claims). For each cited passage the claim's
best supporting sentence is found (a verbatim quote is its own support); the support score
is embedding similarity (when an embedder is given) plus agreement of content words, or the
agreement with the article's title, source and date for a claim about the articles
themselves ("TechCrunch published on 2023-11-17"). A
claim is unsupported when a number or a name it states is absent from every passage it
cites (text, title, source and date), when its score is below `MIN_CLAIM_SCORE`, when its
best supporting sentence says the opposite or names another speaker (rag.answer.polarity),
or when it cites nothing; `Claim.reason` says which.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rag.answer.citations import claims as split_claims
from rag.answer.polarity import contradiction, misattribution
from rag.answer.prose import is_prose
from rag.answer.questions import names_in
from rag.models.embedding import Embedder
from rag.search.retrieval import Passage
from rag.text.dates import MONTHS
from rag.text.sentences import split_sentences
from rag.text.terms import term_overlap

MIN_CLAIM_SCORE = 0.4
QUOTED_CHARS = 100  # a contradicting sentence is quoted in the reason up to this length
_NUMBER = re.compile(r"\d[\d,.]*\d|\d")


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
    reason: str = ""  # why it is not supported ("" when it is)
    verdict: str = ""  # the chat model's verdict with RAG_VERIFY=model ("supported", "contradicted: why", …)


def _date_words(date: str) -> str:
    """'2023-11-17' -> '2023-11-17 2023 November 17' so that a claim's "November 17, 2023" matches."""
    parts = [part for part in date.split("-") if part.isdigit()]
    words = [date, *parts[:1]]
    if len(parts) >= 2 and 1 <= int(parts[1]) <= 12:
        words.append(MONTHS[int(parts[1]) - 1][0])
    if len(parts) >= 3:
        words.append(str(int(parts[2])))
    return " ".join(words)


def _about(passage: Passage) -> str:
    """What is known about the passage's article: title, source, date (in words too)."""
    return f"{passage.title}\n{passage.source}\n{_date_words(passage.date)}"


def _numbers(text: str) -> set[str]:
    return {number.rstrip(".,").replace(",", "") for number in _NUMBER.findall(text)}


def missing_facts(claim: str, context: str) -> list[str]:
    """Numbers and names of `claim` that `context` does not contain."""
    missing = sorted(_numbers(claim) - _numbers(context))
    lowered = context.lower()
    for name in names_in(claim):
        bare = re.sub(r"[’']s$", "", name)
        words = [word for word in re.findall(r"[^\W_]+", bare.lower()) if len(word) > 1]
        if words and not all(word in lowered for word in words):
            missing.append(name)
    return missing


class _Sentences:
    """A passage's sentences and (lazily) their vectors, shared by the claims citing it."""

    def __init__(self, passage: str, embedder: Embedder | None) -> None:
        self.passage, self.embedder = passage, embedder
        spans = split_sentences(passage) or [(0, len(passage))]
        # Support is shown to the reader: never a call to action, an embed or a caption when prose exists.
        self.spans = [(start, end) for start, end in spans if is_prose(passage[start:end])] or spans
        self._vectors: np.ndarray | None = None

    def vectors(self) -> np.ndarray | None:
        if self.embedder is not None and self._vectors is None:
            self._vectors = self.embedder.embed([self.passage[start:end] for start, end in self.spans])
        return self._vectors

    def best(self, claim: str, claim_vector: np.ndarray | None) -> tuple[int, int, float]:
        """The span best supporting `claim` and its score (1.0 for a verbatim quote)."""
        found = self.passage.find(claim)
        if claim and found >= 0:
            return found, found + len(claim), 1.0
        scores = [term_overlap(claim, self.passage[start:end]) for start, end in self.spans]
        vectors = self.vectors() if claim_vector is not None else None
        if vectors is not None and claim_vector is not None:
            scores = [0.5 * float(v @ claim_vector) + 0.5 * score for v, score in zip(vectors, scores, strict=True)]
        best = max(range(len(self.spans)), key=scores.__getitem__)
        return self.spans[best][0], self.spans[best][1], scores[best]


def verify(text: str, passages: Sequence[Passage], embedder: Embedder | None = None) -> list[Claim]:
    """Check every claim of `text` against the passages its markers name (1-based; invalid ones ignored).

    Verbatim quotes need no embedding; other claims are embedded, with the sentences of
    the passages they cite, only when an embedder is given."""
    split = [(claim, [n for n in numbers if 1 <= n <= len(passages)]) for claim, numbers in split_claims(text)]
    paraphrased = [claim for claim, numbers in split if any(claim not in passages[n - 1].text for n in numbers)]
    vectors = dict(zip(paraphrased, embedder.embed(paraphrased), strict=True)) if embedder and paraphrased else {}
    sentences: dict[int, _Sentences] = {}
    checked = []
    for claim, numbers in split:
        if not numbers:
            checked.append(Claim(claim, (), False, 0.0, reason="cites no passage"))
            continue
        support, scores = [], []
        for number in numbers:
            passage = sentences.setdefault(number, _Sentences(passages[number - 1].text, embedder))
            start, end, score = passage.best(claim, vectors.get(claim))
            support.append(Support(number, start, end))
            scores.append(score)
        best = max(range(len(numbers)), key=scores.__getitem__)
        about = "\n".join(_about(passages[n - 1]) for n in numbers)
        best_score = max(scores[best], term_overlap(claim, about))  # a claim about the articles themselves
        context = about + "\n" + "\n".join(passages[n - 1].text for n in numbers)
        reason = _reason(claim, numbers, context, best_score, support[best], passages, scores[best])
        checked.append(Claim(claim, tuple(numbers), not reason, round(best_score, 4), tuple(support), reason))
    return checked


def _reason(
    claim: str,
    numbers: list[int],
    context: str,
    score: float,
    best: Support,
    passages: Sequence[Passage],
    quoted: float,
) -> str:
    """Why the claim is not supported by its cited passages ('' when it is)."""
    cited = " ".join(f"[{n}]" for n in numbers)
    missing = missing_facts(claim, context)
    if missing:
        return f"{', '.join(missing)} not found in {cited}"
    if score < MIN_CLAIM_SCORE:
        return f"too little of it is in {cited} (score {score:.2f})"
    if quoted >= 1.0:  # a verbatim quote is its own support
        return ""
    sentence = " ".join(passages[best.number - 1].text[best.start : best.end].split())
    if conflict := misattribution(claim, sentence):
        return f"[{best.number}] {conflict}"
    if conflict := contradiction(claim, sentence):
        shown = sentence if len(sentence) <= QUOTED_CHARS else sentence[: QUOTED_CHARS - 1].rsplit(" ", 1)[0] + " …"
        return f"[{best.number}] {conflict}: “{shown}”"
    return ""
