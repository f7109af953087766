"""Query hints: the sources and publication dates a news question names (pure text functions).

"according to TechCrunch", "The Verge's report of November 9, 2023", "before October 2023":
`parse_query_hints` finds such sources (among those the store holds, matched with care so
that 'Fortune' is not found in 'a fortune') and dates (days, months, years, with
before / until / after). Retrieval uses them as boosts, not filters.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass

from rag.text.dates import MONTH_NUMBERS, MONTH_WORDS

# Capitalised only: "may" and "march" are verbs more often than months.
_MONTH = r"(?P<month>" + MONTH_WORDS + r")\b\.?"
_DAY = r"(?P<day>[0-3]?\d)(?:st|nd|rd|th)?"
_YEAR = r"(?P<year>(?:19|20)\d\d)"
_DATE_PATTERNS = tuple(
    re.compile(pattern)
    for pattern in (
        r"(?<!\d)" + _YEAR + r"-(?P<month>[01]\d)-(?P<day>[0-3]\d)(?!\d)",  # 2023-10-05, 2023-10-05T22:42:00
        r"\b" + _MONTH + r"\s+" + _DAY + r"(?:,?\s+" + _YEAR + r")?(?!\d)",  # October 5, 2023 / Oct. 5th
        r"(?<!\d)" + _DAY + r"\s+(?:of\s+)?" + _MONTH + r"(?:,?\s+" + _YEAR + r")?(?!\d)",  # 5 October 2023
        r"\b" + _MONTH + r",?\s+" + _YEAR + r"(?!\d)",  # November 2023
        r"(?<!\d)" + _YEAR + r"-(?P<month>[01]\d)(?![\d-])",  # 2023-11
        r"\b(?:in|during|of|before|after|since|until)\s+" + _YEAR + r"(?![\d-])",  # in 2023, before 2024
    )
)
_BEFORE = re.compile(r"\b(?:before|prior\s+to|earlier\s+than)\s+(?:the\s+)?$", re.IGNORECASE)
_UNTIL = re.compile(r"\b(?:until|till|through|up\s+to)\s+(?:the\s+)?$", re.IGNORECASE)
_AFTER = re.compile(r"\b(?:after|since|following|later\s+than)\s+(?:the\s+)?$", re.IGNORECASE)
_OPEN_END = 99_991_231


@dataclass(frozen=True)
class DateRange:
    """Publication dates a question points at: inclusive bounds in `date_num` form (20231005).

    An `any_year` range (from "October 5th", no year) holds month*100+day bounds and
    compares only the month and day of a date.
    """

    start: int
    end: int
    any_year: bool = False

    def contains(self, date_num: int) -> bool:
        if date_num <= 0:  # undated article
            return False
        value = date_num % 10_000 if self.any_year else date_num
        return self.start <= value <= self.end


@dataclass(frozen=True)
class QueryHints:
    """Sources and publication dates a question mentions; used as ranking boosts, not filters."""

    sources: tuple[str, ...] = ()
    dates: tuple[DateRange, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.sources or self.dates)

    def matches_date(self, date_num: int) -> bool:
        return any(span.contains(date_num) for span in self.dates)


def _date_range(match: re.Match[str]) -> DateRange | None:
    found = match.groupdict()
    year = int(found["year"]) if found.get("year") else 0
    month_text = found.get("month") or ""
    month = int(month_text) if month_text.isdigit() else MONTH_NUMBERS.get(month_text.lower(), 0)
    day = int(found["day"]) if found.get("day") else 0
    if month > 12 or day > 31 or (month_text and not month) or (found.get("day") and not day):
        return None
    base = year * 10_000 + month * 100
    if day:
        return DateRange(base + day, base + day, any_year=not year)
    if month:
        return DateRange(base + 1, base + 31)
    return DateRange(base + 101, base + 1231)


def _day_before(date_num: int) -> int:
    """The previous day in date_num form, every month taken as 31 days long (fine for bounds)."""
    year, month, day = date_num // 10_000, date_num // 100 % 100, date_num % 100 - 1
    if day < 1:
        month, day = month - 1, 31
        if month < 1:
            year, month = year - 1, 12
    return max(0, year * 10_000 + month * 100 + day)


def _day_after(date_num: int) -> int:
    year, month, day = date_num // 10_000, date_num // 100 % 100, date_num % 100 + 1
    if day > 31:
        month, day = month + 1, 1
        if month > 12:
            year, month = year + 1, 1
    return year * 10_000 + month * 100 + day


def parse_dates(query: str) -> tuple[DateRange, ...]:
    """Dates a question names (days, months, years), in order of mention.

    "before X" / "prior to X" turn X into everything earlier, "until X" / "through X" into
    everything up to and including X, "after X" / "since X" / "following X" into everything
    later; any other mention means X itself.
    """
    found: list[tuple[int, DateRange]] = []
    taken: list[tuple[int, int]] = []
    for pattern in _DATE_PATTERNS:
        for match in pattern.finditer(query):
            if any(match.start() < end and start < match.end() for start, end in taken):
                continue
            span = _date_range(match)
            if span is None:
                continue
            taken.append(match.span())
            first = min(match.start(name) for name, value in match.groupdict().items() if value is not None)
            before = query[max(0, first - 30) : first]
            if _BEFORE.search(before):
                span = DateRange(0, _day_before(span.start), span.any_year)
            elif _UNTIL.search(before):
                span = DateRange(0, span.end, span.any_year)
            elif _AFTER.search(before):
                span = DateRange(_day_after(span.end), 1231 if span.any_year else _OPEN_END, span.any_year)
            found.append((match.start(), span))
    return tuple(dict.fromkeys(span for _, span in sorted(found, key=lambda pair: pair[0])))


_SECTION = re.compile(r"\s+[-|–—]\s+|:\s+")


def source_aliases(source: str) -> set[str]:
    """Ways a question may name a source.

    'The Independent - Life and Style' -> itself, 'The Independent', 'Independent';
    'FOX News - Health' -> also 'FOX News', 'FOX'; 'Cnbc | World Business News Leader' -> 'Cnbc'.
    A leading 'The' is dropped only when at least five letters remain ('The Age' stays whole).
    """
    name = " ".join(source.split())
    whole_and_head = {name, _SECTION.split(name, maxsplit=1)[0].strip()}
    names = set(whole_and_head)
    for alias in whole_and_head:
        if alias.startswith("The ") and len(alias) >= 9:
            names.add(alias[4:])
        words = alias.split()
        if len(words) == 2 and words[1] == "News" and words[0].isupper() and len(words[0]) >= 2:
            names.add(words[0])
    return {alias for alias in names if len(alias) >= 3}


def _spellings(alias: str) -> set[str]:
    """An alias as written, in capitals and in title case, matched case-sensitively so that
    'Fortune' is not found in 'a fortune' nor 'The Age' in 'the age of 16'; in lower case too
    when a word of it has an inner capital ('techcrunch', 'bbc'), which no common word has."""
    titled = " ".join(word[:1].upper() + word[1:].lower() for word in alias.split())
    spellings = {alias, alias.upper(), titled}
    if any(any(char.isupper() for char in word[1:]) for word in alias.split()):
        spellings.add(alias.lower())
    return spellings


@functools.lru_cache(maxsize=8)
def _source_matcher(known_sources: tuple[str, ...]) -> tuple[re.Pattern[str] | None, dict[str, tuple[str, ...]]]:
    owners: dict[str, set[str]] = {}
    for source in known_sources:
        for alias in source_aliases(source):
            for spelling in _spellings(alias):
                owners.setdefault(spelling, set()).add(source)
    if not owners:
        return None, {}
    alternatives = "|".join(re.escape(name) for name in sorted(owners, key=len, reverse=True))  # longest first
    return re.compile(r"(?<![\w.])(?:" + alternatives + r")(?!\w)"), {k: tuple(sorted(v)) for k, v in owners.items()}


def parse_sources(query: str, known_sources: Iterable[str]) -> tuple[str, ...]:
    """The known sources a question names, in order of mention (the longest name wins at each place)."""
    pattern, owners = _source_matcher(tuple(sorted({s for s in known_sources if s.strip()})))
    if pattern is None:
        return ()
    return tuple(dict.fromkeys(source for match in pattern.finditer(query) for source in owners[match.group()]))


def without_sources(query: str, known_sources: Iterable[str]) -> str:
    """The question with the names of the known sources it mentions blanked out (what it asks about,
    not where to look)."""
    pattern, _ = _source_matcher(tuple(sorted({s for s in known_sources if s.strip()})))
    return query if pattern is None else pattern.sub(" ", query)


def parse_query_hints(query: str, known_sources: Iterable[str]) -> QueryHints:
    """Sources (among `known_sources`) and publication dates that a question mentions."""
    return QueryHints(sources=parse_sources(query, known_sources), dates=parse_dates(query))
