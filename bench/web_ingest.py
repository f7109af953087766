"""Web ingestion figures: pages per second fetched and extracted from a loopback news site
(tests/news_site.py), against the embedder's time for the same articles; and syndication
detection precision and recall on the MultiHop corpus plus generated re-publications.

    python -m bench.web_ingest --pages 60 --corpus ../shared/data/multihop-rag/corpus.json --copies 200
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rag.ingest.chunking import chunk_text
from rag.ingest.syndication import THRESHOLD, SyndicationIndex, minhash
from rag.ingest.web.fetch import Fetcher, FetchOptions
from rag.ingest.web.sources import WebSource, harvest
from rag.models.embedding import MiniLMEmbedder
from tests.news_site import NewsSite, generated_story, news_site


def web_speed(pages: int) -> None:
    stories = {s.slug: s for s in (generated_story(n) for n in range(pages))}
    with (
        news_site(NewsSite(stories=stories)) as site,
        Fetcher(FetchOptions(host_delay=0.0, concurrency=4, allow_private=True)) as fetcher,
    ):
        started = time.perf_counter()
        result = harvest([WebSource(site.url(f"/news/{slug}.html")) for slug in stories], fetcher)
        fetched = time.perf_counter() - started
    assert not result.failures, result.failures[:3]
    embedder = MiniLMEmbedder()
    chunks = [c.text for a in result.articles for c in chunk_text(a.text, embedder.count_tokens, 200, 40)]
    started = time.perf_counter()
    embedder.embed(chunks)
    embedded = time.perf_counter() - started
    count = len(result.articles)
    print(f"fetch + extract: {count} pages in {fetched:.2f} s = {count / fetched:.1f} pages/s")
    print(f"embedding the same articles: {len(chunks)} chunks in {embedded:.2f} s = {count / embedded:.1f} pages/s")


def republish(text: str, rng: random.Random) -> str:
    """A wire story as another outlet prints it: a dateline, a dropped last paragraph, a few words changed, a credit."""
    paragraphs = [p for p in text.split("\n") if p.strip()]
    if len(paragraphs) > 3:
        paragraphs = paragraphs[:-1]
    words = " ".join(paragraphs).split()
    for _ in range(max(1, len(words) // 100)):
        words[rng.randrange(len(words))] = rng.choice(["reportedly", "also", "now", "said"])
    return "LONDON (Wire) — " + " ".join(words) + " Additional reporting by agencies."


def syndication(corpus: Path, copies: int, seed: int) -> None:
    articles = [a["body"] for a in json.loads(corpus.read_text(encoding="utf-8")) if len(a["body"].split()) > 80]
    rng = random.Random(seed)
    index = SyndicationIndex()
    for n, text in enumerate(articles):
        index.add(str(n), minhash(text))
    chosen = rng.sample(range(len(articles)), copies)
    started = time.perf_counter()
    true_positive = sum(index.match(minhash(republish(articles[n], rng))) == str(n) for n in chosen)
    false_positive = sum(index.match(minhash(text), exclude=str(n)) is not None for n, text in enumerate(articles))
    seconds = time.perf_counter() - started
    detected = true_positive + false_positive
    print(
        f"syndication (threshold {THRESHOLD}): {len(articles)} originals, {copies} re-publications: "
        f"recall {true_positive / copies:.3f}, precision {true_positive / max(1, detected):.3f} "
        f"({false_positive} originals wrongly matched to another original); {seconds:.2f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pages", type=int, default=60)
    parser.add_argument("--corpus", type=Path, default=Path("../shared/data/multihop-rag/corpus.json"))
    parser.add_argument("--copies", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    web_speed(args.pages)
    if args.corpus.exists():
        syndication(args.corpus, args.copies, args.seed)
    else:
        print(f"no corpus at {args.corpus}: syndication figures skipped")


if __name__ == "__main__":
    main()
