"""Boilerplate in extracted article text (English): inline promotion lines and paywall teasers.

* A promotion line links another story from inside the text ("Read more: <headline>",
  "READ MORE: …", "Also read: …", "Related: …", "See also: …", "More on this story: …"); it is
  not part of the story and is dropped.
* A teaser is what a paywalled page shows: a short text (`TEASER_WORDS` words or fewer) whose
  last lines ask the reader to subscribe or log in ("Subscribe to continue reading",
  "This article is for subscribers", "Log in to read more"). Such a page is not the story.
"""

from __future__ import annotations

import re

TEASER_WORDS = 150
_PROMO = re.compile(
    r"^\s*(?:read more|read also|also read|more on this(?: story)?|related(?: story| stories| articles?)?|see also"
    r"|recommended|don't miss|you may also like|further reading)\s*[:\-–—|>]\s*\S",
    re.IGNORECASE,
)
_PROMO_MAX_WORDS = 25
_SUBSCRIPTION = re.compile(  # the paywall's call to continue, not any newsletter sign-up
    r"\b(?:(?:subscribe|log ?in|sign ?in|register|become a (?:member|subscriber)|join)\b[^.!?]{0,40}?"
    r"\bto (?:continue|keep|read|access|unlock|view)"
    r"|continue reading|keep reading|read the full (?:article|story)|already a (?:subscriber|member)"
    r"|(?:for|to) (?:paid |paying )?(?:subscribers|members)(?: only)?|subscriber[- ]only|exclusive to subscribers"
    r"|unlock (?:this|the full) (?:article|story)|paywall)\b",
    re.IGNORECASE,
)


def is_promotion(line: str) -> bool:
    """A short line that links another story ("Read more: …")."""
    return bool(_PROMO.match(line)) and len(line.split()) <= _PROMO_MAX_WORDS


def drop_promotions(text: str) -> str:
    """`text` without its promotion lines (lines are paragraphs in extracted text)."""
    lines = text.split("\n")
    kept = [line for line in lines if not is_promotion(line)]
    return "\n".join(kept) if len(kept) != len(lines) else text


def is_teaser(text: str) -> bool:
    """A paywall teaser: short, and its last two lines ask the reader to subscribe or log in."""
    if len(text.split()) > TEASER_WORDS:
        return False
    tail = [line for line in text.strip().split("\n") if line.strip()][-2:]
    return any(_SUBSCRIPTION.search(line) for line in tail)
