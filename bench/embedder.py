"""Benchmark of the offline MiniLM embedder: texts/s and ms per text at several batch sizes.

The texts are chunks of the MultiHop-RAG corpus bodies, cut by `rag.ingest.chunking.chunk_text`
at the pipeline's chunk size, so they have the length real passages have.

    python -m bench.embedder                # 2,000 chunks, batch sizes 16 32 64 128
    python -m bench.embedder -n 200 --batch-sizes 32 64
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from pathlib import Path

from rag.ingest.chunking import chunk_text
from rag.models.embedding import MiniLMEmbedder

CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "multihop-rag" / "corpus.json"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--chunks", type=int, default=2000, help="chunks to embed (default 2000)")
    parser.add_argument("--corpus", type=Path, default=CORPUS, help="JSON list of articles with a 'body'")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[16, 32, 64, 128], help="batch sizes to time")
    parser.add_argument("--chunk-tokens", type=int, default=200, help="chunk size in wordpiece tokens")
    parser.add_argument("--seed", type=int, default=0, help="seed of the chunk sample")
    return parser.parse_args(argv)


def sample_chunks(corpus: Path, embedder: MiniLMEmbedder, count: int, max_tokens: int, seed: int) -> list[str]:
    """`count` chunks drawn at random from all chunks of the corpus bodies."""
    articles = json.loads(corpus.read_text(encoding="utf-8"))
    chunks = [
        chunk.text
        for article in articles
        for chunk in chunk_text(article["body"], embedder.count_tokens, max_tokens, overlap_tokens=0)
    ]
    return random.Random(seed).sample(chunks, min(count, len(chunks)))


def time_batch_size(texts: list[str], batch_size: int) -> float:
    """Seconds to embed `texts` once, after a warm-up batch."""
    embedder = MiniLMEmbedder(batch_size=batch_size)
    embedder.embed(texts[:batch_size])
    started = time.perf_counter()
    embedder.embed(texts)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    counter = MiniLMEmbedder()
    texts = sample_chunks(args.corpus, counter, args.chunks, args.chunk_tokens, args.seed)
    tokens = [counter.count_tokens(text) for text in texts]
    print(f"{len(texts)} chunks, {statistics.mean(tokens):.0f} tokens on average (max {max(tokens)})")
    print(f"{'batch':>6} {'texts/s':>9} {'ms/text':>8} {'seconds':>8}")
    for batch_size in args.batch_sizes:
        seconds = time_batch_size(texts, batch_size)
        print(f"{batch_size:>6} {len(texts) / seconds:>9.1f} {1000 * seconds / len(texts):>8.2f} {seconds:>8.1f}")


if __name__ == "__main__":
    main()
