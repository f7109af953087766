"""The shipped answer cross-encoder (int8 ONNX): it prefers the sentence that answers, reads Title Case as
sentence case, and a missing model file is a clear error that says how to rebuild it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rag.answer.cross_encoder import CrossEncoder, pair_text
from rag.errors import ConfigurationError

HEADLINE = "OpenAI's board fires Sam Altman"
SENTENCES = [
    "Mira Murati, the chief technology officer, stepped in as interim CEO on Friday.",
    "The company's offices in San Francisco were quiet over the weekend.",
    "Shares of Microsoft fell 1.7% in after-hours trading.",
]


@pytest.fixture(scope="module")
def model() -> CrossEncoder:
    return CrossEncoder()


def test_the_answering_sentence_scores_highest(model: CrossEncoder) -> None:
    scores = model.scores("Who took over from Sam Altman?", [pair_text(s, HEADLINE) for s in SENTENCES])
    assert scores.shape == (3,) and int(np.argmax(scores)) == 0


def test_case_does_not_decide(model: CrossEncoder) -> None:
    texts = [pair_text(s, HEADLINE) for s in SENTENCES]
    plain = model.scores("who took over from sam altman?", texts)
    assert np.allclose(model.scores("Who Took Over From Sam Altman?", texts), plain)
    assert np.allclose(model.scores("WHO TOOK OVER FROM SAM ALTMAN?", texts), plain)


def test_nothing_to_read_costs_nothing(model: CrossEncoder) -> None:
    assert model.scores("Who took over?", []).shape == (0,)


def test_a_headline_is_not_read_twice() -> None:
    assert pair_text(HEADLINE, HEADLINE) == HEADLINE
    assert pair_text(SENTENCES[0], HEADLINE) == f"{SENTENCES[0]} — {HEADLINE}"


def test_a_missing_model_says_how_to_rebuild_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="train_cross_encoder"):
        CrossEncoder(tmp_path / "absent.onnx").scores("Who?", ["Someone did."])
