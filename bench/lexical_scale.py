"""The keyword index alone at 10k, 100k and 1M chunks: build, size, memory, query and update cost.

bench/scale.py measures the whole app, but writing 1M chunks into Chroma on this 2-core
machine takes hours when other jobs run; this script measures the part rag.search.lexical
owns on the same synthetic chunks (copies of the real MultiHop chunks, see bench/synthetic.py)
without Chroma: a stand-in store (`MemoryStore`: the manifest, chunk pages and chunks by id,
the same calls `ChunkStore` answers) feeds the real `Bm25Index`. Each size runs in its own
process (its peak memory is the index's plus the stand-in's bookkeeping).

Per size: the first build (every chunk), the index on disk, a reader's first open; the BM25
part of a hybrid question (the store generation check, the question's query, the best 60,
and the best 60 within each source and period the question names, as the retriever asks)
over MultiHop dev questions; adding 10 and 1,000 new articles (the ingest's update) and the
time another reader (a second `Bm25Index` on the same folder, as another process has) takes
to see them.

    python -m bench.lexical_scale                         # 10k, 100k and 1M
    python -m bench.lexical_scale --sizes 10000 --queries 50 --out /tmp/lex.md
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from bench import growth
from bench import synthetic as syn

CHUNK_CHARS = 1000


class MemoryStore:
    """What `Bm25Index` asks of a `ChunkStore`, over synthetic articles (generated again when paged)."""

    identity = "memory-store"

    def __init__(self, source: syn.SourceChunks, size: int) -> None:
        self.source, self.size, self.generation_number = source, size, 0
        self.records: dict[str, Any] = {}
        self.extra: dict[str, Any] = {}  # chunks of the articles added later, by id
        self.changes: frozenset[str] | None = None
        for article in syn.synthetic_articles(source, size):
            self.records[article.record.id] = article.record

    def refresh(self) -> int:
        return self.generation_number

    def generation(self) -> int:
        return self.generation_number

    def run_changes(self) -> frozenset[str] | None:
        return self.changes

    def manifest(self) -> dict[str, Any]:
        return dict(self.records)

    def manifest_records(self, ids: Sequence[str]) -> dict[str, Any]:
        return {i: self.records[i] for i in ids if i in self.records}

    def chunk_count(self) -> int:
        return sum(record.chunk_count for record in self.records.values())

    def iter_chunks(self) -> Iterator[Any]:
        from rag.store.chroma import ChunkRecord

        for article in syn.synthetic_articles(self.source, self.size):
            for chunk_id, text, meta in zip(article.ids, article.texts, article.metadatas, strict=True):
                yield ChunkRecord(chunk_id, text, meta)
        yield from self.extra.values()

    def read_chunks(self, ids: Sequence[str]) -> list[Any]:
        return [self.extra[i] for i in ids if i in self.extra]

    def add(self, records: list[dict[str, str]], start: int) -> None:
        """New articles as the ingest would store them (chunks of CHUNK_CHARS characters, about the
        ingest's 200 tokens), as the changes of the next run."""
        from rag.store.chroma import ArticleRecord, ChunkRecord

        changed = set()
        for offset, record in enumerate(records):
            article_id = record["url"]
            body = record["body"]
            texts = [body[i : i + CHUNK_CHARS] for i in range(0, len(body), CHUNK_CHARS)]
            ids = [f"new-{start + offset}-{i}" for i in range(len(texts))]
            date = record["published_at"].replace("-", "")
            meta = {"article_id": article_id, "article_hash": "h", "title": record["title"], "source": record["source"]}
            meta["date_num"] = int(date) if date.isdigit() else 0
            for i, (chunk_id, text) in enumerate(zip(ids, texts, strict=True)):
                self.extra[chunk_id] = ChunkRecord(chunk_id, text, {**meta, "chunk_index": i})
            self.records[article_id] = ArticleRecord(
                article_id, "h", "new", record["title"], len(ids), chunk_ids=tuple(ids)
            )
            changed.add(article_id)
        self.changes = frozenset(changed)


def worker(args: argparse.Namespace) -> dict[str, Any]:
    from rag.search.hints import parse_query_hints
    from rag.search.lexical import Bm25Index

    source = syn.SourceChunks.load(args.source)
    folder = args.workdir / "bm25"
    t = time.perf_counter()
    store = MemoryStore(source, args.size)
    result: dict[str, Any] = {"size": args.size, "articles": len(store.records), "load_before": os.getloadavg()[0]}
    result["stand_in_s"] = time.perf_counter() - t
    writer = Bm25Index(folder)
    t = time.perf_counter()
    writer.prepare(store, 0)  # type: ignore[arg-type]
    result["build_s"] = time.perf_counter() - t
    result["disk_mb"] = syn.dir_size_mb(folder)
    reader = Bm25Index(folder)
    t = time.perf_counter()
    reader.refresh(store)  # type: ignore[arg-type]
    result["reader_open_s"] = time.perf_counter() - t
    questions = syn.load_questions(args.queries + 5, args.seed)
    times = []
    for number, question in enumerate(questions):
        t = time.perf_counter()
        reader.refresh(store)  # type: ignore[arg-type]
        scores = reader.scores(question)
        if scores is not None:
            scores.top(60)
            hints = parse_query_hints(question, reader.sources)
            for name in hints.sources:
                scores.top(60, scores.source_mask(name))
            scores.top(60, scores.date_mask(hints))
        if number >= 5:
            times.append(time.perf_counter() - t)
    result["query_ms"] = growth.ms_stats(times)
    result["adds"] = []
    start = 0
    for count in (10, 1000):
        store.add(growth.new_articles(source, count, start), start)
        store.generation_number += 1
        t = time.perf_counter()
        writer.prepare(store, store.generation_number)  # type: ignore[arg-type]
        update_s = time.perf_counter() - t
        delta = writer.last_delta
        t = time.perf_counter()
        reader.refresh(store)  # type: ignore[arg-type]
        seen = reader.scores(growth.marker(start + count - 1))
        follow_s = time.perf_counter() - t
        result["adds"].append(
            {
                "articles": count,
                "chunks": sum(store.records[i].chunk_count for i in store.changes or ()),
                "update_s": update_s,
                "full": bool(delta and delta.full),
                "reader_s": follow_s,
                "found": bool(seen and seen.top(1)),
                "reader_wrote": reader.last_delta is not None,
            }
        )
        start += count
    result["disk_after_mb"] = syn.dir_size_mb(folder)
    result["peak_rss_mb"] = syn.peak_rss_mb()
    result["load_after"] = os.getloadavg()[0]
    return result


def report(args: argparse.Namespace, info: dict[str, str], rows: list[dict[str, Any]], total_s: float) -> str:
    lines = [
        "# Keyword index at scale (tantivy)",
        "",
        f"Date: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M UTC}. Whole run: {total_s / 60:.1f} min. "
        f"Command: `python -m bench.lexical_scale {' '.join(shlex.quote(a) for a in sys.argv[1:])}`",
        "",
        syn.hardware_markdown(info),
        "",
        "Synthetic chunks: copies of the 8,996 MultiHop chunks (see bench/synthetic.py), no Chroma (a stand-in "
        f"store). Query: the BM25 part of one hybrid question, {args.queries} MultiHop dev questions.",
        "",
        "| chunks | articles | first build s | on disk MiB | reader open s | BM25 part of a question p50 / p95 ms | "
        "add 10 articles: update s (reader sees them after s) | add 1,000: update s (reader s) | whole comparison? "
        "| process peak RSS MiB | load avg before / after |",
        "|---:|---:|---:|---:|---:|---:|---|---|---|---:|---|",
    ]
    for r in rows:
        adds = [f"{a['update_s']:.2f} ({a['reader_s']:.2f}{'' if a['found'] else ', NOT FOUND'})" for a in r["adds"]]
        full = "yes" if any(a["full"] or a["reader_wrote"] for a in r["adds"]) else "no"
        lines.append(
            f"| {r['size']:,} | {r['articles']:,} | {r['build_s']:.1f} | {r['disk_mb']:,.0f} | "
            f"{r['reader_open_s']:.2f} | {r['query_ms']['p50']:.1f} / {r['query_ms']['p95']:.1f} | {adds[0]} | "
            f"{adds[1]} | {full} | {r['peak_rss_mb']:,.0f} | {r['load_before']:.1f} / {r['load_after']:.1f} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--multihop-dir", type=Path, default=syn.MULTIHOP_DIR)
    parser.add_argument("--multihop-collection", default=syn.MULTIHOP_COLLECTION)
    parser.add_argument("--tmp", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--source", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args)))
        return 0
    started, info = time.perf_counter(), syn.hardware()
    root = Path(tempfile.mkdtemp(prefix="rag-lexical-", dir=args.tmp))
    rows = []
    try:
        source = root / "source"
        syn.export_source(args.multihop_dir, args.multihop_collection).save(source)
        for size in args.sizes:
            print(f"{size:,} chunks ...", file=sys.stderr, flush=True)
            command = [sys.executable, "-m", "bench.lexical_scale", "--worker", "--size", str(size)]
            command += ["--source", str(source), "--workdir", str(root / str(size)), "--queries", str(args.queries)]
            done = subprocess.run(command, cwd=syn.ROOT, env=syn.clean_env(), capture_output=True, text=True)
            if done.returncode != 0:
                print(done.stderr[-3000:], file=sys.stderr)
                continue
            rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
            shutil.rmtree(root / str(size), ignore_errors=True)
        syn.emit(report(args, info, rows, time.perf_counter() - started), args.out)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
