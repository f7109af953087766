"""Paywalls: a page that shows only a teaser of its story is reported, not stored.

A page is paywalled when its structured data says so (`"isAccessibleForFree": false` in
JSON-LD, or the same as a microdata `<meta itemprop>`) and the text is a teaser, or when the
text alone reads as one (rag.text.boilerplate.is_teaser: short, ending in a call to subscribe
or log in). A page marked not free whose full text was served anyway is stored.
"""

from __future__ import annotations

import re

from rag.text.boilerplate import TEASER_WORDS, is_teaser

_NOT_FREE = re.compile(rb"""["']?isAccessibleForFree["']?\s*(?::|content\s*=)\s*["']?false\b""", re.IGNORECASE)
_FLAGGED_WORDS = 3 * TEASER_WORDS  # a page marked not free is a teaser up to this length


def paywall_reason(data: bytes, text: str) -> str:
    """Why the page is only a paywall teaser ('' when it is the story)."""
    words = len(text.split())
    if _NOT_FREE.search(data) and words <= _FLAGGED_WORDS:
        return f"paywalled: the page is marked not free (isAccessibleForFree: false) and shows {words} words"
    if is_teaser(text):
        return f"paywalled: the page shows a {words}-word teaser ending in a call to subscribe or log in"
    return ""
