"""Questions: what kind of answer an English question asks for, read from its question words.

The question words, the auxiliaries that open a yes/no question, and the nouns that name a
kind of answer ("which company", "what year", "how many") are English grammar; they are
listed here once. Case never matters: "WHO WON…" and "Who Won…" read like "who won…".
"""

from __future__ import annotations

import re
from enum import Enum


class Kind(Enum):
    """The kind of answer a question wants."""

    ENTITY = "who"  # a person, organisation, product… (who, whose, which company, what app)
    DATE = "when"
    PLACE = "where"
    NUMBER = "how many"  # counts, amounts, prices, shares
    CAUSE = "why"
    YES_NO = "yes/no"
    EVENT = "what happened"
    ORDER = "order of reports"  # "Did X report … before Y reported …?"
    OTHER = "what"


# Auxiliaries and modals that open a yes/no question ("Is…", "Did…", "Has…").
_AUXILIARIES = frozenset([
    "is", "are", "was", "were", "am", "do", "does", "did", "has", "have", "had", "can", "could", "will",
    "would", "should", "shall", "might", "may", "must", "isn't", "aren't", "wasn't", "weren't", "doesn't",
    "don't", "didn't", "hasn't", "haven't", "hadn't", "can't", "couldn't", "won't", "wouldn't", "shouldn't"
])  # fmt: skip
# Nouns after "which"/"what" that name the kind of answer.
_DATE_NOUNS = frozenset([
    "date", "day", "year", "month", "time", "week", "decade", "season", "century"
])  # fmt: skip
_PLACE_NOUNS = frozenset([
    "country", "countries", "city", "cities", "state", "states", "place", "places", "town", "towns", "region",
    "regions", "venue", "venues", "stadium", "location", "locations", "village", "villages", "province",
    "county", "continent", "island", "area", "neighbourhood", "neighborhood", "street", "port", "airport"
])  # fmt: skip
_NUMBER_NOUNS = frozenset([
    "percentage", "percent", "share", "number", "amount", "price", "sum", "cost", "total", "rate",
    "proportion", "fraction"
])  # fmt: skip
_NUMBER_WORDS = r"how\s+(?:many|much|long|old|far|big|large|high|tall|fast|often)"
_PRONOUNS = frozenset([
    "i", "you", "he", "she", "it", "we", "they", "this", "that", "these", "those", "there"
])  # fmt: skip
_REPORT_WORDS = re.compile(r"\b(?:report(?:ed|s|ing)?|publish(?:ed)?|cover(?:ed)?|wr(?:ote|itten)|article)\b")
_ORDER_WORDS = re.compile(r"\b(?:before|after|earlier\s+than|later\s+than|first|prior\s+to)\b")


def _words(*words: str) -> str:
    return r"(?:" + "|".join(re.escape(word) for word in words) + r")"


_AUXILIARY = _words(*_AUXILIARIES)
_WHICH_NOUN = re.compile(r"\b(?:which|what)\s+(?:(?:kind|type|sort)\s+of\s+)?(?:\w+\s+){0,2}?(\w+)\b")


def normal_question(question: str) -> str:
    """Lower-cased, with typographic apostrophes straightened and spaces collapsed."""
    return " ".join(question.replace("’", "'").lower().split())


# The question words that name the kind of answer. The one that comes first in the question decides
# ("Who was appointed when…" asks for a person, "What happened when…" for an event); at the same
# place, the earlier in this table.
_QUESTION_WORDS = (
    (re.compile(r"\bwhy\b|\bwhat\s+(?:was|were|is|are)\s+the\s+reasons?\b|\bfor\s+what\s+reason\b"), Kind.CAUSE),
    (re.compile(rf"\b{_NUMBER_WORDS}\b"), Kind.NUMBER),
    (re.compile(r"\bwhen\b"), Kind.DATE),
    (re.compile(r"\bwhere\b"), Kind.PLACE),
    (re.compile(r"\bwho(?:m|se)?\b"), Kind.ENTITY),
    (re.compile(r"\bwhat\s+(?:happened|has\s+happened|is\s+happening|happens|went\s+on)\b"), Kind.EVENT),
)


def question_kind(question: str) -> Kind:
    """The kind of answer `question` wants, from its first question word (case-insensitive)."""
    q = normal_question(question)
    if re.match(_AUXILIARY + r"\b", q):
        if len(_REPORT_WORDS.findall(q)) >= 2 and _ORDER_WORDS.search(q):
            return Kind.ORDER
        return Kind.YES_NO
    found = [
        (match.start(), order, kind)
        for order, (pattern, kind) in enumerate(_QUESTION_WORDS)
        if (match := pattern.search(q))
    ]
    noun = _kind_of_noun(q)
    if noun is not None:
        found.append((noun[0], len(_QUESTION_WORDS), noun[1]))
    return min(found, key=lambda item: item[:2])[2] if found else Kind.OTHER


def _kind_of_noun(q: str) -> tuple[int, Kind] | None:
    """Where "which year" (DATE), "what city" (PLACE), "what share" (NUMBER), "which company" (ENTITY)
    stands in `q`, and its kind; None when no "which"/"what" is followed by a noun naming the answer."""
    for match in _WHICH_NOUN.finditer(q):
        noun = match.group(1)
        if noun in _AUXILIARIES or noun in _PRONOUNS:
            continue  # "what did…", "what is…": not a noun naming the answer
        for nouns, kind in ((_DATE_NOUNS, Kind.DATE), (_PLACE_NOUNS, Kind.PLACE), (_NUMBER_NOUNS, Kind.NUMBER)):
            if noun in nouns:
                return match.start(), kind
        return match.start(), Kind.ENTITY
    return None


# Prepositions (English grammar, a closed class; the common ones) after which "that"/"those" stand
# for something named before ("in that one", "after that") rather than open a relative clause
# ("the institute that caught fire").
_PREPOSITIONS = frozenset([
    "in", "on", "at", "of", "about", "for", "from", "to", "with", "by", "after", "before", "since", "during",
    "against", "over", "under", "like", "than", "into", "through", "without", "between", "among"
])  # fmt: skip
_QUESTION_OPENERS = frozenset(["what", "who", "whom", "which", "where", "when", "why", "how", "whose"])
_TOKEN = re.compile(r"[\w'-]+")


def refers_back(question: str) -> bool:
    """Whether `question` points at something named before with a demonstrative or "the same": "that"
    or "those" opening it or after a question word, an auxiliary or a preposition ("How does that
    compare?", "Where is that company based?", "Who scored in that one?"), or "the same" ("on the
    same day"). "That" after a noun or a verb opens a clause of the question's own ("the law that
    passed", "said that…"); "this"/"these" usually mean the present ("this year"), so they do not count."""
    tokens = _TOKEN.findall(normal_question(question))
    for index, token in enumerate(tokens):
        before = tokens[index - 1] if index else ""
        if token in ("that", "those") and (
            not before or before in _QUESTION_OPENERS or before in _AUXILIARIES or before in _PREPOSITIONS
        ):
            return True
        if token == "same" and before == "the":
            return True
    return False


def is_title_case(text: str) -> bool:
    """Whether the capitals of `text` say nothing about names: Title Case or ALL CAPS."""
    words = [word for word in re.findall(r"[^\W\d_][\w'’-]*", text) if len(word) > 3]
    if len(words) < 2:
        return False
    capitalised = sum(word[0].isupper() for word in words)
    return capitalised == len(words) or text.upper() == text
