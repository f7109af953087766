"""The shipped answer scorer (int8 ONNX cross-encoder) reads question and sentence together."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.answer.scorer import AnswerScorer
from rag.errors import ConfigurationError


@pytest.fixture(scope="module")
def scorer() -> AnswerScorer:
    return AnswerScorer()


def test_the_answering_sentence_scores_highest(scorer: AnswerScorer) -> None:
    question = "How many tackles did the flanker make in the final?"
    candidates = [
        "The flanker played his best match in four years as he led the defence in the final.",
        "The back-rower made 28 tackles, each as bone-crunching as the next.",
        "Tickets for the final sold out within minutes.",
    ]
    scores = scorer.score(question, candidates)
    assert scores.shape == (3,) and int(scores.argmax()) == 1


def test_long_inputs_and_none_at_all(scorer: AnswerScorer) -> None:
    assert scorer.score("Why?", []).shape == (0,)
    long = "word " * 400
    assert scorer.score(long, [long, "short"]).shape == (2,)  # cut to the model's length, not an error


def test_a_missing_model_says_how_to_get_it_back(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="train_scorer"):
        AnswerScorer(tmp_path / "absent.onnx")
