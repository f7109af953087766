"""Mentions: which kinds of things an English sentence names — names, dates, numbers, places,
causes — without a model.

Hand-written rather than a named-entity model because every NER library here would bring a
model download (spaCy, flair) or torch; what the answerer needs is coarse ("does this
sentence hold a date the question does not?"), and capitalisation, digits, month names and a
few grammatical words say that well enough in edited news prose. The word lists are grammar:
function words (rag.text.terms.STOPWORDS), the causal connectives, the prepositions of place,
number words.
"""

from __future__ import annotations

import re

from rag.text.dates import MONTH_NUMBERS, MONTH_PATTERN, WEEKDAYS
from rag.text.questions import is_title_case
from rag.text.terms import STOPWORDS

# A capitalised run: "Sam Altman", "OpenAI", "New York Times", "U.S.", "Bankman-Fried", "Bank of America".
NAME_JOINERS = ("of", "de", "la", "van", "von", "der", "al")
_CAPITALISED = r"(?:[A-Z][\w’'&.-]*[\w&]|[A-Z])"
_NAME = re.compile(
    r"(?<![\w’'])" + _CAPITALISED + r"(?:\s+(?:(?:" + "|".join(NAME_JOINERS) + r")\s+)?" + _CAPITALISED + r")*"
)
# Words that may be capitalised without naming anything: sentence openers and calendar words.
_NOT_NAMES = STOPWORDS | frozenset(MONTH_NUMBERS) | {day.lower() for day in WEEKDAYS} | {"mr", "mrs", "ms", "dr"}
_POSSESSIVE = re.compile(r"[’']s?$")
_NUMBER = re.compile(r"(?<![\w.])\d[\d,.]*\d(?![\w])|(?<![\w.])\d(?![\w.])")
_NUMBER_WORDS = re.compile(
    r"\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|hundred|"
    r"thousand|million|billion|trillion|dozens?|half|percent|per\s+cent)\b",
    re.IGNORECASE,
)
_YEAR = re.compile(r"(?<!\d)(?:1[89]|20)\d\d(?!\d)")
_DATE_WORDS = re.compile(
    rf"\b{MONTH_PATTERN}(?=\s|,|$)|\b(?:{'|'.join(WEEKDAYS)})\b|"
    r"\b(?:yesterday|today|tonight|tomorrow|(?:last|next|this)\s+(?:week|month|year|season))\b|"
    r"(?<!\d)(?:1[89]|20)\d\d(?!\d)",
)
# Subordinating conjunctions and prepositions of cause and purpose.
_CAUSE = re.compile(
    r"\b(?:because|due\s+to|owing\s+to|as\s+a\s+result\s+of|on\s+account\s+of|citing|cited|in\s+order\s+to|"
    r"so\s+that|since|for\s+fear|in\s+response\s+to|in\s+protest|on\s+the\s+grounds|after|amid|over|"
    r"following|reason|reasons)\b",
    re.IGNORECASE,
)
_PLACE_PREPOSITIONS = ["in", "at", "near", "from", "outside", "inside", "across", "throughout", "to", "into"]


def names(text: str) -> list[str]:
    """Capitalised names in `text` (leading and trailing function words stripped, possessives dropped)."""
    found = []
    for match in _NAME.finditer(text):
        words = [_POSSESSIVE.sub("", word) for word in match.group().rstrip(".").split()]
        while words and words[0].lower() in _NOT_NAMES:
            words = words[1:]
        while words and (words[-1].lower() in _NOT_NAMES or words[-1] in NAME_JOINERS):
            words = words[:-1]
        name = " ".join(words)
        if name and not name.isdigit():
            found.append(name)
    return found


def _folded(text: str) -> set[str]:
    return {_POSSESSIVE.sub("", word) for word in re.findall(r"[\w’'-]+", text.lower())}


def question_names(question: str) -> list[str]:
    """The names a question mentions: `names` after its first word (a question word, not a name);
    none in Title Case or capitals, where capitals mark nothing."""
    if is_title_case(question):
        return []
    first, _, rest = question.strip().partition(" ")
    return names(f"{first.lower()} {rest}")


def new_names(text: str, question: str) -> list[str]:
    """Names in `text` with a word the question does not have (case-insensitive)."""
    asked = _folded(question)
    return [name for name in names(text) if not _folded(name) <= asked]


def place_names(text: str) -> list[str]:
    """Names right after a preposition of place ("in Istanbul", "from the Kremlin")."""
    found = []
    for match in _NAME.finditer(text):
        before = text[: match.start()].split()
        if before and before[-1].lower() in ("the",) and len(before) > 1:
            before = before[:-1]
        if before and before[-1].lower() in _PLACE_PREPOSITIONS:
            found.extend(names(match.group()))
    return found


def numbers(text: str) -> list[str]:
    """Numbers written in digits, as written (commas and points kept)."""
    return _NUMBER.findall(text)


def has_number(text: str) -> bool:
    return bool(_NUMBER.search(text) or _NUMBER_WORDS.search(text))


def new_numbers(text: str, question: str) -> list[str]:
    """Numbers of `text` the question does not contain (years count as numbers here)."""
    asked = {number.replace(",", "") for number in numbers(question)}
    return [number for number in numbers(text) if number.replace(",", "") not in asked]


def years(text: str) -> list[str]:
    return _YEAR.findall(text)


def has_date(text: str) -> bool:
    """A month name, weekday, year or relative day ("yesterday", "last week")."""
    return _DATE_WORDS.search(text) is not None


def has_cause(text: str) -> bool:
    """A causal connective ("because", "due to", "citing", "after", "amid"…)."""
    return _CAUSE.search(text) is not None
