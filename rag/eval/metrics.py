"""Evaluation metrics: pure functions over strings and numbers, no I/O.

Owns answer scoring (SQuAD-style normalisation, exact match, token F1, yes/no,
containment), retrieval scoring with MultiHop-RAG's hit rule, citation and quote
checks, and the small statistics used in reports (refusal detection lives in rag.answer.extractive).
"""

from __future__ import annotations

import math
import re
import string
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence

from rag.text.sentences import split_sentences

# --- answers -----------------------------------------------------------------------

_ARTICLES = re.compile(r"\b(a|an|the)\b")


def _is_punctuation(char: str) -> bool:
    """ASCII punctuation (SQuAD's set, which includes symbols like `$`) or any Unicode P* character."""
    return char in string.punctuation or unicodedata.category(char).startswith("P")


def normalize_answer(s: str) -> str:
    """SQuAD normalisation: lowercase, delete punctuation, drop a/an/the, collapse whitespace."""
    without_punctuation = "".join(ch for ch in s.lower() if not _is_punctuation(ch))
    return " ".join(_ARTICLES.sub(" ", without_punctuation).split())


def exact_match(prediction: str, reference: str) -> float:
    """1.0 when both strings are equal after normalisation, else 0.0."""
    return float(normalize_answer(prediction) == normalize_answer(reference))


def token_f1(prediction: str, reference: str) -> float:
    """SQuAD token F1 over normalised tokens; both empty -> 1.0, exactly one empty -> 0.0."""
    predicted = normalize_answer(prediction).split()
    expected = normalize_answer(reference).split()
    if not predicted or not expected:
        return float(predicted == expected)
    common = sum((Counter(predicted) & Counter(expected)).values())
    if common == 0:
        return 0.0
    precision = common / len(predicted)
    recall = common / len(expected)
    return 2 * precision * recall / (precision + recall)


def yes_no(text: str) -> str | None:
    """ "yes" or "no" when the normalised text starts with that word, else None."""
    tokens = normalize_answer(text).split()
    if tokens and tokens[0] in ("yes", "no"):
        return tokens[0]
    return None


def is_yes_no_reference(reference: str) -> bool:
    """True when the reference answer is exactly "yes" or "no" (after normalisation)."""
    return normalize_answer(reference) in ("yes", "no")


_JOINERS = re.compile(r"[/\-\u2010-\u2015]")  # slashes, hyphens and dashes: they join words


def contains_answer(prediction: str, reference: str) -> float:
    """1.0 when the normalised reference occurs in the normalised prediction as whole tokens.

    Matching on token boundaries keeps "no" from matching inside "know". SQuAD's normalisation
    deletes punctuation, so words joined by a slash, hyphen or dash become one token ("€9.99/month"
    -> "€999month", "10-point" -> "10point"); the reference also counts when it occurs with those
    joiners read as spaces. An empty reference scores 0.0.
    """
    for text, key in ((prediction, reference), (_JOINERS.sub(" ", prediction), _JOINERS.sub(" ", reference))):
        expected = normalize_answer(key)
        if expected and f" {expected} " in f" {normalize_answer(text)} ":
            return 1.0
    return 0.0


def first_sentence(answer: str) -> str:
    """The answer's first sentence (its first line, up to the first sentence end, as the chunker cuts
    sentences: "Mr." or "U.S." does not end one), markers dropped."""
    line = next((line for line in answer.splitlines() if line.strip()), "")
    line = re.sub(r"\s*\[\d+(?:\s*[,;]\s*\d+)*\]", "", line).strip()
    spans = split_sentences(line)
    return line[: spans[0][1]] if spans else line


def lead_answers(answer: str, keys: Sequence[str]) -> bool:
    """Whether the answer's first sentence holds one of the answer keys (as whole words, normalised);
    a "yes" or "no" key holds when the answer starts with that word."""
    lead = first_sentence(answer)
    for key in keys:
        if normalize_answer(key) in ("yes", "no"):
            if yes_no(lead) == normalize_answer(key):
                return True
        elif contains_answer(lead, key):
            return True
    return False


def searched_right(searched: str, terms: Sequence[str], context_needed: bool) -> float:
    """A follow-up's search: with `context_needed`, it holds one of the previous topic's `terms`;
    without, none of them (case-insensitive, whole words)."""
    text = f" {normalize_answer(searched)} "
    found = any(f" {normalize_answer(term)} " in text for term in terms if normalize_answer(term))
    return float(found == context_needed)


# --- retrieval (MultiHop-RAG hit rule) -----------------------------------------------


def _facts(gold_facts: Iterable[str]) -> list[str]:
    """Distinct whitespace-stripped gold facts, first occurrence order; blank facts are dropped."""
    return list(dict.fromkeys(fact.strip() for fact in gold_facts if fact.strip()))


def is_hit(chunk_text: str, gold_facts: Iterable[str]) -> bool:
    """A chunk is a hit when any (stripped, non-blank) gold fact is a substring of it."""
    return any(fact in chunk_text for fact in _facts(gold_facts))


def first_hit_rank(ranked_texts: Sequence[str], gold_facts: Iterable[str], k: int) -> int | None:
    """1-based rank of the first hit among the top-k texts, or None when there is none."""
    facts = _facts(gold_facts)
    for rank, text in enumerate(ranked_texts[:k], start=1):
        if is_hit(text, facts):
            return rank
    return None


def hit_at_k(ranked_texts: Sequence[str], gold_facts: Iterable[str], k: int) -> float:
    """1.0 when any of the top-k texts is a hit, else 0.0."""
    return float(first_hit_rank(ranked_texts, gold_facts, k) is not None)


def reciprocal_rank(ranked_texts: Sequence[str], gold_facts: Iterable[str], k: int = 10) -> float:
    """1/rank of the first hit within the top-k, 0.0 when there is none (MRR@k per question)."""
    rank = first_hit_rank(ranked_texts, gold_facts, k)
    return 0.0 if rank is None else 1.0 / rank


def recall_at_k(ranked_texts: Sequence[str], gold_facts: Iterable[str], k: int) -> float:
    """Share of distinct gold facts contained in at least one of the top-k texts.

    A question without gold facts scores 0.0; callers should skip such questions
    (e.g. MultiHop-RAG's null queries) rather than average them in.
    """
    facts = _facts(gold_facts)
    if not facts:
        return 0.0
    top = ranked_texts[:k]
    found = sum(any(fact in text for text in top) for fact in facts)
    return found / len(facts)


# --- citations -----------------------------------------------------------------------


def citation_precision(cited_texts: Sequence[str], gold_facts: Iterable[str]) -> float | None:
    """Share of cited passages that contain a gold fact; None when nothing was cited."""
    if not cited_texts:
        return None
    facts = _facts(gold_facts)
    return sum(is_hit(text, facts) for text in cited_texts) / len(cited_texts)


def _quote_in_passage(quote: str, passage: str) -> bool:
    needle = " ".join(quote.split())
    return bool(needle) and needle in " ".join(passage.split())


def quote_fidelity(quotes_with_passages: Sequence[tuple[str, str]]) -> float | None:
    """Share of (quote, passage) pairs whose quote occurs verbatim in its passage.

    Whitespace runs are collapsed on both sides before comparing; a blank quote counts
    as not found. None when there are no quotes.
    """
    if not quotes_with_passages:
        return None
    found = sum(_quote_in_passage(quote, passage) for quote, passage in quotes_with_passages)
    return found / len(quotes_with_passages)


def claim_support_rate(supported: Sequence[bool]) -> float | None:
    """Share of an answer's claims that their cited passages support; None when it has no claims."""
    return sum(supported) / len(supported) if supported else None


# --- statistics ----------------------------------------------------------------------


def mean(values: Sequence[float]) -> float:
    """Arithmetic mean; nan for an empty sequence."""
    return math.fsum(values) / len(values) if values else math.nan


def percentile(values: Sequence[float], q: float) -> float:
    """q-th percentile (0..100) with linear interpolation, like numpy's default; nan when empty."""
    if not 0 <= q <= 100:
        raise ValueError(f"percentile q must be in [0, 100], got {q}")
    if not values:
        return math.nan
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    lower = math.floor(position)
    upper = min(lower + 1, len(ordered) - 1)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)
