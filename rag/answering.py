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
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from rag.anchors import DECLINE as DECLINE  # re-exported: the decline text both answerers use
from rag.anchors import AnchorCheck, check_anchors
from rag.chunking import split_sentences
from rag.citations import (
    content_terms,
    drop_markers,
    invalid_markers,
    merge_spans,
    parse_markers,
    renumber,
    term_overlap,
)
from rag.claims import Claim as Claim  # re-exported: the answer's data model
from rag.claims import Support as Support
from rag.claims import verify
from rag.dates import date_number
from rag.embedding import Embedder
from rag.prose import is_prose
from rag.query import parse_sources
from rag.questions import Kind, fits, has_strong_cause, names_in, new_names, question_anchors, question_kind, stems
from rag.retrieval import Passage

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
        "claims": [
            {
                "text": claim.text,
                "markers": list(claim.markers),
                "supported": claim.supported,
                "score": claim.score,
                "support": [{"number": s.number, "start": s.start, "end": s.end} for s in claim.support],
            }
            for claim in answer.claims
        ],
    }


class Answerer(Protocol):
    name: str

    def stream(self, question: str, passages: Sequence[Passage]) -> Iterator[str]: ...


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

    Only prose is quoted (rag.prose drops embeds, captions, tables, calls to action). The
    lead must have the kind of answer the question wants (rag.questions: a new name for
    "who", a date for "when", a number for "how many", a cause for "why"); for "what
    happened" an article's headline or lead sentence is favoured. "Did X report … before
    Y …?" is answered from the articles' dates. A question whose anchors the passages do
    not match is declined (rag.anchors).
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
        (both inform the decline rule, rag.anchors)."""
        self.embedder, self.min_support, self.sources, self.mentions = embedder, min_support, sources, mentions

    def check(self, question: str, passages: Sequence[Passage]) -> AnchorCheck:
        """Whether the passages match the question's anchors (rag.anchors)."""
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


# --- final answer -------------------------------------------------------------------------------
def finish_answer(text: str, passages: Sequence[Passage], answerer: str, embedder: Embedder | None = None) -> Answer:
    """Validate markers, renumber them 1..n in order of first use (passages reordered to
    match: cited first, then the uncited ones), verify every claim against its cited
    passages (rag.claims; `embedder` adds embedding similarity to the support score), and
    attach every supporting span to its citation."""
    notices: list[str] = []
    invalid = invalid_markers(text, len(passages))
    if invalid:
        text = drop_markers(text, set(invalid))
        notices.append(f"Removed citation markers that name no retrieved passage: {', '.join(map(str, invalid))}.")
    declined = is_refusal(text) and not parse_markers(text)
    cited = parse_markers(text)
    order = cited + [n for n in range(1, len(passages) + 1) if n not in cited]
    text = renumber(text, {old: new for new, old in enumerate(cited, 1)})
    passages = [passages[n - 1] for n in order]
    if declined:
        return Answer(text.strip(), [], passages, answerer, declined, notices, tuple(invalid))
    checked = verify(text, passages, embedder)
    citations = _citations(checked, passages, len(cited))
    return Answer(text.strip(), citations, passages, answerer, declined, notices, tuple(invalid), checked)


def _citations(checked: Sequence[Claim], passages: Sequence[Passage], count: int) -> list[Citation]:
    """One citation per cited passage (numbers 1..count), with every span supporting a claim."""
    spans: dict[int, list[tuple[int, int]]] = {}
    for claim in checked:
        for support in claim.support:
            spans.setdefault(support.number, []).append((support.start, support.end))
    citations = []
    for number in range(1, count + 1):
        found = spans.get(number) or [(0, len(passages[number - 1].text))]
        citations.append(Citation(number, passages[number - 1], *found[0], spans=merge_spans(found)))
    return citations
