"""Example questions of the web chat's first screen: how often each form is answered, and from its article.

The first screen asks about the collection's newest headlines in three forms
(rag.web.overview.example_question). For the newest --articles articles, every form is asked
through the configured pipeline (offline: the extractive answerer); a form that is declined,
or answered from other articles than the headline's, makes a poor example.

    RAG_DATA_DIR=/tmp/multihop-copy RAG_COLLECTION=news python -m bench.examples --articles 24

Reads the store only; run it on a copy of a shared store all the same.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import time

from rag.config import Settings
from rag.pipeline import Pipeline
from rag.web.overview import example_question, read_overview

FORMS = {0: "What do the articles say about “…”?", 1: "What did SOURCE report about “…”?", 2: "What happened in “…”?"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=24, help="the newest N articles (default 24)")
    args = parser.parse_args()
    pipeline = Pipeline.open(Settings(), create=False)
    articles = [a for a in read_overview(pipeline.store).articles if a.title and a.source][: args.articles]
    print(f"store {os.environ.get('RAG_DATA_DIR', '.rag')} · {pipeline.store.name} · {len(articles)} newest articles")
    print(f"answerer {pipeline.engine.answerer_name} · load average {os.getloadavg()[0]:.1f}")
    print("| form | declined | answered from its own article | seconds |")
    print("|---|---:|---:|---:|")
    for form, label in FORMS.items():
        started, declined, own = time.perf_counter(), 0, 0
        for article in articles:
            answer = pipeline.engine.answer(example_question(article, form)).answer
            assert answer is not None
            declined += answer.declined
            own += article.id in {c.passage.article_id for c in answer.citations}
        seconds = time.perf_counter() - started
        n = len(articles)
        print(f"| {label} | {declined} of {n} | {own} of {n} | {seconds:.1f} |")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    print(f"commit {commit}")


if __name__ == "__main__":
    main()
