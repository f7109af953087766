"""Terms: the content words of a text and how much two texts share.

English stop words (the common function words, plus reporting verbs that every news
sentence has; the keyword index drops the same ones) and a light plural folding; pure functions.
"""

from __future__ import annotations

import re

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
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
    "with", "would", "you", "your", "yours", "yourself", "yourselves", "said", "says", "say", "according"
])  # fmt: skip


def content_terms(text: str) -> set[str]:
    """Lower-cased words minus stop words, with a light plural/suffix folding."""
    return {_fold(word) for word in _WORD.findall(text.lower()) if word not in STOPWORDS}


def _fold(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def term_overlap(query: str, text: str) -> float:
    """Share of the query's content terms found in `text` (0.0 when the query has none)."""
    wanted = content_terms(query)
    return len(wanted & content_terms(text)) / len(wanted) if wanted else 0.0
