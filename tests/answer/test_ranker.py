"""The ranker's weights file: written and read back exactly, and a broken or outdated one is a clear error."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from rag.answer.ranker import Linear, RankerModel
from rag.errors import ConfigurationError


def linear(*features: str) -> Linear:
    n = len(features)
    return Linear(features, np.zeros(n), np.ones(n), np.arange(1.0, n + 1), -1.0)


MODEL = RankerModel(
    linear("a", "b"),
    linear("linear", "cross"),
    linear("q"),
    linear("q"),
    0.4,
    0.2,
    0.3,
    0.1,
    {"trained_on": {"natural": 3}},
)


def test_weights_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "ranker.json"
    MODEL.save(path)
    loaded = RankerModel.load(path)
    assert loaded.rank.features == ("a", "b") and loaded.about == MODEL.about
    assert loaded.rerank.features == ("linear", "cross")
    assert (loaded.answer_threshold, loaded.gate_threshold) == (0.4, 0.1)
    rows = np.array([[1.0, 2.0], [0.0, 0.0]])
    assert np.allclose(loaded.rank.logits(rows), [4.0, -1.0])
    probabilities = loaded.rank.probabilities(rows)
    assert 0 < probabilities[1] < 0.5 < probabilities[0] < 1


def test_columns_are_picked_by_name() -> None:
    rows = np.array([[10.0, 1.0, 2.0]])
    assert np.allclose(MODEL.rank.select(rows, ("x", "a", "b")), [[1.0, 2.0]])


def test_missing_or_outdated_weights_say_how_to_rebuild_them(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="train_ranker"):
        RankerModel.load(tmp_path / "absent.json")
    old = tmp_path / "old.json"
    MODEL.save(old)
    old.write_text(json.dumps(json.loads(old.read_text()) | {"format": 0}))
    with pytest.raises(ConfigurationError, match="format 0"):
        RankerModel.load(old)
