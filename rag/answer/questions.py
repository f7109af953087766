"""Question analysis: what kind of answer a question wants and what it is anchored on (pure).

`question_kind` reads the question word ("who" wants a name, "when" a date, "how many" a
number, "why" a cause, "what happened" an event; "Did X report … before Y reported …?" asks
for the order of two reports). `question_anchors` finds what the evidence must match before
anything is answered: years, other numbers, named people / organisations /
places, and the event words (the remaining content words). The `fits_*` helpers check a
candidate sentence against the kind of answer wanted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from rag.text.dates import MONTH_NUMBERS, MONTH_PATTERN, WEEKDAYS
from rag.text.terms import STOPWORDS, content_terms


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


class Kind(Enum):
    ENTITY = "who"  # who / which company / which person
    PLACE = "where"
    DATE = "when"
    NUMBER = "how many"
    CAUSE = "why"
    EVENT = "what happened"
    YES_NO = "yes/no"
    ORDER = "order of reports"
    OTHER = "other"


_MONTH = MONTH_PATTERN
_DATE_IN_TEXT = re.compile(
    rf"\b{_MONTH}\s+\d{{1,2}}\b|\b\d{{1,2}}\s+{_MONTH}\b|\b{_MONTH},?\s+(?:19|20)\d\d\b|\b(?:19|20)\d\d\b|"
    r"\b(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|yesterday|today|tomorrow|"
    r"last\s+(?:week|month|year)|next\s+(?:week|month|year)|this\s+(?:week|month|year))\b"
)
_NUMBER_IN_TEXT = re.compile(
    r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|dozens?|twenty|thirty|forty|fifty|"
    r"hundreds?|thousands?|millions?|billions?|trillions?|half|percent)\b",
    re.IGNORECASE,
)
_CAUSE_IN_TEXT = re.compile(
    r"\b(?:because|due\s+to|owing\s+to|after|over|citing|cited|as\s+a\s+result|result(?:ed)?\s+(?:of|in|from)|"
    r"led\s+to|lead\s+to|reasons?|caused?|since|amid|following|follows|in\s+response\s+to|so\s+that|"
    r"concluded|accused|allegedly|failed\s+to|lack\s+of|wasn[’']t|was\s+not|were\s+not|not\s+consistently|"
    r"in\s+order\s+to|blamed?|prompt(?:ed|ing)|why)\b",
    re.IGNORECASE,
)
_STRONG_CAUSE_IN_TEXT = re.compile(
    r"\b(?:because|due\s+to|owing\s+to|citing|cited|as\s+a\s+result|result(?:ed)?\s+(?:of|from)|reasons?|caused?|"
    r"concluded|in\s+response\s+to|wasn[’']t|was\s+not|not\s+consistently|failed\s+to|lack\s+of|blamed?)\b",
    re.IGNORECASE,
)
_YES_NO_START = re.compile(
    r"^(?:is|are|was|were|did|does|do|has|have|had|can|could|will|would|should|shall|might|may)\b", re.IGNORECASE
)
_ORDER_WORDS = re.compile(r"\b(?:before|after|earlier\s+than|later\s+than|first|prior\s+to)\b", re.IGNORECASE)
_REPORT_WORDS = re.compile(r"\b(?:report(?:ed|s|ing)?|publish(?:ed)?|cover(?:ed)?|wr(?:ote|itten)|article)\b")

# A capitalised run: "Sam Altman", "OpenAI", "New York Times", "U.S.", "Bankman-Fried", "Bank of America".
_NAME_JOINERS = ("of", "de", "la", "van", "von", "der")
_NAME = re.compile(
    r"(?<![\w’'])(?:[A-Z][\w’'&.-]*[\w&]|[A-Z])(?:\s+(?:(?:"
    + "|".join(_NAME_JOINERS)
    + r")\s+)?(?:[A-Z][\w’'&.-]*[\w&]|[A-Z]))*"
)
_ROLE_TITLES = _words(
    "ceo cfo cto coo chair chairman chairwoman chief president founder cofounder co-founder head director "
    "minister secretary governor mayor leader owner spokesman spokeswoman spokesperson manager coach"
)
_GENERIC_NAMES = (
    _words(
        "what who whom which when where why how did does do is are was were can could will would has have "
        "had the a an in on at of for and but or if after before between considering according based "
        "given following during since as from to with by this that these those it its there their his her "
        "i he she we they you mr mrs ms dr however despite now instead meanwhile still although though yet "
        "today yesterday tomorrow last next many most every each another such even just well here while "
        "one two three first second more less not no yes why it’s that’s there’s it's that's there's"
    )
    | STOPWORDS
)
_MONTH_AND_DAY_NAMES = frozenset(MONTH_NUMBERS) | {day.lower() for day in WEEKDAYS}
# Words that say what kind of thing is asked for, not what it is about.
_FRAME_WORDS = _words(
    "happen happened happening individual person people company companies organization organisation "
    "firm entity name named article articles report reported reporting reports source sources news "
    "publication mention mentioned mentions according recently recent also both one another two three "
    "question answer describe described discuss discussed discussing suggest suggested suggests "
    "indicate indicated indicates state stated states claim claimed claims cover covered covering "
    "detail detailed details information highlight highlighted identify identified known consider "
    "considering regarding portrayal portrayed many much number amount reason cause caused why become "
    "became make made get got take took give gave thing things way ways time times year years day "
    "days month months week weeks"
)
_IRREGULAR = {
    "won": "win",
    "wins": "win",
    "winning": "win",
    "winner": "win",
    "winners": "win",
    "fired": "fire",
    "firing": "fire",
    "ousted": "oust",
    "ousting": "oust",
    "bought": "buy",
    "sold": "sell",
    "died": "die",
    "dead": "die",
    "death": "die",
    "left": "leave",
    "lost": "lose",
    "paid": "pay",
    "said": "say",
    "told": "tell",
    "began": "begin",
    "begun": "begin",
}
_STEM_SUFFIXES = ("ation", "ing", "ed", "es", "s", "er", "ly")
_NUMBER = re.compile(r"(?<![\w.])\d[\d,.]*\d(?![\w])|(?<![\w.])\d(?![\w.])")


@dataclass(frozen=True)
class Anchors:
    """What a question is anchored on; each must be matched by the evidence before answering."""

    years: tuple[str, ...] = ()  # years named in the question, as written
    numbers: tuple[str, ...] = ()  # other numbers, as written
    names: tuple[str, ...] = ()  # named people, organisations, places, events
    event: tuple[str, ...] = ()  # stems of the remaining content words


def _synonym_groups(*groups: str) -> dict[str, str]:
    """Each word of a group maps to the group's first word."""
    return {word: group.split()[0] for group in groups for word in group.split()}


# Stems that say the same thing in news text, so that "What does Russia demand?" matches "Russia wants".
_SYNONYMS = _synonym_groups(
    "demand want ask call insist seek sought require",
    "win beat victory champion title triumph",
    "fire oust remove dismiss sack",
    "buy acquire acquisition purchase",
    "die kill",
    "launch release unveil announce introduce",
    "sue lawsuit suit",
    "resign quit step",
)


def stem(word: str) -> str:
    """A light stem for matching event words: irregular forms, a common suffix, then synonyms."""
    word = word.lower()
    if word in _IRREGULAR:
        word = _IRREGULAR[word]
    else:
        for suffix in _STEM_SUFFIXES:
            if len(word) - len(suffix) >= 4 and word.endswith(suffix):
                word = word[: -len(suffix)]
                break
    return _SYNONYMS.get(word, word)


def stems(text: str) -> set[str]:
    return {stem(term) for term in content_terms(text)}


def names_in(text: str) -> list[str]:
    """Capitalised names in `text`, leading function words ("The", "In") stripped."""
    found = []
    pieces = (piece for match in _NAME.finditer(text) for piece in re.split(r"[’']s\b", match.group()))
    for piece in pieces:
        words = piece.rstrip(".").split()
        while words and (words[0].lower() in _GENERIC_NAMES or words[0].lower() in _MONTH_AND_DAY_NAMES):
            words = words[1:]
        if len(words) > 2 and words[0].lower() in _ROLE_TITLES and words[1] in _NAME_JOINERS:
            words = words[2:]  # "CEO of Nvidia" names Nvidia; the role is what the question asks
        while words and words[-1].lower() in _GENERIC_NAMES:
            words = words[:-1]
        name = " ".join(words)
        if name and not name.isdigit() and name.lower() not in _MONTH_AND_DAY_NAMES:
            found.append(name)
    return found


def question_kind(question: str) -> Kind:
    q = " ".join(question.split())
    lower = q.lower()
    if _YES_NO_START.match(q):
        if len(_REPORT_WORDS.findall(lower)) >= 2 and _ORDER_WORDS.search(lower):
            return Kind.ORDER
        return Kind.YES_NO
    if re.search(r"\bwhy\b|\bwhat\s+(?:was|were|is|are)\s+the\s+reasons?\b|\bfor\s+what\s+reason\b", lower):
        return Kind.CAUSE
    if re.search(
        r"\bhow\s+(?:many|much|long|old|far|big|large)\b|\bwhat\s+(?:percentage|share|number|amount|price|sum)\b", lower
    ):
        return Kind.NUMBER
    if re.search(r"\bwhen\b|\bwhat\s+(?:date|day|year|month|time)\b|\bwhich\s+(?:date|day|year|month)\b", lower):
        return Kind.DATE
    if re.search(r"\bwhere\b|\b(?:which|what)\s+(?:country|city|state|place|town|region|venue|stadium)\b", lower):
        return Kind.PLACE
    if re.search(r"\bwhat\s+(?:happened|has\s+happened|is\s+happening|happens)\b", lower):
        return Kind.EVENT
    if re.search(
        r"\bwho(?:m|se)?\b|\b(?:which|what)\s+(?:\w+\s+){0,2}(?:individual|person|company|organi[sz]ation|firm|team|"
        r"player|club|entity|country|brand|group|figure|executive|ceo|founder|app|platform|product|service|"
        r"celebrity|artist|actor|actress|singer|athlete|coach|manager|network|studio|band|agency|bank|startup|"
        r"leader|politician|official|minister|president)\b",
        lower,
    ):
        return Kind.ENTITY
    return Kind.OTHER


def question_anchors(question: str) -> Anchors:
    """Years, numbers, names and event words of a question."""
    years = tuple(dict.fromkeys(re.findall(r"(?<!\d)(?:19|20)\d\d(?!\d)", question)))
    numbers = tuple(
        n for n in dict.fromkeys(_NUMBER.findall(question)) if n not in years and not _in_a_date(question, n)
    )
    names = tuple(dict.fromkeys(names_in(_drop_first_word(question))))
    name_terms = {term for name in names for term in content_terms(name)}
    event = tuple(
        dict.fromkeys(
            stem(term)
            for term in content_terms(question)
            if term not in name_terms
            and term not in _FRAME_WORDS
            and term not in _MONTH_AND_DAY_NAMES
            and not term.isdigit()
            and len(term) > 2
        )
    )
    return Anchors(years, numbers, names, event)


def _drop_first_word(question: str) -> str:
    """The question with its first word lower-cased when it is a question word (not a name)."""
    first, _, rest = question.strip().partition(" ")
    return f"{first.lower()} {rest}" if first.lower() in _GENERIC_NAMES | STOPWORDS else question


def _in_a_date(question: str, number: str) -> bool:
    return bool(
        re.search(
            rf"{_MONTH}\s+{re.escape(number)}\b|\b{re.escape(number)}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}", question
        )
    )


def has_date(text: str) -> bool:
    return _DATE_IN_TEXT.search(text) is not None


def has_number(text: str) -> bool:
    return _NUMBER_IN_TEXT.search(text) is not None


def has_strong_cause(text: str) -> bool:
    """A cause stated outright ("because", "due to", "citing"…), not only implied by "after" or "over"."""
    return _STRONG_CAUSE_IN_TEXT.search(text) is not None


def has_cause(text: str) -> bool:
    return _CAUSE_IN_TEXT.search(text) is not None


def new_names(text: str, question: str) -> list[str]:
    """Names in `text` that the question does not already name."""
    asked = question.lower()
    return [name for name in names_in(text) if name.lower() not in asked]


def fits(kind: Kind, sentence: str, question: str) -> bool:
    """Whether `sentence` has the kind of answer the question wants (always True for open kinds)."""
    if kind in (Kind.ENTITY, Kind.PLACE):
        return bool(new_names(sentence, question))
    if kind is Kind.DATE:
        return has_date(sentence)
    if kind is Kind.NUMBER:
        return has_number(sentence)
    if kind is Kind.CAUSE:
        return has_cause(sentence)
    return True
