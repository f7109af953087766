"""Answer a list of questions with whatever version of `rag` is importable (bench/answers.py runs
this file with a checkout of any version of the project on PYTHONPATH, so versions are compared
on the same questions). It uses only what every version has: `Pipeline.open`, the engine's
`standalone`, `retriever.retrieve` and `finish`.

stdin: a JSON list of {"id", "question", "follows"}; a follow-up is asked after the question it
follows, with that turn as history. stdout: one JSON line per question: id, searched, answer,
declined, answerer, quotes ([claim, cited passage text] pairs) and the seconds spent answering.
Settings come from the environment (RAG_DATA_DIR, RAG_COLLECTION, OPENAI_API_KEY, …).
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any


def _claims() -> Any:
    try:
        from rag.answer.citations import claims
    except ImportError:  # before the package was split into stages
        from rag.citations import claims  # type: ignore[import-not-found,no-redef]
    return claims


def main() -> int:
    from rag.chat import Exchange
    from rag.config import Settings
    from rag.pipeline import Pipeline

    claims = _claims()
    engine = Pipeline.open(Settings()).engine
    turns: dict[str, Any] = {}
    for item in json.load(sys.stdin):
        first = turns.get(item.get("follows") or "")
        history = [first] if first is not None else []
        searched, _ = engine.standalone(item["question"], history)
        passages = engine.retriever.retrieve(searched, engine.top_k)
        started = time.perf_counter()
        final = engine.finish(searched, passages)
        seconds = time.perf_counter() - started
        answer = final.answer
        turns[item["id"]] = Exchange(item["question"], searched, answer.text)
        quotes = [
            [claim, "\n".join(f"{p.title}\n{p.text}" for p in answer.passages[n - 1 : n])]
            for claim, numbers in claims(answer.text)
            for n in numbers[:1]
            if 1 <= n <= len(answer.passages)
        ]
        usage = getattr(answer, "usage", None)  # versions before token usage was counted have none
        row = {
            "id": item["id"],
            "searched": searched,
            "answer": answer.text,
            "declined": answer.declined,
            "answerer": answer.answerer,
            "fallback": bool(getattr(answer, "fallback", False)),
            "usage": usage.as_json() if usage is not None else None,
            "quotes": quotes,
            "seconds": seconds,
        }
        print(json.dumps(row, ensure_ascii=False), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
