"""The offline answerer: question + numbered passages -> a lead sentence that answers it, then
supporting quotes, each with its [n] citation marker; or a decline.

The candidates are the passages' sentences and headlines (rag.answer.features); a trained
linear ranker orders them, a fine-tuned cross-encoder re-reads its best (rag.answer.cross_encoder),
a trained reranker combines the two, and its calibrated decline model gives the probability that the
best one answers the question (rag.answer.ranker, weights from bench/train_ranker.py). Below the
threshold the answer is "The articles do not say." and what the closest articles are about.
"Did X report … before Y …?" is answered from the articles' dates. The chat-model answerer is
rag.answer.llm; both implement rag.answer.model.Answerer and rag.answer.finish turns their
text into an Answer.

The answer text: the lead on its own line, then each supporting quote on a line of its own
starting with "- " (the CLI prints it as it is; the web shows the lead emphasised and the
quotes as a list).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from rag.answer.cross_encoder import RERANK, CrossEncoder, pair_text
from rag.answer.features import (
    QUESTION_FEATURES,
    RANK_FEATURES,
    RERANK_FEATURES,
    Candidate,
    Frequencies,
    Question,
    candidate_features,
    candidates,
    no_frequencies,
    question_features,
    rank_rows,
    reread,
)
from rag.answer.ranker import RankerModel
from rag.answer.refusal import DECLINE
from rag.models.embedding import Embedder
from rag.search.hints import parse_sources
from rag.search.retrieval import Passage
from rag.text.dates import date_number
from rag.text.questions import Kind, question_kind
from rag.text.terms import content_terms, term_overlap

MAX_SUPPORT = 2  # supporting quotes after the lead
# a supporting quote is at most this far below the lead (a pairwise logit difference of the reranker: 2.5 = 8% odds
# of being better; 3 admitted calls to action like "We want to hear from you." on the demo test set, a dev set)
SUPPORT_MARGIN = 2.5
NEAR_DUPLICATE = 0.8  # share of shared terms above which a supporting sentence repeats one already chosen
VERDICT = re.compile(r"^(?:Yes|No|Neither):")  # how an answer from the articles' dates begins


@dataclass(frozen=True)
class Assessment:
    """The ranked candidates of one question and the probability that the first answers it."""

    ranked: list[Candidate]
    logits: np.ndarray  # the ranker's logit per ranked candidate (descending)
    probability: float  # calibrated probability that ranked[0] answers the question
    relevance: float  # calibrated probability that the passages answer it at all
    small: bool = False  # the collection is too small for the relevance model's calibration


class ExtractiveAnswerer:
    """Leads with the candidate the trained rankers put first, then up to two supporting quotes;
    declines when the calibrated probability that the lead answers is below the threshold."""

    name = "local extractive"

    def __init__(
        self,
        embedder: Embedder,
        model: RankerModel | None = None,
        frequencies: Frequencies = no_frequencies,
        threshold: float | None = None,
        sources: Callable[[], Sequence[str]] = tuple,
        cross_encoder: CrossEncoder | None = None,
    ) -> None:
        """`frequencies` says how many chunks of the collection hold a word and `sources` lists the
        collection's sources (both from the keyword index); `threshold` overrides the shipped one.
        The `embedder` checks the claims of the finished answer (rag.answer.finish)."""
        self.embedder, self.frequencies, self.sources = embedder, frequencies, sources
        self._model, self._threshold = model, threshold
        self.cross_encoder = cross_encoder or CrossEncoder()

    @functools.cached_property
    def model(self) -> RankerModel:
        """The ranker's weights (the shipped ones unless given), read on first use."""
        return self._model or RankerModel.load()

    def declines(self, assessment: Assessment) -> bool:
        """Below the trained thresholds (the lead's probability, the passages' relevance), or below
        the threshold given instead (RAG_ANSWER_THRESHOLD, on the lead's probability alone)."""
        if self._threshold is not None:
            return assessment.probability < self._threshold
        model = self.model
        if assessment.small:
            return assessment.probability < model.small_threshold
        return assessment.probability < model.answer_threshold or assessment.relevance < model.relevance_threshold

    def assess(self, question: str, passages: Sequence[Passage]) -> Assessment:
        """Rank the candidate sentences (the linear ranker, then the cross-encoder re-reading its RERANK
        best) and estimate how likely the best one answers."""
        asked = Question.read(question, self.frequencies, self.sources())
        found = candidates(passages)
        rows = candidate_features(asked, passages, found)
        model = self.model
        linear = model.rank.logits(model.rank.select(rank_rows(asked, rows), RANK_FEATURES)) if found else np.zeros(0)
        texts = [pair_text(c.text, passages[c.number - 1].title) for c in found]
        cross = reread(linear, lambda best: self.cross_encoder.scores(question, [texts[i] for i in best]), RERANK)
        logits = model.rerank.logits(model.rerank.select(np.column_stack([linear, cross]), RERANK_FEATURES))
        summary = question_features(asked, passages, rows, logits, cross)
        probability = float(model.decline.probabilities(model.decline.select(summary, QUESTION_FEATURES))[0])
        relevance = float(model.relevance.probabilities(model.relevance.select(summary, QUESTION_FEATURES))[0])
        order = np.argsort(-logits, kind="stable")
        return Assessment([found[i] for i in order], logits[order], probability, relevance, asked.trust < 1.0)

    def compose(self, question: str, passages: Sequence[Passage]) -> str:
        if not passages:
            return DECLINE
        if question_kind(question) is Kind.ORDER:
            ordered = report_order(question, passages)
            if ordered:
                return ordered
        assessment = self.assess(question, passages)
        if not assessment.ranked or self.declines(assessment):
            return closest(passages)
        chosen = supporting(assessment, passages)
        lead, rest = chosen[0], chosen[1:]
        lines = [f"{lead.text} [{lead.number}]", *(f"- {c.text} [{c.number}]" for c in rest)]
        return lines[0] + ("\n\n" + "\n".join(lines[1:]) if rest else "")

    def stream(self, question: str, passages: Sequence[Passage]) -> Iterator[str]:
        yield self.compose(question, passages)


def supporting(assessment: Assessment, passages: Sequence[Passage]) -> list[Candidate]:
    """The lead and up to MAX_SUPPORT quotes ranked close to it, other articles first, no repeats."""
    ranked, logits = assessment.ranked, assessment.logits
    terms = [content_terms(candidate.text) for candidate in ranked]
    chosen = [0]
    articles = {passages[ranked[0].number - 1].article_id}
    close = [i for i in range(1, len(ranked)) if logits[i] >= logits[0] - SUPPORT_MARGIN and not ranked[i].headline]
    close.sort(key=lambda i: (passages[ranked[i].number - 1].article_id in articles, -logits[i]))
    for i in close:
        if len(chosen) > MAX_SUPPORT:
            break
        if all(_shared(terms[i], terms[j]) < NEAR_DUPLICATE for j in chosen):
            chosen.append(i)
            articles.add(passages[ranked[i].number - 1].article_id)
    return [ranked[i] for i in chosen]


def _shared(a: set[str], b: set[str]) -> float:
    return len(a & b) / min(len(a), len(b)) if a and b else 0.0


def closest(passages: Sequence[Passage]) -> str:
    """The decline, with what the closest articles are about (their headlines)."""
    titles = list(dict.fromkeys(p.title.strip() for p in passages if p.title.strip()))[:2]
    if not titles:
        return DECLINE
    about = " and ".join(f"“{title}”" for title in titles)
    return f"{DECLINE} The closest articles are {about}."


def report_order(question: str, passages: Sequence[Passage]) -> str:
    """ "Did X report … before Y reported …?" answered from the dates of the two reports; "" when
    the question does not name two sources among the passages'."""
    named = parse_sources(question, {p.source for p in passages if p.source})
    if len(named) < 2:
        return ""
    first, second = named[0], named[1]
    cut = question.find(second.split()[0]) if second.split()[0] in question else len(question) // 2
    clauses = (question[:cut], question[cut:])
    picks = []
    for source, clause in zip((first, second), clauses, strict=True):
        own = [(n, p) for n, p in enumerate(passages, 1) if p.source == source and p.date]
        if not own:
            return ""
        picks.append(max(own, key=lambda pair: term_overlap(clause, pair[1].text)))
    (n1, p1), (n2, p2) = picks
    if p1.date == p2.date:
        return f"Neither: {first} and {second} both published on {p1.date} [{n1}][{n2}]."
    earlier = date_number(p1.date) < date_number(p2.date)
    wants_before = re.search(r"\b(?:before|earlier|prior|first)\b", question, re.IGNORECASE) is not None
    verdict = "Yes" if earlier == wants_before else "No"
    return f"{verdict}: {first} published on {p1.date} [{n1}], {second} on {p2.date} [{n2}]."
