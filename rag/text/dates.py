"""Dates and query filters: the one parser and normaliser of dates (pure functions).

Articles carry dates as `YYYY-MM-DD`, `YYYY-MM` or `YYYY` (`normalise_date` reads the
spellings found in files and feeds, with python-dateutil); the store keeps them as integers (`date_number`,
20220330) for range filters. `QueryFilters.parse` is the one place where the CLI, the
web app and the API turn user-given bounds into filters: a malformed or reversed range
is a `UsageError` naming the accepted forms.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from dateutil import parser as dateutil_parser

from rag.errors import UsageError

ACCEPTED_FORMS = "YYYY, YYYY-MM or YYYY-MM-DD"

# English month names, each with the abbreviations news text uses; the one list of them.
MONTHS: tuple[tuple[str, ...], ...] = (
    ("January", "Jan"),
    ("February", "Feb"),
    ("March", "Mar"),
    ("April", "Apr"),
    ("May",),
    ("June", "Jun"),
    ("July", "Jul"),
    ("August", "Aug"),
    ("September", "Sep", "Sept"),
    ("October", "Oct"),
    ("November", "Nov"),
    ("December", "Dec"),
)
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTH_NUMBERS = {name.lower(): number for number, names in enumerate(MONTHS, start=1) for name in names}
"""'january' and 'jan' -> 1, ... (lower-cased keys)."""
MONTH_NAME_PATTERN = "(?:" + "|".join(names[0] for names in MONTHS) + ")"
"""A full month name, capitalised (as a regular expression)."""
MONTH_WORDS = "|".join(sorted(MONTH_NUMBERS, key=len, reverse=True)).title()
"""Capitalised month names and abbreviations, longest first (a regular-expression alternation)."""
MONTH_PATTERN = f"(?:{MONTH_WORDS})\\.?"
"""A capitalised month name or abbreviation with an optional period ("May" and "March" are verbs
more often than months, so lower-case words are not months)."""
_YEAR_FIRST = re.compile(r"\d{4}(?!\d)")
_FULL_YEAR = re.compile(r"\d{4}")
_DEFAULTS = (datetime(2000, 1, 1), datetime(2001, 2, 2))
_FILTER_DATE = re.compile(r"\d{4}(?:-\d{2}(?:-\d{2})?)?")
_NAME_DATE = re.compile(r"(?<!\d)\d{4}-\d{2}(?:-\d{2})?(?!\d)")


def normalise_date(value: str) -> str:
    """'YYYY-MM-DD', 'YYYY-MM' or 'YYYY' from a date as files, feeds and pages spell it (ISO 8601, RFC 2822,
    'March 30, 2022', '30.03.2022', ...); '' when unparseable, without a year written out in full, or
    ambiguous ('03/04/2022': 3 April or March 4). Parsed by python-dateutil: a year-first date is read
    year-month-day; any other is read day-first and month-first, and must agree."""
    value = " ".join(value.split())
    if not _FULL_YEAR.search(value):  # '12', 'Friday', '30/03/22': a guess, not a date
        return ""
    orders = (False,) if _YEAR_FIRST.match(value) else (False, True)
    readings = {_read_date(value, dayfirst) for dayfirst in orders} - {""}
    return readings.pop() if len(readings) == 1 else ""


def _read_date(value: str, dayfirst: bool) -> str:
    """One reading, as precise as the text: parsed against two different defaults, a field that
    comes out different was not in the text."""
    try:
        readings: list[datetime] = [dateutil_parser.parse(value, default=d, dayfirst=dayfirst) for d in _DEFAULTS]
    except (ValueError, OverflowError):
        return ""
    first, second = readings
    if first.year != second.year:
        return ""
    if first.month != second.month:
        return f"{first.year:04d}"
    if first.day != second.day:
        return f"{first.year:04d}-{first.month:02d}"
    return first.date().isoformat()


def date_from_name(name: str) -> str:
    """A `YYYY-MM[-DD]` date found in a file name, normalised; '' when none."""
    match = _NAME_DATE.search(name)
    return normalise_date(match.group()) if match else ""


def date_number(value: str) -> int:
    """'2022-03-30' -> 20220330, '2022-03' -> 20220301, '2022' -> 20220101, '' -> 0 (for range filters)."""
    parts = [int(part) for part in value.split("-") if part.isdigit()]
    if not parts:
        return 0
    year, month, day = ([*parts, 1, 1])[:3]
    return year * 10000 + month * 100 + day


def end_of_period(value: str) -> int:
    """Upper bound for a possibly partial date: '2022-03' -> 20220399, '2022' -> 20229999."""
    parts = value.split("-")
    base = date_number(value)
    return base + (98 if len(parts) == 2 else 9898 if len(parts) == 1 else 0)


def parse_filter_date(value: str | None, label: str) -> str:
    """A user-given bound, checked: '' for none; a `UsageError` naming the accepted forms otherwise."""
    text = (value or "").strip()
    if not text:
        return ""
    if not _FILTER_DATE.fullmatch(text) or normalise_date(text) != text:
        raise UsageError(f"{label} date '{text}' is not a date: use {ACCEPTED_FORMS} (e.g. 2023-11 or 2023-11-17).")
    return text


@dataclass(frozen=True)
class QueryFilters:
    """Restrictions on which articles may answer: ISO date bounds (inclusive) and sources."""

    date_from: str = ""
    date_to: str = ""
    sources: tuple[str, ...] = field(default_factory=tuple)

    @classmethod
    def parse(cls, date_from: str | None = None, date_to: str | None = None, sources: Any = ()) -> QueryFilters:
        """Filters from user input; malformed or reversed dates raise `UsageError`."""
        start = parse_filter_date(date_from, "From")
        end = parse_filter_date(date_to, "To")
        if start and end and date_number(start) > end_of_period(end):
            raise UsageError(f"The date range is reversed: from {start} is after to {end}. Swap the two dates.")
        names = tuple(dict.fromkeys(str(s).strip() for s in (sources or ()) if str(s).strip()))
        return cls(start, end, names)

    def __bool__(self) -> bool:
        return bool(self.date_from or self.date_to or self.sources)

    def named_as(self, known: Sequence[str], collection: str) -> QueryFilters:
        """These filters with each source written as the collection writes it (`known`): case does not
        matter ("techcrunch" is TechCrunch) unless two sources differ only by case. A source the
        collection lacks raises `UsageError` naming the ones it has."""
        folded: dict[str, list[str]] = {}
        for name in known:
            folded.setdefault(name.casefold(), []).append(name)
        resolved, unknown = [], []
        for name in self.sources:
            same_case = folded.get(name.casefold(), [])
            matches = [name] if name in same_case else same_case
            if len(matches) == 1:
                resolved.append(matches[0])
            else:
                unknown.append(name)
        if unknown:
            missing = ", ".join(f"'{name}'" for name in unknown)
            close = difflib.get_close_matches(unknown[0], known, n=1, cutoff=0.6)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            raise UsageError(
                f"No articles from source {missing} in collection '{collection}'.{hint} "
                f"Its sources: {', '.join(known) or 'none'}."
            )
        return replace(self, sources=tuple(dict.fromkeys(resolved)))

    def describe(self) -> str:
        """Human-readable: 'between 2023-10 and 2023-11, from TechCrunch'; '' when unfiltered."""
        parts = []
        if self.date_from and self.date_to:
            parts.append(f"between {self.date_from} and {self.date_to}")
        elif self.date_from:
            parts.append(f"from {self.date_from} on")
        elif self.date_to:
            parts.append(f"up to {self.date_to}")
        if self.sources:
            parts.append("from " + ", ".join(self.sources))
        return ", ".join(parts)

    def nothing_matches(self) -> str:
        """What to say when no article of the collection passes these filters."""
        return no_articles_notice(self.describe())

    def chroma_where(self) -> dict[str, Any] | None:
        clauses: list[dict[str, Any]] = []
        if self.date_from:
            clauses.append({"date_num": {"$gte": date_number(self.date_from)}})
        if self.date_to:
            clauses.append({"date_num": {"$lte": end_of_period(self.date_to)}})
        if self.sources:
            clauses.append({"source": {"$in": list(self.sources)}})
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}

    def admits(self, metadata: dict[str, Any]) -> bool:
        day = int(metadata.get("date_num", 0))
        if self.date_from and day < date_number(self.date_from):
            return False
        if self.date_to and day > end_of_period(self.date_to):
            return False
        return not self.sources or metadata.get("source") in self.sources


def no_articles_notice(described: str) -> str:
    """What to say when no article passes the filters `described` (QueryFilters.describe)."""
    return f"No articles {described} in this collection: widen the dates or choose other sources."
