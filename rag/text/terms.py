"""Terms: the content words of a text and how much two texts share.

The one home of English word rules: the stop words (the common function words, plus the
reporting verbs every news sentence has; the keyword index drops the same ones), possessives,
and stemming with the Snowball English stemmer (PyStemmer). Pure functions.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Callable, Iterable

import Stemmer

_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*", re.UNICODE)
STOPWORDS = frozenset([
    "a", "about", "above", "after", "again", "against", "all", "also", "am", "an", "and", "any", "are", "as",
    "at", "be", "because", "been", "before", "being", "below", "between", "both", "but", "by", "can", "could",
    "did", "do", "does", "doing", "down", "during", "each", "few", "for", "from", "further", "had", "has",
    "have", "having", "he", "her", "here", "hers", "herself", "him", "himself", "his", "how", "i", "if", "in",
    "into", "is", "it", "its", "itself", "just", "me", "more", "most", "my", "myself", "no", "nor", "not",
    "now", "of", "off", "on", "once", "only", "or", "other", "our", "ours", "ourselves", "out", "over", "own",
    "same", "she", "should", "so", "some", "such", "than", "that", "the", "their", "theirs", "them",
    "themselves", "then", "there", "these", "they", "this", "those", "through", "to", "too", "under", "until",
    "up", "very", "was", "we", "were", "what", "when", "where", "which", "while", "who", "whom", "why", "will",
    "with", "would", "you", "your", "yours", "yourself", "yourselves", "said", "says", "say", "according",
    "don't", "doesn't", "didn't", "isn't", "aren't", "wasn't", "weren't", "can't", "couldn't", "won't",
    "wouldn't", "shouldn't", "haven't", "hasn't", "hadn't", "i'm", "you're", "we're", "they're", "i've",
    "you've", "we've", "they've", "i'll", "you'll", "he'll", "she'll", "we'll", "they'll", "i'd", "you'd",
    "he'd", "she'd", "we'd", "they'd"
])  # fmt: skip


_POSSESSIVE = re.compile(r"[’']s?$")
_STEMMERS = threading.local()  # a PyStemmer object must not be shared between threads


def words(text: str) -> list[str]:
    """The lower-cased words of `text`, possessives dropped ("Google's" -> "google")."""
    return [_POSSESSIVE.sub("", word) for word in _WORD.findall(text.lower().replace("’", "'"))]


@functools.lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """The Snowball English stem of a lower-cased word ("guarantees" -> "guarante")."""
    stemmer = getattr(_STEMMERS, "stemmer", None)
    if stemmer is None:
        stemmer = _STEMMERS.stemmer = Stemmer.Stemmer("english")
    return str(stemmer.stemWord(word))


def content_terms(text: str) -> set[str]:
    """The stems of the words of `text` that are not stop words."""
    return {stem(word) for word in words(text) if word not in STOPWORDS}


def term_overlap(query: str, text: str) -> float:
    """Share of the query's content terms found in `text` (0.0 when the query has none)."""
    wanted = content_terms(query)
    return len(wanted & content_terms(text)) / len(wanted) if wanted else 0.0


def weighted_coverage(wanted: Iterable[str], found: set[str], weight: Callable[[str], float]) -> float:
    """Share of the `wanted` terms' total weight (e.g. IDF) whose terms are in `found`."""
    weights = {term: weight(term) for term in wanted}
    total = sum(weights.values())
    return sum(w for term, w in weights.items() if term in found) / total if total else 0.0
