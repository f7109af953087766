"""The answer's data model: `Answer`, its `Citation`s and claims, their JSON form, and the
`Answerer` interface both answerers implement (`stream` yields text as it is produced)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from rag.answer.claims import Claim as Claim  # re-exported: the answer's data model
from rag.answer.claims import Support as Support
from rag.answer.usage import Usage
from rag.search.retrieval import Passage


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
class Answer:
    text: str
    citations: list[Citation]
    passages: list[Passage]
    answerer: str
    declined: bool
    notices: list[str] = field(default_factory=list)
    dropped_markers: tuple[int, ...] = ()  # markers that named no given passage, removed from text
    claims: list[Claim] = field(default_factory=list)  # filled by claim verification (rag.answer.claims)
    fallback: bool = False  # a chat model was configured but failed: the local extractive answer stands in
    usage: Usage | None = None  # the chat model's tokens and estimated cost for this turn (None: not called)


def answer_json(answer: Answer, searched: str) -> dict[str, Any]:
    return {
        "answer": answer.text,
        "searched": searched,
        "declined": answer.declined,
        "answerer": answer.answerer,
        "fallback": answer.fallback,
        "notices": answer.notices,
        "usage": answer.usage.as_json() if answer.usage else None,
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
        "claims": [
            {
                "text": claim.text,
                "markers": list(claim.markers),
                "supported": claim.supported,
                "score": claim.score,
                "reason": claim.reason,
                "verdict": claim.verdict,
                "support": [{"number": s.number, "start": s.start, "end": s.end} for s in claim.support],
            }
            for claim in answer.claims
        ],
    }


class Answerer(Protocol):
    name: str

    def stream(self, question: str, passages: Sequence[Passage]) -> Iterator[str]: ...
