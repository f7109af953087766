"""The answer-sentence scorer: a cross-encoder (MiniLM fine-tuned by bench/train_scorer.py, int8 ONNX,
shipped as rag/answer/scorer.onnx) that reads a question and a candidate sentence together and gives
a logit for "this sentence answers the question". Run with onnxruntime and the embedder's tokenizer.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from rag.errors import ConfigurationError

SCORER = Path(__file__).with_name("scorer.onnx")
MAX_LENGTH = 128  # tokens of question and candidate together (the longer is cut first)
BATCH = 32


class AnswerScorer:
    """Scores (question, candidate) pairs; thread-safe."""

    def __init__(self, path: Path = SCORER) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        from rag.models.embedding import minilm_tokenizer_file

        if not path.is_file():
            raise ConfigurationError(
                f"The answer scorer {path} is missing: reinstall the package, or rebuild it with bench/train_scorer.py."
            )
        self._tokenizer = Tokenizer.from_file(str(minilm_tokenizer_file()))
        self._tokenizer.enable_truncation(max_length=MAX_LENGTH, strategy="longest_first")
        self._tokenizer.enable_padding(pad_id=0, pad_type_id=0, pad_token="[PAD]")
        self._session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        self._lock = threading.Lock()

    def score(self, question: str, candidates: Sequence[str]) -> np.ndarray:
        """One logit per candidate: higher = more likely to answer the question."""
        logits = [np.zeros(0, dtype=np.float32)]
        for start in range(0, len(candidates), BATCH):
            pairs = [(question, text) for text in candidates[start : start + BATCH]]
            with self._lock:
                encodings = self._tokenizer.encode_batch(pairs)
            feeds = {
                "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
                "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
                "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
            }
            logits.append(np.asarray(self._session.run(["logits"], feeds)[0], dtype=np.float32).reshape(-1))
        return np.concatenate(logits)
