"""bench/answers.py against an OpenAI-protocol server on loopback: the chat-model figures
are one command away (a real store of the demo article, a separate process)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import DEMO_DIR, ROOT, clean_env
from tests.openai_server import FakeOpenAI

KYIV = "What guarantees does Kyiv want?"


def test_bench_answers_scores_a_chat_model(tmp_path: Path) -> None:
    store = tmp_path / "store"
    env = clean_env(RAG_DATA_DIR=str(store))
    ingest = subprocess.run([sys.executable, "ingest.py", str(DEMO_DIR)], cwd=ROOT, env=env, capture_output=True)
    assert ingest.returncode == 0
    queries = tmp_path / "queries.json"
    queries.write_text(
        json.dumps(
            [
                {"query": KYIV, "answer": "designated guarantor countries", "question_type": "inference_query"},
                {"query": KYIV, "answer": "designated guarantor countries", "question_type": "inference_query"},
                {
                    "query": "Who won the 2018 World Cup?",
                    "answer": "Insufficient information.",
                    "question_type": "null_query",
                },
                {
                    "query": "Who won the 2018 World Cup?",
                    "answer": "Insufficient information.",
                    "question_type": "null_query",
                },
            ]
        ),
        encoding="utf-8",
    )

    def reply(messages: list[dict[str, str]]) -> str:
        if "World Cup" in messages[-1]["content"]:
            return "The articles do not say."
        return "Kyiv wants guarantees from designated guarantor countries with strong armies [1]."

    off = {"RAG_LLM_GATE": "off"}  # every question reaches the model, so the calls can be counted
    with FakeOpenAI(reply=reply) as server:
        result = bench(queries, env, server, RAG_LLM_PRICES='{"fake-model": [1, 2]}', **off)
        asked = server.request_count()
        server.mode = "error"
        failing = bench(queries, env, server, **off)
    assert result.returncode == 0, result.stderr
    assert asked == 4  # one question per type in each half
    rows = cells(result.stdout)
    assert rows["contains-answer, inference questions"].count("1.000 ✓") == 2  # both halves
    assert rows["null refusal"].count("1.000 ✓") == 2
    assert rows["answered by fake-model"].endswith("| 2 | 2 |")
    assert rows["fallbacks (the model failed)"].endswith("| 0 | 0 |")
    assert rows["model calls"].endswith("| 2 | 2 |") and "price unknown" not in rows["estimated cost (USD)"]
    assert "fell back" not in result.stdout
    failed = cells(failing.stdout)
    assert failing.returncode == 0 and failed["fallbacks (the model failed)"].endswith("| 2 | 2 |")
    assert "⚠ 4 of 4 answers fell back from the chat model to the local extractive answerer" in failing.stdout


def cells(stdout: str) -> dict[str, str]:
    """The table rows of bench/answers.py's output by their first cell."""
    return {line.split(" | ")[0].strip("| "): line for line in stdout.splitlines() if line.startswith("| ")}


def bench(queries: Path, env: dict[str, str], server: FakeOpenAI, **extra: str) -> subprocess.CompletedProcess[str]:
    """`python bench/answers.py` on `queries`, one question per type and half, the model on `server`."""
    model_env = {"OPENAI_API_KEY": "k", "OPENAI_BASE_URL": server.base_url, "RAG_LLM_MODEL": "fake-model", **extra}
    return subprocess.run(
        [
            sys.executable,
            "bench/answers.py",
            "--queries",
            str(queries),
            "--multihop-store",
            env["RAG_DATA_DIR"],
            "--per-type",
            "1",
        ],
        cwd=ROOT,
        env=env | model_env,
        capture_output=True,
        text=True,
        timeout=300,
    )
