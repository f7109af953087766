"""Answer candidates and their features: the sentences of the retrieved passages (and their
articles' headlines) that could lead an answer, each described by the numbers the trained
ranker weighs (rag.answer.ranker), and the question-level numbers its calibrated decline uses.

Every feature is general: the MiniLM similarity of the question to the candidate's passage (from
retrieval), IDF-weighted coverage of the question's terms (IDF from the collection's own keyword
index), whether the sentence holds the kind of thing the question asks for and does not already
contain (rag.text.mentions), and where it stands (passage rank, position in the article,
headline). What makes a sentence answer differs with the kind of question (who, when, why…) and
with a long compound question (several facts asked together, e.g. "Which company, reported by A
and B, …"), so the ranker reads each feature also as it is for the question's kind and length
(`rank_rows`). Nothing here names a question's words; the weights are learnt from data by
bench/train_ranker.py.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from rag.answer.prose import is_prose
from rag.search.hints import without_sources
from rag.search.retrieval import Passage
from rag.text import mentions
from rag.text.dates import date_number
from rag.text.questions import Kind, question_kind
from rag.text.sentences import split_sentences
from rag.text.terms import STOPWORDS, content_terms, stem, weighted_coverage, words

MIN_WORDS = 5  # shorter "sentences" are mostly bylines, captions and crumbs
FULL_IDF = 2000  # chunks from which a collection's word frequencies are trusted fully
LONG_QUESTION = 20  # a question of more words is long (compound)
Frequencies = Callable[[str], tuple[int, int]]
"""A lower-cased word -> (chunks of the collection holding it, chunks in all); from the keyword index."""


def no_frequencies(word: str) -> tuple[int, int]:
    """For a collection without a keyword index: every word equally informative."""
    return (0, 0)


CANDIDATE_FEATURES = (
    "passage_similarity",  # cosine of question and the whole passage (from retrieval)
    "coverage",  # IDF-weighted share of the question's terms in the sentence
    "context_coverage",  # ... in the sentence with its headline
    "passage_coverage",  # ... in the passage with its headline
    "new_terms",  # share of the sentence's terms the question does not have
    "length",  # log of the sentence's words
    "inverse_rank",  # 1 / the passage's retrieval rank
    "article_lead",  # the article's first sentence
    "position",  # log of the sentence's distance from the article's start
    "headline",
    "quote",  # holds a quotation
    "fit_entity",  # asks who/which and the sentence names someone the question does not
    "fit_date",  # asks when and the sentence holds a date
    "fit_number",  # asks how many/much and the sentence holds a number the question does not
    "fit_place",  # asks where and the sentence names a place the question does not
    "fit_cause",  # asks why and the sentence states a cause
    "event_lead",  # asks what happened and this is a headline or an article's first sentence
    "year_found",  # the question names a year and the sentence or its article's date has it
    "year_missing",  # the question names a year and neither has it
)
_CONTEXTS = (*(kind.name.lower() for kind in Kind), "long")
RANK_FEATURES = CANDIDATE_FEATURES + tuple(f"{name}|{c}" for c in _CONTEXTS for name in CANDIDATE_FEATURES)
"""What the ranker reads: each candidate feature, then again for each question kind (zero unless the
question is of that kind) and for a long question (zero unless it is long)."""


@dataclass(frozen=True)
class Candidate:
    """A sentence of passage `number` (1-based, retrieval order): offsets into its text, or -1 for
    its article's headline."""

    number: int
    text: str
    start: int = -1
    end: int = -1
    article_lead: bool = False

    @property
    def headline(self) -> bool:
        return self.start < 0


@dataclass(frozen=True)
class Question:
    """What the features need to know about a question."""

    text: str
    kind: Kind
    terms: dict[str, float]  # stem -> IDF weight in the collection
    unknown: frozenset[str]  # stems of the words the collection never uses
    years: tuple[str, ...]
    names: tuple[str, ...] = ()  # capitalised names (not the collection's sources)
    trust: float = 1.0  # how far the collection's word frequencies are trusted (1: FULL_IDF chunks or more)

    @property
    def long(self) -> bool:
        return len(self.text.split()) > LONG_QUESTION

    @classmethod
    def read(cls, question: str, frequencies: Frequencies = no_frequencies, sources: Sequence[str] = ()) -> Question:
        """The question's terms, weighted by the collection's `frequencies`; the names of the collection's
        `sources` it mentions say where to look, not what to find, and are left out."""
        content = without_sources(question, sources)
        terms: dict[str, float] = {}
        unknown: set[str] = set()
        size = 0  # chunks in the collection (0 without a keyword index)
        for word in words(content):
            if word in STOPWORDS or word.isdigit() or stem(word) in terms:
                continue
            holding, total = frequencies(word)
            size = max(size, total)
            terms[stem(word)] = _weight(holding, total)
            if total and not holding:
                unknown.add(stem(word))
        kind = question_kind(question)
        named = tuple(dict.fromkeys(mentions.question_names(content)))
        years = tuple(dict.fromkeys(mentions.years(question)))
        return cls(question, kind, terms, frozenset(unknown), years, named, _trust(size))


def _weight(holding: int, total: int) -> float:
    """A term's IDF in a collection of `total` chunks, `holding` of which have it. A small collection
    says little about which words are rare (in the one demo article "begin" is rarer than "talks"), so
    below FULL_IDF chunks the weight is drawn towards 1, all the way for an empty collection."""
    if not total:
        return 1.0
    idf = math.log(1 + (total - holding + 0.5) / (holding + 0.5))
    return 1.0 + _trust(total) * (idf - 1.0)


def _trust(total: int) -> float:
    return min(1.0, total / FULL_IDF)


def candidates(passages: Sequence[Passage]) -> list[Candidate]:
    """The quotable sentences of the passages (prose of at least MIN_WORDS words) and the articles'
    headlines, each text once (overlapping chunks repeat sentences; re-published stories repeat
    headlines), at its best-ranked passage."""
    found: list[Candidate] = []
    seen: set[str] = set()

    def add(candidate: Candidate) -> None:
        key = " ".join(candidate.text.lower().split())
        if key not in seen:
            seen.add(key)
            found.append(candidate)

    for number, passage in enumerate(passages, 1):
        for index, (start, end) in enumerate(split_sentences(passage.text)):
            sentence = passage.text[start:end]
            if len(sentence.split()) >= MIN_WORDS and is_prose(sentence, complete=True):
                add(Candidate(number, sentence, start, end, passage.start == 0 and index == 0))
        title = passage.title.strip()
        if len(title.split()) >= MIN_WORDS and is_prose(title):
            add(Candidate(number, title))
    return found


def _fits(question: Question, sentence: str) -> dict[str, float]:
    kind, text = question.kind, question.text
    return {
        "fit_entity": float(kind is Kind.ENTITY and bool(mentions.new_names(sentence, text))),
        "fit_date": float(kind is Kind.DATE and mentions.has_date(sentence)),
        "fit_number": float(kind is Kind.NUMBER and mentions.has_number(sentence)),
        "fit_place": float(
            kind is Kind.PLACE
            and any(name in mentions.new_names(sentence, text) for name in mentions.place_names(sentence))
        ),
        "fit_cause": float(kind is Kind.CAUSE and mentions.has_cause(sentence)),
    }


def candidate_features(question: Question, passages: Sequence[Passage], found: Sequence[Candidate]) -> np.ndarray:
    """One row per candidate, columns in CANDIDATE_FEATURES order."""
    rows = np.zeros((len(found), len(CANDIDATE_FEATURES)), dtype=np.float32)
    column = {name: i for i, name in enumerate(CANDIDATE_FEATURES)}
    titles = {n: content_terms(p.title) for n, p in enumerate(passages, 1)}
    texts = {n: content_terms(p.text) | titles[n] for n, p in enumerate(passages, 1)}
    weight = question.terms.get
    for row, candidate in enumerate(found):
        passage = passages[candidate.number - 1]
        terms = content_terms(candidate.text)
        year = str(date_number(passage.date) // 10_000)
        has_year = [y for y in question.years if y in candidate.text or y == year]
        values = {
            "passage_similarity": passage.similarity,
            "coverage": weighted_coverage(question.terms, terms, lambda t: weight(t, 0.0)),
            "context_coverage": weighted_coverage(
                question.terms, terms | titles[candidate.number], lambda t: weight(t, 0.0)
            ),
            "passage_coverage": weighted_coverage(question.terms, texts[candidate.number], lambda t: weight(t, 0.0)),
            "new_terms": len(terms - question.terms.keys()) / len(terms) if terms else 0.0,
            "length": math.log(1 + len(candidate.text.split())),
            "inverse_rank": 1.0 / candidate.number,
            "article_lead": float(candidate.article_lead),
            "position": 0.0 if candidate.headline else math.log1p((passage.start + candidate.start) / 500),
            "headline": float(candidate.headline),
            "quote": float(any(mark in candidate.text for mark in '“”"')),
            "event_lead": float(question.kind is Kind.EVENT and (candidate.headline or candidate.article_lead)),
            "year_found": float(bool(question.years) and len(has_year) == len(question.years)),
            "year_missing": float(bool(question.years) and not has_year),
            **_fits(question, candidate.text),
        }
        for name, value in values.items():
            rows[row, column[name]] = value
    return rows


RERANK_FEATURES = (
    "linear",  # the linear ranker's logit (from RANK_FEATURES)
    "cross",  # the cross-encoder's score (rag.answer.cross_encoder)
)
NO_CROSS = -10.0  # the cross-encoder's score where there is no candidate at all


def reread(linear: np.ndarray, score: Callable[[np.ndarray], np.ndarray], count: int) -> np.ndarray:
    """The cross-encoder's score per candidate: `score(indices)` for the `count` best by the `linear`
    ranker's logits, and for the rest (not read) the lowest of those."""
    best = np.argsort(-linear, kind="stable")[:count]
    cross = np.full(len(linear), NO_CROSS)
    if len(best):
        scores = score(best)
        cross[:] = scores.min()
        cross[best] = scores
    return cross


def rank_rows(question: Question, rows: np.ndarray) -> np.ndarray:
    """`rows` (CANDIDATE_FEATURES columns) widened to RANK_FEATURES for `question`."""
    on = [question.kind.name.lower() == c or (c == "long" and question.long) for c in _CONTEXTS]
    return np.hstack([rows] + [rows * float(flag) for flag in on])


QUESTION_FEATURES = (
    "top_score",  # the ranker's logit for the lead
    "margin",  # ... minus the runner-up's
    "best_coverage",  # the best candidate coverage (sentence with headline)
    "best_passage_coverage",  # the best passage coverage
    "missing_weight",  # IDF-weighted share of the question's terms in no passage or headline
    "unknown_weight",  # ... that the collection never uses at all
    "rarest_found",  # the question's rarest term is in some passage or headline
    "year_missing",  # the question names a year no passage, headline or article date has
    "names_missing",  # share of the names the question mentions that no passage or headline has
    "top_fit",  # the lead holds the kind of thing asked for (who, when, where, how many, why)
    "typed",  # the question asks for one of those kinds
    "top_passage_similarity",  # the first passage's similarity to the question
    "question_terms",  # log of the question's content terms
    "top_cross",  # the cross-encoder's score for the lead
)
_TYPED = (Kind.ENTITY, Kind.DATE, Kind.NUMBER, Kind.PLACE, Kind.CAUSE)
_FITS = [CANDIDATE_FEATURES.index(name) for name in CANDIDATE_FEATURES if name.startswith("fit_")]


def question_features(
    question: Question, passages: Sequence[Passage], rows: np.ndarray, logits: np.ndarray, cross: np.ndarray
) -> np.ndarray:
    """The decline model's inputs: one row, columns in QUESTION_FEATURES order. `rows`, `logits` and
    `cross` are the candidates' features, final ranker logits and cross-encoder scores (possibly none)."""
    column = {name: i for i, name in enumerate(CANDIDATE_FEATURES)}
    found: set[str] = set()
    for passage in passages:
        found |= content_terms(f"{passage.title} {passage.text}")
    total = sum(question.terms.values())

    def share(terms: Iterable[str]) -> float:
        return sum(question.terms[t] for t in terms) / total if total else 0.0

    order = np.argsort(-logits) if len(logits) else np.zeros(0, dtype=int)
    top = rows[order[0]] if len(order) else np.zeros(len(CANDIDATE_FEATURES))
    rarest = max(question.terms, key=question.terms.__getitem__) if question.terms else ""
    passage_years = {str(date_number(p.date) // 10_000) for p in passages} | {
        year for p in passages for year in mentions.years(f"{p.title} {p.text}")
    }
    values = {
        "top_score": float(logits[order[0]]) if len(order) else -10.0,
        "margin": float(logits[order[0]] - logits[order[1]]) if len(order) > 1 else 0.0,
        "best_coverage": float(rows[:, column["context_coverage"]].max()) if len(rows) else 0.0,
        "best_passage_coverage": float(rows[:, column["passage_coverage"]].max()) if len(rows) else 0.0,
        # a word a small collection lacks says little: it lacks most words
        "missing_weight": question.trust * share([t for t in question.terms if t not in found]),
        "unknown_weight": question.trust * share(question.unknown),
        "rarest_found": float(rarest in found) if rarest else 1.0,
        "year_missing": float(any(year not in passage_years for year in question.years)),
        "names_missing": _names_missing(question.names, passages),
        "top_fit": float(top[_FITS].max()) if len(order) else 0.0,
        "typed": float(question.kind in _TYPED),
        "top_passage_similarity": passages[0].similarity if passages else 0.0,
        "question_terms": math.log(1 + len(question.terms)),
        "top_cross": float(cross[order[0]]) if len(order) else NO_CROSS,
    }
    return np.array([[values[name] for name in QUESTION_FEATURES]], dtype=np.float64)


def _names_missing(names: Sequence[str], passages: Sequence[Passage]) -> float:
    """Share of `names` whose words are not all in one passage or headline (case-insensitive)."""
    if not names:
        return 0.0
    stacks = [set(words(f"{p.title} {p.text}")) for p in passages]
    return sum(not any(set(words(name)) <= stack for stack in stacks) for name in names) / len(names)
