"""Ingest throughput, memory and `rag ask` latency on the MultiHop-RAG corpus.

    python -m bench.ingest [--articles 100] [--questions 30]
    python -m bench.ingest --memory 60:64 60:16 609:16     # peak RSS of `rag ingest` processes (articles:batch)

1. Ingests the first N articles of the corpus into a fresh store (cold embedding cache) and
   prints chunks/s, next to the embedder's own speed on the same chunk texts.
2. Re-ingests unchanged (a no-op) and after editing one article (only it is re-embedded).
3. Times answering (retrieval + extractive answer) in-process over dev questions, and one
   cold `rag ask` command (process start, model load, answer).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rag.config import Settings
from rag.eval.metrics import percentile
from rag.ingest.chunking import chunk_text
from rag.ingest.files import LoadOptions, load_file
from rag.models.embedding import MiniLMEmbedder
from rag.pipeline import Pipeline

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "multihop-rag"


def settings_for(data_dir: Path) -> Settings:
    return Settings(_env_file=None, data_dir=data_dir, collection="bench", openai_api_key=None)  # type: ignore[call-arg]


def timed(label: str, function, *args, **kwargs):
    started = time.perf_counter()
    result = function(*args, **kwargs)
    seconds = time.perf_counter() - started
    print(f"  {label}: {seconds:.2f} s")
    return result, seconds


def memory(corpus: Path, runs: list[str]) -> None:
    """Each run is a fresh `rag ingest --quiet` process (cold store and embedding cache) of the first
    N corpus articles with RAG_EMBED_BATCH_SIZE=B; its wall time, chunks/s and peak RSS (from wait4)."""
    records = json.loads(corpus.read_text(encoding="utf-8"))
    print("articles  batch  chunks  seconds  chunks/s  peak RSS")
    for run in runs:
        articles, batch = (int(part) for part in run.split(":"))
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "corpus.json"
            path.write_text(json.dumps(records[:articles]), encoding="utf-8")
            env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "RAG_", "CHROMA_"))}
            env |= {"RAG_DATA_DIR": str(Path(tmp) / "store"), "RAG_EMBED_BATCH_SIZE": str(batch)}
            started = time.perf_counter()
            child = subprocess.Popen(
                [sys.executable, "-m", "rag", "ingest", "--quiet", str(path)],
                env=env,
                stdout=subprocess.PIPE,
                text=True,
            )
            output = child.stdout.read() if child.stdout else ""
            _, status, usage = os.wait4(child.pid, 0)
            seconds = time.perf_counter() - started
            assert status == 0, output
            chunks = int(output.split("chunks written ")[1].split()[0])
            print(
                f"{articles:8d}  {batch:5d}  {chunks:6d}  {seconds:7.1f}  {chunks / seconds:8.1f}  "
                f"{usage.ru_maxrss / 1024:5.0f} MiB"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=100, help="corpus articles to ingest (default 100 of 609)")
    parser.add_argument("--questions", type=int, default=30, help="dev questions to time answering on")
    parser.add_argument("--corpus", type=Path, default=DATA / "corpus.json")
    parser.add_argument("--queries", type=Path, default=DATA / "queries-dev.json")
    parser.add_argument("--memory", nargs="+", metavar="ARTICLES:BATCH", help="only the peak-RSS runs")
    args = parser.parse_args()
    if args.memory:
        memory(args.corpus, args.memory)
        return

    print(
        f"machine: {os.cpu_count()} cores, {platform.processor() or platform.machine()}, Python "
        f"{platform.python_version()}"
    )
    records = json.loads(args.corpus.read_text(encoding="utf-8"))[: args.articles]
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus.json"
        corpus.write_text(json.dumps(records), encoding="utf-8")
        model = MiniLMEmbedder()
        pipeline = Pipeline.open(settings_for(Path(tmp) / "store"), model)

        print(f"1. first ingest of {len(records)} articles (cold cache)")
        report, seconds = timed("ingest", pipeline.ingest, [corpus], progress=True)
        ingest_rate = report.chunks_written / seconds
        print(f"  {report.summary()}")
        articles, _ = load_file(corpus, LoadOptions())
        texts = [c.text for a in articles for c in chunk_text(a.text, model.count_tokens, 200, 40)]
        _, embed_seconds = timed(f"embedder alone on the same {len(texts)} chunks", MiniLMEmbedder().embed, texts)
        embed_rate = len(texts) / embed_seconds
        print(
            f"  ingest {ingest_rate:.1f} chunks/s vs embedder alone {embed_rate:.1f} chunks/s "
            f"= {100 * ingest_rate / embed_rate:.0f}% of the embedder's speed"
        )

        print("2. re-ingest")
        report, _ = timed("no-op re-ingest", pipeline.ingest, [corpus], progress=False)
        print(f"  {report.summary()}")
        records[0]["body"] += " An editor added this sentence to the article."
        corpus.write_text(json.dumps(records), encoding="utf-8")
        report, _ = timed("re-ingest after editing one article", pipeline.ingest, [corpus], progress=False)
        print(f"  {report.summary()}")

        print(f"3. answering {args.questions} dev questions (hybrid retrieval, extractive answers)")
        queries = [q["query"] for q in json.loads(args.queries.read_text(encoding="utf-8"))[: args.questions]]
        latencies = []
        for question in queries:
            started = time.perf_counter()
            pipeline.engine.answer(question)
            latencies.append(1000 * (time.perf_counter() - started))
        print(
            f"  in-process answer latency: p50 {percentile(latencies, 50):.0f} ms, p95 "
            f"{percentile(latencies, 95):.0f} ms"
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "RAG_", "CHROMA_"))}
        env |= {"RAG_DATA_DIR": str(Path(tmp) / "store"), "RAG_COLLECTION": "bench"}
        timed(
            "cold `rag ask` (new process)",
            subprocess.run,
            [sys.executable, "-m", "rag", "ask", queries[0]],
            env=env,
            capture_output=True,
            check=True,
        )


if __name__ == "__main__":
    main()
