"""Refusals: the decline text, and recognising an answer that declines ("The articles do not say", "I don't know")."""

from __future__ import annotations

import re

DECLINE = "The articles do not say."

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
