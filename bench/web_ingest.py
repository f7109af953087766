"""Web ingestion figures: a real ingest of pages from a loopback news site (tests/news_site.py):
pages per second fetched and extracted, and embedded (the two overlap), and the peak RSS; and
syndication detection precision and recall on the MultiHop corpus plus generated re-publications.

    python -m bench.web_ingest --pages 60 --corpus ../shared/data/multihop-rag/corpus.json --copies 200
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rag.config import Settings
from rag.ingest.syndication import THRESHOLD, SyndicationIndex, minhash
from rag.ingest.web.sources import WebSource
from rag.models.embedding import MiniLMEmbedder
from rag.pipeline import Pipeline
from tests.news_site import NewsSite, Story, generated_story, news_site


def corpus_stories(corpus: Path, pages: int) -> list[Story]:
    """The first `pages` MultiHop articles as the site's stories (distinct texts of real lengths); the
    site's generated stories when the corpus is not there (they differ in a few words only)."""
    if not corpus.exists():
        return [generated_story(n) for n in range(pages)]
    records = json.loads(corpus.read_text(encoding="utf-8"))[:pages]
    return [
        Story(f"a{n}", r["title"], r["published_at"][:10], [p for p in r["body"].split("\n") if p.strip()])
        for n, r in enumerate(records)
    ]


def web_speed(corpus: Path, pages: int) -> None:
    """A real ingest of `pages` pages from the loopback news site into a fresh store (MiniLM): fetch and
    embed throughput (they overlap), and this process's peak RSS after it."""
    stories = {s.slug: s for s in corpus_stories(corpus, pages)}
    with tempfile.TemporaryDirectory() as tmp, news_site(NewsSite(stories=stories)) as site:
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None,
            data_dir=Path(tmp),
            collection="bench",
            openai_api_key=None,
            fetch_host_delay=0.0,
            fetch_allow_private=True,  # the news site is on loopback
        )
        pipeline = Pipeline.open(settings, MiniLMEmbedder(batch_size=settings.embed_batch_size))
        report = pipeline.ingest(
            [], progress=False, web_sources=[WebSource(site.url(f"/news/{s}.html")) for s in stories]
        )
    assert not report.failures, report.failures[:3]
    count = len(report.added)
    print(f"ingest of {len(stories)} pages: {report.summary()}")
    print(
        f"fetch + extract: {report.pages} pages in {report.fetch_seconds:.2f} s = "
        f"{report.pages / report.fetch_seconds:.1f} pages/s (in a background thread, while embedding)"
    )
    print(
        f"embedding: {report.chunks_written} chunks of {count} pages in {report.embed_seconds:.2f} s = "
        f"{count / report.embed_seconds:.1f} pages/s, {report.chunks_written / report.embed_seconds:.1f} chunks/s"
    )
    print(f"whole ingest: {report.seconds:.2f} s = {count / report.seconds:.1f} pages/s")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(f"peak RSS of this process after the ingest: {peak:.0f} MiB")


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
    web_speed(args.corpus, args.pages)
    if args.corpus.exists():
        syndication(args.corpus, args.copies, args.seed)
    else:
        print(f"no corpus at {args.corpus}: syndication figures skipped")


if __name__ == "__main__":
    main()
