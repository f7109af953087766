"""Judged evaluation: a chat model scores answers through llama-index's evaluators.

`Judge` wraps `CorrectnessEvaluator` (the answer against the reference answer, 1-5;
correct when at least 4) and `FaithfulnessEvaluator` (is the answer supported by the
passages it was given: yes/no) around any llama-index LLM, and returns scores that
`rag.eval.run` reports next to its lexical metrics, per question type. Imported only
by `rag eval --judge`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from llama_index.core.evaluation import CorrectnessEvaluator, EvaluationResult, FaithfulnessEvaluator
from llama_index.core.llms import LLM

from rag.answer.llm import describe, explain, model_name, provider_errors

CORRECT_SCORE = 4.0  # llama-index's default passing threshold on its 1-5 scale
_SCORE_LINE = re.compile(r"^\W*(?:score\W*)?([1-5](?:\.\d+)?)\b", re.MULTILINE | re.IGNORECASE)


def parse_correctness(reply: str) -> tuple[float | None, str]:
    """The first line-leading 1-5 score in the judge's reply, and the reply as its reasoning.

    (llama-index's default parser fails on a reply that is only a score, with no reasoning line.)
    """
    match = _SCORE_LINE.search(reply)
    return (float(match.group(1)) if match else None), reply.strip()


class Judge:
    """Scores one answer: `judge_correctness` (1-5), `judge_correct` (0/1), `judge_faithful` (0/1)."""

    def __init__(self, llm: LLM) -> None:
        self.llm, self.name = llm, model_name(llm)
        self.correctness = CorrectnessEvaluator(
            llm=llm, score_threshold=CORRECT_SCORE, parser_function=parse_correctness
        )
        self.faithfulness = FaithfulnessEvaluator(llm=llm)

    def score(
        self, question: str, answer: str, reference: str, passages: Sequence[str], answerable: bool, declined: bool
    ) -> dict[str, float]:
        """Correctness for answerable questions with a reference; faithfulness for answers that were given."""
        scores: dict[str, float] = {}
        try:
            if answerable and reference:
                judged = self.correctness.evaluate(query=question, response=answer, reference=reference)
                scores |= {"judge_correctness": _score(judged), "judge_correct": float(bool(judged.passing))}
            if passages and not declined:
                faithful = self.faithfulness.evaluate(query=question, response=answer, contexts=list(passages))
                scores["judge_faithful"] = float(bool(faithful.passing))
        except provider_errors() as error:
            raise explain(error, describe(self.llm)) from error
        return scores


def _score(result: EvaluationResult) -> float:
    """The judge's 1-5 score; a reply without a readable score counts as the worst."""
    return float(result.score) if result.score is not None else 1.0
