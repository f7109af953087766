"""What a sentence names: names, places, dates, numbers, causes (pure functions)."""

from __future__ import annotations

from rag.text import mentions

SENTENCE = "Mira Murati, OpenAI's chief technology officer, stepped in as interim CEO in San Francisco on Friday."


def test_names_drop_sentence_openers_and_possessives() -> None:
    assert mentions.names("The board of OpenAI fired Sam Altman.") == ["OpenAI", "Sam Altman"]
    assert "OpenAI" in mentions.names(SENTENCE)
    assert mentions.names("In March, Bank of America said so.") == ["Bank of America"]


def test_new_names_are_the_ones_the_question_lacks_whatever_its_case() -> None:
    assert mentions.new_names(SENTENCE, "who replaced altman at openai?") == ["Mira Murati", "CEO", "San Francisco"]
    assert "OpenAI" not in mentions.new_names(SENTENCE, "WHO STEPPED IN AT OPENAI?")


def test_places_follow_a_preposition_of_place() -> None:
    assert mentions.place_names(SENTENCE) == ["San Francisco"]
    assert mentions.place_names("The talks began in Istanbul on Tuesday.") == ["Istanbul"]


def test_dates_numbers_and_causes() -> None:
    assert mentions.has_date("The talks began on Tuesday.") and mentions.has_date("It was founded in 2011.")
    assert mentions.has_date("Sales rose in March.") and not mentions.has_date("Sales rose sharply.")
    assert mentions.has_number("about 20 percent") and mentions.has_number("two million people")
    assert mentions.new_numbers("It sold 1,200 units in 2023.", "How many units in 2023?") == ["1,200"]
    assert mentions.years("From 1998 to 2023, and 12023 is not a year") == ["1998", "2023"]
    assert mentions.has_cause("He resigned because of the scandal.")
    assert mentions.has_cause("The board fired him, citing a lack of candour.")
    assert not mentions.has_cause("He resigned on Friday.")
