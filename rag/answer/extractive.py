"""The offline answerer: question + numbered passages -> answer text with [n] citation markers.

`ExtractiveAnswerer` picks the passage sentences that best answer the question (embedding
similarity plus term overlap), quotes them with markers, and says "The articles do not say."
when none clears the support threshold. The chat-model answerer is `rag.answer.llm`; both
implement `rag.answer.model.Answerer`, and `rag.answer.finish` turns their text into an `Answer`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from rag.answer.decline import DECLINE, AnchorCheck, check_anchors
from rag.answer.prose import is_prose
from rag.answer.questions import (
    Kind,
    fits,
    has_strong_cause,
    names_in,
    new_names,
    question_anchors,
    question_kind,
    stems,
)
from rag.models.embedding import Embedder
from rag.search.hints import parse_sources
from rag.search.retrieval import Passage
from rag.text.dates import date_number
from rag.text.sentences import split_sentences
from rag.text.terms import content_terms, term_overlap

MAX_SENTENCES = 3  # the lead and up to two supporting sentences
MIN_WORDS = 6  # shorter "sentences" are mostly headlines, bylines and captions
MAX_EMBEDDED = 16  # sentences embedded per question, the best by term overlap and answer kind
NEAR_DUPLICATE = 0.9  # cosine above which a supporting sentence repeats one already chosen
OTHER_ARTICLE_BONUS = 0.05  # supporting sentences from another article are preferred
SHORT_QUESTION_EVENT_WORDS = 3  # up to this many event words, the lead must mention one
OVERLAP_TERMS = 8  # term overlap counts against at most this many question terms (long questions)
NEAR_WORDS = 3  # a name this close to a question word counts fully as a "who" answer
FAR_NAME_WEIGHT = 0.25  # a name farther away counts this much
PLACE_PREPOSITIONS = frozenset(["in", "at", "near", "from", "outside", "to"])
FAVOURED_BONUS = 0.3  # rank bonus of a sentence naming the favoured "who" answer
LEAD_BONUS = 0.3  # rank bonus of a headline or an article's first sentence for "what happened"
FIRST_REPORT_BONUS = 0.1  # ... more for the earliest article's: the event itself, not its aftermath
STRONG_CAUSE_BONUS = 0.15  # rank bonus of "because", "due to", "citing"… for "why"
VERDICT = re.compile(r"^(?:Yes|No|Neither):")  # how an answer from the articles' dates begins


# --- extractive -------------------------------------------------------------------------
@dataclass(frozen=True)
class _Sentence:
    """A quotable unit of passage `number`: a sentence (offsets into its text) or its article's headline."""

    number: int
    text: str
    start: int = -1  # -1 for a headline
    end: int = -1

    @property
    def headline(self) -> bool:
        return self.start < 0


@dataclass(frozen=True)
class _Candidate:
    sentence: _Sentence
    score: float  # support: embedding similarity and term overlap with the question
    rank: float  # score adjusted for the kind of answer wanted (orders the lead)
    fits: bool  # has the kind of answer the question wants
    vector: np.ndarray

    @property
    def number(self) -> int:
        return self.sentence.number


class ExtractiveAnswerer:
    """Leads with the passage sentence that answers the question, then up to two supporting ones.

    Only prose is quoted (rag.answer.prose drops embeds, captions, tables, calls to action). The
    lead must have the kind of answer the question wants (rag.answer.questions: a new name for
    "who", a date for "when", a number for "how many", a cause for "why"); for "what
    happened" an article's headline or lead sentence is favoured. "Did X report … before
    Y …?" is answered from the articles' dates. A question whose anchors the passages do
    not match is declined (rag.answer.decline).
    """

    name = "local extractive"

    def __init__(
        self,
        embedder: Embedder,
        min_support: float = 0.35,
        sources: Callable[[], Sequence[str]] = tuple,
        mentions: Callable[[str], bool] | None = None,
    ) -> None:
        """`sources` gives the collection's sources and `mentions` says whether it holds a name
        (both inform the decline rule, rag.answer.decline)."""
        self.embedder, self.min_support, self.sources, self.mentions = embedder, min_support, sources, mentions

    def check(self, question: str, passages: Sequence[Passage]) -> AnchorCheck:
        """Whether the passages match the question's anchors (rag.answer.decline)."""
        return check_anchors(question, passages, self.sources(), self.mentions)

    def _sentences(self, passages: Sequence[Passage], headlines: bool) -> list[_Sentence]:
        units = [
            _Sentence(number, p.text[start:end], start, end)
            for number, p in enumerate(passages, 1)
            for start, end in split_sentences(p.text)
            if len(p.text[start:end].split()) >= MIN_WORDS and is_prose(p.text[start:end], complete=True)
        ]
        if headlines:
            seen = set()
            for number, p in enumerate(passages, 1):
                if p.title and p.article_id not in seen and len(p.title.split()) >= MIN_WORDS and is_prose(p.title):
                    seen.add(p.article_id)
                    units.append(_Sentence(number, p.title))
        return units

    def select(self, question: str, passages: Sequence[Passage]) -> tuple[_Sentence | None, list[_Candidate]]:
        """The short answer (a "who" question's name, when the lead sentence lacks it in full),
        the lead sentence and up to two supporting ones; (None, []) when nothing answers."""
        kind = question_kind(question)
        units = self._sentences(passages, headlines=kind is Kind.EVENT)
        if not units:
            return None, []
        anchors = question_anchors(question)
        wanted = content_terms(question)
        overlaps = [
            len(wanted & content_terms(unit.text)) / min(len(wanted), OVERLAP_TERMS) if wanted else 0.0
            for unit in units
        ]
        favoured = (
            _favoured_name(question, passages, units, places=kind is Kind.PLACE)
            if kind in (Kind.ENTITY, Kind.PLACE)
            else ""
        )
        first_of: dict[int, int] = {}
        for unit in units:
            if not unit.headline and passages[unit.number - 1].start == 0:
                first_of[unit.number] = min(first_of.get(unit.number, unit.start), unit.start)
        leads = [u for u in units if kind is Kind.EVENT and (u.headline or first_of.get(u.number) == u.start)]
        first_report = min((date_number(passages[u.number - 1].date) for u in leads), default=0)
        prior = [
            overlap
            + (FAVOURED_BONUS if favoured and favoured in unit.text else 0.0)
            + (LEAD_BONUS if unit in leads else 0.0)
            + (
                FIRST_REPORT_BONUS
                if unit in leads and date_number(passages[unit.number - 1].date) == first_report
                else 0.0
            )
            + (STRONG_CAUSE_BONUS if kind is Kind.CAUSE and has_strong_cause(unit.text) else 0.0)
            for unit, overlap in zip(units, overlaps, strict=True)
        ]
        keep = sorted(range(len(units)), key=lambda i: prior[i], reverse=True)[:MAX_EMBEDDED]
        vectors = self.embedder.embed([question, *(units[i].text for i in keep)])
        candidates = []
        for i, vector in zip(keep, vectors[1:], strict=True):
            score = 0.6 * float(vector @ vectors[0]) + 0.4 * overlaps[i]
            fit = fits(kind, units[i].text, question) and _on_event(anchors.event, units[i].text, kind)
            rank = score + (0.1 if fit else -0.3) + prior[i] - overlaps[i]
            candidates.append(_Candidate(units[i], score, rank, fit, vector))
        answering = [c for c in candidates if c.fits and c.score >= self.min_support]
        if not answering:
            return None, []
        lead = max(answering, key=lambda c: c.rank)
        short = None
        if favoured and favoured not in lead.sentence.text:
            holders = [i for i, unit in enumerate(units) if favoured in unit.text and not unit.headline]
            titled = [n for n, p in enumerate(passages, 1) if favoured in p.title]
            if holders:
                named = units[max(holders, key=prior.__getitem__)]
                start = passages[named.number - 1].text.index(favoured, named.start)
                short = _Sentence(named.number, favoured, start, start + len(favoured))
            elif titled:
                short = _Sentence(titled[0], favoured)  # named in that article's headline
        chosen = [lead]
        floor = max(self.min_support, 0.8 * lead.score)
        articles = {passages[lead.number - 1].article_id}
        rest = sorted(
            (c for c in candidates if c is not lead and c.score >= floor and not c.sentence.headline),
            key=lambda c: c.score + (OTHER_ARTICLE_BONUS if passages[c.number - 1].article_id not in articles else 0.0),
            reverse=True,
        )
        for candidate in rest:
            if len(chosen) == MAX_SENTENCES:
                break
            if all(float(candidate.vector @ other.vector) < NEAR_DUPLICATE for other in chosen):
                chosen.append(candidate)
                articles.add(passages[candidate.number - 1].article_id)
        return short, chosen

    def compose(self, question: str, passages: Sequence[Passage]) -> str:
        check = self.check(question, passages)
        if not check.matched:
            return check.decline()
        if question_kind(question) is Kind.ORDER:
            ordered = report_order(question, passages)
            if ordered:
                return ordered
        short, chosen = self.select(question, passages)
        if not chosen:
            return check.decline() if check.covers else DECLINE
        lead = [short] if short is not None else []
        return " ".join(f"{unit.text} [{unit.number}]" for unit in [*lead, *(c.sentence for c in chosen)])

    def stream(self, question: str, passages: Sequence[Passage]) -> Iterator[str]:
        yield self.compose(question, passages)


def _on_event(event: Sequence[str], sentence: str, kind: Kind) -> bool:
    """A short question's lead must mention what it asks about (one of its event words)."""
    if not event or len(event) > SHORT_QUESTION_EVENT_WORDS or kind is Kind.EVENT:
        return True
    return bool(set(event) & stems(sentence))


def _favoured_name(question: str, passages: Sequence[Passage], units: Sequence[_Sentence], places: bool = False) -> str:
    """The likely answer to "who" / "which company": the name (not in the question, not a
    source) the passages mention most, weighted by passage rank, by the sentence's overlap
    with the question, and by how close it stands to the question's words ("Kremlin
    spokesman Dmitry Peshkov"). With `places`, only names after "in", "at", "near"… count."""
    sources = {p.source.lower() for p in passages}
    wanted = content_terms(question)
    votes: dict[str, float] = {}
    for unit in units:
        sentence = unit.text
        weight = term_overlap(question, sentence) / unit.number
        if not weight:
            continue
        words = sentence.split()
        near = [i for i, word in enumerate(words) if content_terms(word) & wanted]
        for name in set(new_names(sentence, question)):
            if len(name) <= 2 or any(name.lower() in source for source in sources):
                continue
            first = name.split()[0]
            where = [
                i
                for i, word in enumerate(words)
                if word.startswith(first) and (not places or (i and words[i - 1].lower() in PLACE_PREPOSITIONS))
            ]
            if not where:
                continue
            close = any(abs(i - j) <= NEAR_WORDS for i in where for j in near)
            votes[name] = votes.get(name, 0.0) + weight * (1.0 if close else FAR_NAME_WEIGHT)
    if not votes:
        return ""
    best = max(votes, key=votes.__getitem__)
    forms: dict[str, int] = {}  # "Bankman-Fried" -> "Sam Bankman-Fried", "Alameda" -> "Alameda Research"
    for text in [*(unit.text for unit in units), *(p.title for p in passages)]:
        for name in names_in(text):
            if name != best and _is_full_form(name, best):
                forms[name] = forms.get(name, 0) + 1
    return max(forms, key=forms.__getitem__) if forms else best


def _is_full_form(name: str, short: str) -> bool:
    """'Sam Bankman-Fried' is a full form of 'Bankman-Fried'; 'CEO of Alameda' is not one of 'Alameda'."""
    words = name.split()
    return (name.startswith(short + " ") or name.endswith(" " + short)) and all(w[:1].isupper() for w in words)


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
