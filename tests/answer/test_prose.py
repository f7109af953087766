"""The prose filter: each kind of page furniture is recognised, and news prose is kept."""

from __future__ import annotations

import pytest

from rag.answer.prose import is_prose, non_prose_reason


@pytest.mark.parametrize(
    ("sentence", "reason"),
    [
        ("🫡 — Sam Altman (@sama) November 17, 2023", "embed"),
        ("i loved my time at openai. pic.twitter.com/abc123", "embed"),
        ("Get in touch with TechCrunch", "call to action"),
        ("Sign up for our daily newsletter to get the best stories.", "call to action"),
        ("Subscribe to Fortune Daily to get essential business stories.", "call to action"),
        ("Do you work at OpenAI and know more about Sam Altman’s departure?", "call to action"),
        ("Watch every game of the Six Nations live on the broadcaster's app.", "call to action"),
        ("Stream all the races this season on a sports channel.", "call to action"),
        ("We'd love to hear from you.", "call to action"),
        ("Have you been affected? We would like to hear from you.", "call to action"),
        ("Tell us via the form below.", "call to action"),
        ("Will the board reverse its decision before Monday?", "question"),
        ("Photo: Justin Sullivan/Getty Images", "caption"),
        ("Ólafsfjörður offers heli adventures in north Iceland (Getty Images)", "caption"),
        ("Image Credits: TechCrunch", "caption"),
        ("2019 England 2015 Australia 2011 India 2007 Australia 2003 Australia", "table"),
        ("Team | Played | Won | Lost | Points", "table"),
        ("Home › News › Technology › AI", "navigation"),
        ("Sport » Football » Premier League", "navigation"),
    ],
)
def test_non_prose_is_recognised(sentence: str, reason: str) -> None:
    assert non_prose_reason(sentence) == reason
    assert not is_prose(sentence)


@pytest.mark.parametrize(
    "sentence",
    [
        "Sam Altman has been fired from OpenAI, Inc., the nonprofit that governs OpenAI.",
        "The board said Altman “wasn’t consistently candid in his communications” with other members.",
        "Shares rose 4.5% to $182.30 on Tuesday, after the company reported revenue of $89.5 billion.",
        "Users who subscribe to ChatGPT Plus pay $20 a month, the company told The Associated Press.",
        "Podolyak said Kyiv wants guarantees from countries with “strong armies”, including the US.",
        "Jacksonville improves to 5-2, while New Orleans drops to 3-4.",
        "Residents said they wanted to hear from the council before the vote.",
        "Tell us about it, the coach joked, when asked about the injury.",
        "Watch parties were held across the city as fans streamed the final live.",
        "Julliard didn’t review the terms of service agreement he’d assented to when making his FTX account.",
    ],
)
def test_prose_is_kept(sentence: str) -> None:
    assert non_prose_reason(sentence) is None and is_prose(sentence)
