"""Tests for rag.text.dates: date spellings from files and feeds, and user-given filter bounds."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rag.errors import UsageError
from rag.text.dates import QueryFilters, date_from_name, normalise_date, parse_filter_date


@pytest.mark.parametrize(
    ("spelling", "expected"),
    [
        ("2023-11-27T08:45:59+00:00", "2023-11-27"),  # MultiHop's published_at
        ("2022-08-01T16:23:25Z", "2022-08-01"),  # the Guardian CSV
        ("2022/06/11", "2022-06-11"),  # the NYT CSV: year first is year-month-day
        ("Tue, 03 Oct 2023 09:30:00 +0000", "2023-10-03"),  # RSS pubDate
        ("Mon, 27 Nov 2023 23:30:00 -0500", "2023-11-27"),  # the day where it was written
        ("March 30, 2022", "2022-03-30"),
        ("Mar. 30, 2022", "2022-03-30"),
        ("30 March 2022", "2022-03-30"),
        ("30.03.2022", "2022-03-30"),  # 30 is no month: not ambiguous
        ("  2022-3-5 ", "2022-03-05"),
        ("2022-03", "2022-03"),
        ("March 2022", "2022-03"),
        ("2022", "2022"),
    ],
)
def test_spellings_are_read_as_precisely_as_written(spelling: str, expected: str) -> None:
    assert normalise_date(spelling) == expected


@pytest.mark.parametrize(
    "spelling",
    [
        "",
        "not a date",
        "May",
        "Friday",
        "10:00",
        "12",
        "99",
        "30/03/22",
        "March 30",
        "2022-02-30",
        "2022-13",
        "03/04/2022",
        "Updated 2022",
    ],
)
def test_no_full_year_impossible_or_ambiguous_is_unknown(spelling: str) -> None:
    assert normalise_date(spelling) == ""  # '03/04/2022': 3 April or March 4, so neither


@given(st.dates(min_value=date(1000, 1, 1)))  # dateutil reads '0099' as 1999: no news is dated so
def test_iso_dates_read_back_as_themselves(day: date) -> None:
    iso = day.isoformat()
    assert normalise_date(iso) == iso
    assert normalise_date(iso[:7]) == iso[:7]
    assert normalise_date(iso[:4]) == iso[:4]


def test_date_from_file_name() -> None:
    assert date_from_name("istanbul-talks-2022-03") == "2022-03"
    assert date_from_name("report-2023-10-17-final") == "2023-10-17"
    assert date_from_name("photo-20231017") == ""


def test_filter_bounds_accept_only_the_documented_forms() -> None:
    assert [parse_filter_date(v, "From") for v in ("2023", "2023-11", "2023-11-17", " ", None)] == [
        "2023",
        "2023-11",
        "2023-11-17",
        "",
        "",
    ]
    for spelling in ("2023/11/17", "November 2023", "17.11.2023", "2023-2-1", "2023-02-30", "20231117"):
        with pytest.raises(UsageError, match="YYYY, YYYY-MM or YYYY-MM-DD"):
            parse_filter_date(spelling, "From")
    with pytest.raises(UsageError, match="reversed"):
        QueryFilters.parse("2023-11", "2023-10-31")


def test_sources_are_named_as_the_collection_names_them() -> None:
    known = ["BBC", "TechCrunch", "The Verge"]
    chosen = QueryFilters.parse("2023-11", None, ["techcrunch", "The Verge", "TECHCRUNCH"])
    assert chosen.named_as(known, "news") == QueryFilters("2023-11", "", ("TechCrunch", "The Verge"))
    with pytest.raises(UsageError) as raised:
        QueryFilters.parse(sources=["Tech Crunch"]).named_as(known, "news")
    assert str(raised.value) == (
        "No articles from source 'Tech Crunch' in collection 'news'. Did you mean 'TechCrunch'? "
        "Its sources: BBC, TechCrunch, The Verge."
    )
    with pytest.raises(UsageError, match="source 'bbc'"):  # two sources differ only by case: no guess
        QueryFilters.parse(sources=["bbc"]).named_as(["BBC", "Bbc"], "news")
    assert QueryFilters.parse(sources=["Bbc"]).named_as(["BBC", "Bbc"], "news").sources == ("Bbc",)
    assert QueryFilters.parse("2030").nothing_matches() == (
        "No articles from 2030 on in this collection: widen the dates or choose other sources."
    )
