"""Helpers of bench/scale.py for a store that grows while an app runs.

* `new_articles`: articles that are not in any synthetic store — each interleaves the chunks
  of two real MultiHop articles (so no two of them are near-duplicates, which the ingest
  would store once) and carries a marker word of its own in its title and first line;
* `StandInModel`: the embedder's stand-in for those ingests: the real MiniLM tokenizer (so
  chunking is real) and a deterministic unit vector per text (so the ingest does not spend
  an hour in the model: what is measured is everything an ingest does besides embedding);
* `App`: a running app in its own process (`python -m bench.scale --worker app`), which opens
  the pipeline as `rag serve` does, times questions, and then, when told an ingest ended,
  asks about a new article until it answers from it.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bench import synthetic as syn

PROBE_LIMIT_S = 120.0  # an app that has not answered from the new articles by then has failed the probe


def new_articles(source: syn.SourceChunks, count: int, start: int) -> list[dict[str, str]]:
    """JSON records of the new articles number `start` .. `start + count - 1` (see the module doc)."""
    groups = source.articles()
    n = len(groups)
    records = []
    for j in range(start, start + count):
        first, second = groups[j % n], groups[(j * 7 + 3 + j // n) % n]
        chunks = [source.texts[row] for pair in zip(first, second, strict=False) for row in pair][: len(first)]
        meta = source.metadatas[first[0]]
        word = marker(j)
        records.append(
            {
                "title": f"{meta.get('title', '')} {word}",
                "body": f"{word} report.\n\n" + "\n\n".join(chunks),
                "published_at": str(meta.get("date", "")),
                "source": str(meta.get("source", "")),
                "url": f"https://bench.example/new/{j}",
            }
        )
    return records


def marker(number: int) -> str:
    """A word no other article holds."""
    return f"zqnewx{number}"


def write_jsonl(path: Path, records: Sequence[dict[str, str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(record) + "\n" for record in records), encoding="utf-8")
    return path


class StandInModel:
    """MiniLM's id, dimension and tokenizer; a seeded unit vector per text instead of the model."""

    def __init__(self) -> None:
        from rag.models.embedding import MINILM_DIMENSION, MINILM_MODEL_ID, MiniLMEmbedder

        self.model_id, self.dimension = MINILM_MODEL_ID, MINILM_DIMENSION
        self._tokens = MiniLMEmbedder()
        self.seconds = 0.0

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        started = time.perf_counter()
        rows = []
        for text in texts:
            seed = int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "big")
            vector = np.random.default_rng(seed).standard_normal(self.dimension).astype(np.float32)
            rows.append(vector / np.linalg.norm(vector))
        self.seconds += time.perf_counter() - started
        return np.stack(rows) if rows else np.zeros((0, self.dimension), dtype=np.float32)

    def count_tokens(self, text: str) -> int:
        return self._tokens.count_tokens(text)


class App:
    """The app process: started, it opens the pipeline and times questions; `probe` asks until it answers."""

    def __init__(self, workdir: Path, port: int | None, queries: int, warmup: int, seed: int) -> None:
        command = [sys.executable, "-m", "bench.scale", "--worker", "app", "--workdir", str(workdir)]
        command += ["--queries", str(queries), "--warmup", str(warmup), "--seed", str(seed)]
        command += ["--port", str(port)] if port else []
        self.process = subprocess.Popen(
            command, cwd=syn.ROOT, env=syn.clean_env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        self.ready = self._read()

    def _read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the app process ended (exit code {self.process.wait()})")
        return dict(json.loads(line))

    def probe(self, question: str, article_id: str) -> dict[str, Any]:
        """Tell the app an ingest just ended; it asks `question` until a passage of `article_id` comes back."""
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps({"question": question, "article": article_id}) + "\n")
        self.process.stdin.flush()
        return self._read()

    def memory_mb(self) -> dict[str, float]:
        return syn.proc_memory_mb(self.process.pid)

    def stop(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            syn.stop_process(self.process)


def run_app(workdir: Path, port: int | None, queries: int, warmup: int, seed: int) -> None:
    """The app process's side of `App` (see there): JSON lines on stdout, probes on stdin."""
    from rag.models.embedding import MiniLMEmbedder
    from rag.pipeline import Pipeline
    from rag.search.retrieval import Retriever

    settings = syn.bench_settings(workdir / "local", "scale", chroma_port=port)
    model = TimedModel(MiniLMEmbedder(batch_size=settings.embed_batch_size))
    started = time.perf_counter()
    pipeline = Pipeline.open(settings, model)
    retriever = pipeline.retriever
    retriever.embedder = model  # the bare model: the embedding cache must not answer repeated questions
    first = syn.load_questions(1, seed)[0]
    retriever.retrieve(first, settings.top_k)
    ready: dict[str, Any] = {"open_and_first_query_s": time.perf_counter() - started, "queries": {}}
    questions = syn.load_questions(queries + warmup, seed)
    for mode in ("hybrid", "dense", "bm25"):
        timed = Retriever(pipeline.store, model, pipeline.lexical, mode, settings.candidates)
        ready["queries"][mode] = time_questions(timed, model, questions[:warmup], questions[warmup:], settings.top_k)
    ready["memory_mb"] = syn.proc_memory_mb(os.getpid())
    print(json.dumps(ready), flush=True)
    for line in sys.stdin:
        asked = json.loads(line)
        started, polls, answered = time.perf_counter(), 0, False
        while not answered and time.perf_counter() - started < PROBE_LIMIT_S:
            polls += 1
            answered = any(p.article_id == asked["article"] for p in retriever.retrieve(asked["question"], 5))
        result = {
            "seconds": time.perf_counter() - started,
            "answered": answered,
            "polls": polls,
            "app_wrote_index": pipeline.lexical.last_delta is not None,  # False: it followed, never rebuilt
            "memory_mb": syn.proc_memory_mb(os.getpid()),
        }
        print(json.dumps(result), flush=True)


class TimedModel:
    """Passes embedding through, adding up the seconds it took."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.model_id, self.dimension = inner, inner.model_id, inner.dimension
        self.seconds = 0.0

    def embed(self, texts: Any) -> np.ndarray:
        started = time.perf_counter()
        try:
            return np.asarray(self.inner.embed(texts))
        finally:
            self.seconds += time.perf_counter() - started

    def count_tokens(self, text: str) -> int:
        return int(self.inner.count_tokens(text))


def time_questions(retriever: Any, model: TimedModel, warm: list[str], timed: list[str], top_k: int) -> dict[str, Any]:
    """Latency of `retrieve` over `timed` questions: with the question's embedding, and after it (ms)."""
    for question in warm:
        retriever.retrieve(question, top_k)
    embeds, totals = [], []
    for question in timed:
        model.seconds = 0.0
        started = time.perf_counter()
        retriever.retrieve(question, top_k)
        totals.append(time.perf_counter() - started)
        embeds.append(model.seconds)
    after = [total - embed for total, embed in zip(totals, embeds, strict=True)]
    return {
        "n": len(timed),
        "embed_ms": ms_stats(embeds),
        "retrieval_ms": ms_stats(after),
        "total_ms": ms_stats(totals),
    }


def ms_stats(values: list[float]) -> dict[str, float]:
    return {
        "p50": syn.percentile(values, 50) * 1000,
        "p95": syn.percentile(values, 95) * 1000,
        "mean": float(np.mean(values)) * 1000 if values else float("nan"),
    }
