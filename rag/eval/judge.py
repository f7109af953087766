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

from llama_index.core.evaluation import CorrectnessEvaluator, FaithfulnessEvaluator
from llama_index.core.llms import LLM

from rag.answer.llm import describe, explain, model_name, provider_errors

CORRECT_SCORE = 4.0  # llama-index's default passing threshold on its 1-5 scale
_YES_NO = re.compile(r"\b(?:yes|no)\b", re.IGNORECASE)
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
    ) -> tuple[dict[str, float], list[str]]:
        """Correctness for answerable questions with a reference; faithfulness for answers that were given.

        A reply with no readable score or verdict, and a judge call that failed, is not scored:
        `judge_unreadable` (0/1 per judged question) counts it and a note ("Judge: …") says what came back.
        """
        scores: dict[str, float] = {}
        notes: list[str] = []
        try:
            if answerable and reference:
                judged = self.correctness.evaluate(query=question, response=answer, reference=reference)
                if judged.score is None:
                    notes.append(f"Judge: no 1-5 score in the correctness reply {_excerpt(judged.feedback)}.")
                else:
                    scores |= {"judge_correctness": float(judged.score), "judge_correct": float(bool(judged.passing))}
            if passages and not declined:
                faithful = self.faithfulness.evaluate(query=question, response=answer, contexts=list(passages))
                if _YES_NO.search(faithful.feedback or "") is None:
                    notes.append(f"Judge: no YES/NO in the faithfulness reply {_excerpt(faithful.feedback)}.")
                else:
                    scores["judge_faithful"] = float(bool(faithful.passing))
        except provider_errors() as error:
            notes.append(f"Judge: {explain(error, describe(self.llm))}")
        if (answerable and reference) or (passages and not declined):
            scores["judge_unreadable"] = float(bool(notes))
        return scores, notes


def _excerpt(reply: str | None) -> str:
    text = " ".join((reply or "").split())
    return repr(text[:80] + ("…" if len(text) > 80 else ""))
