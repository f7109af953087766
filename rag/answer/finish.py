"""Finishing an answer: the answerer's final text -> an `Answer` with checked markers,
renumbered citations and verified claims (shared by both answerers)."""

from __future__ import annotations

from collections.abc import Sequence

from rag.answer.citations import drop_markers, merge_spans, normalise_markers, parse_markers
from rag.answer.claims import Claim, verify
from rag.answer.model import Answer, Citation
from rag.answer.refusal import is_refusal
from rag.models.embedding import Embedder
from rag.search.retrieval import Passage
from rag.text.sentences import word_span


def finish_answer(
    text: str, passages: Sequence[Passage], answerer: str, embedder: Embedder | None = None, forms: bool = False
) -> Answer:
    """Normalise markers (`forms`: also the other forms a chat model writes, rag.answer.citations) and
    renumber them 1..n in order of first use (passages reordered to match: cited first, then the
    uncited ones), drop those naming no passage, verify every claim against its cited passages
    (rag.answer.claims; `embedder` adds embedding similarity to the support score), and attach
    every supporting span to its citation. A reply whose lead declines is a decline (markers removed)."""
    notices: list[str] = []
    markers = normalise_markers(text, len(passages), forms)
    text, invalid = markers.text, tuple(markers.invalid)
    if invalid:
        notices.append(f"Removed citation markers that name no retrieved passage: {', '.join(map(str, invalid))}.")
    cited = markers.order
    passages = [passages[n - 1] for n in cited + [n for n in range(1, len(passages) + 1) if n not in cited]]
    if is_refusal(text):
        declined = drop_markers(text, set(parse_markers(text))).strip()
        return Answer(declined, [], passages, answerer, True, notices, invalid)
    checked = verify(text, passages, embedder)
    citations = _citations(checked, passages, len(cited))
    return Answer(text.strip(), citations, passages, answerer, False, notices, invalid, checked)


def _citations(checked: Sequence[Claim], passages: Sequence[Passage], count: int) -> list[Citation]:
    """One citation per cited passage (numbers 1..count), with every span supporting a claim."""
    spans: dict[int, list[tuple[int, int]]] = {}
    for claim in checked:
        for support in claim.support:
            whole = word_span(passages[support.number - 1].text, support.start, support.end)
            spans.setdefault(support.number, []).append(whole)
    citations = []
    for number in range(1, count + 1):
        found = spans.get(number) or [(0, len(passages[number - 1].text))]
        citations.append(Citation(number, passages[number - 1], *found[0], spans=merge_spans(found)))
    return citations
