"""The trained answer ranker and its calibrated decline: weights learnt by bench/train_ranker.py,
shipped as rag/answer/ranker.json, applied with numpy.

Four linear models over rag.answer.features: the ranker (a pairwise logistic regression: its
weights order a question's candidate sentences); the reranker (another, over the ranker's logit and
the cross-encoder's score of its first candidates, rag.answer.cross_encoder: its order is final, the
best leads the answer); the decline model over
question-level features, whose output is the probability that the lead answers the question; and
the relevance model over the same features, whose output is the probability that the passages
answer the question at all (both logistic regressions, calibrated on the dev data). Below
`answer_threshold` or `relevance_threshold` (chosen together on the dev data) the offline answer
declines (in a collection of fewer than rag.answer.features.FULL_IDF chunks, where the relevance
model is not calibrated, the lead's probability alone decides, against `small_threshold`); below
`gate_threshold` of relevance a configured chat model is not asked at all (chosen
to let nearly every answerable question through).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rag.errors import ConfigurationError

WEIGHTS = Path(__file__).with_name("ranker.json")
FORMAT = 6


@dataclass(frozen=True)
class Linear:
    """A standardised linear model: logit = ((x - mean) / scale) · coef + intercept."""

    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float

    def logits(self, rows: np.ndarray) -> np.ndarray:
        """One logit per row; `rows` has one column per feature, in `features` order."""
        return np.asarray(((rows - self.mean) / self.scale) @ self.coef + self.intercept, dtype=np.float64)

    def probabilities(self, rows: np.ndarray) -> np.ndarray:
        return np.asarray(1.0 / (1.0 + np.exp(-self.logits(rows))), dtype=np.float64)

    def to_json(self) -> dict[str, Any]:
        return {
            "features": list(self.features),
            "mean": [round(float(v), 6) for v in self.mean],
            "scale": [round(float(v), 6) for v in self.scale],
            "coef": [round(float(v), 6) for v in self.coef],
            "intercept": round(float(self.intercept), 6),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Linear:
        return cls(
            tuple(data["features"]),
            np.asarray(data["mean"], dtype=np.float64),
            np.asarray(data["scale"], dtype=np.float64),
            np.asarray(data["coef"], dtype=np.float64),
            float(data["intercept"]),
        )

    def select(self, rows: np.ndarray, columns: tuple[str, ...]) -> np.ndarray:
        """The columns of `rows` (named `columns`) this model reads, in its order."""
        return rows[:, [columns.index(name) for name in self.features]]


@dataclass(frozen=True)
class RankerModel:
    """The shipped weights: ranker, reranker, decline and relevance models, and their thresholds."""

    rank: Linear
    rerank: Linear
    decline: Linear
    relevance: Linear
    answer_threshold: float  # the offline answer declines below this probability
    relevance_threshold: float  # ... or below this relevance
    small_threshold: float  # in a small collection (relevance not calibrated there): this probability alone
    gate_threshold: float  # a chat model is not asked below this relevance
    about: dict[str, Any] = field(default_factory=dict)  # what it was trained on, and its dev figures

    def save(self, path: Path) -> None:
        data = {
            "format": FORMAT,
            "about": self.about,
            "answer_threshold": round(self.answer_threshold, 6),
            "relevance_threshold": round(self.relevance_threshold, 6),
            "small_threshold": round(self.small_threshold, 6),
            "gate_threshold": round(self.gate_threshold, 6),
            "rank": self.rank.to_json(),
            "rerank": self.rerank.to_json(),
            "decline": self.decline.to_json(),
            "relevance": self.relevance.to_json(),
        }
        path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path = WEIGHTS) -> RankerModel:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as error:
            raise ConfigurationError(
                f"Cannot read the answer ranker's weights {path} ({error}); reinstall the package, "
                "or rebuild them with python -m bench.train_ranker."
            ) from error
        if data.get("format") != FORMAT:
            raise ConfigurationError(
                f"{path} has weights format {data.get('format')!r}, this version reads {FORMAT}: "
                "rebuild them with python -m bench.train_ranker."
            )
        return cls(
            Linear.from_json(data["rank"]),
            Linear.from_json(data["rerank"]),
            Linear.from_json(data["decline"]),
            Linear.from_json(data["relevance"]),
            float(data["answer_threshold"]),
            float(data["relevance_threshold"]),
            float(data["small_threshold"]),
            float(data["gate_threshold"]),
            dict(data.get("about", {})),
        )
