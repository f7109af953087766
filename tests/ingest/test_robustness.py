"""Faults and hostile input: SIGKILLed ingests converge to a clean store; bad files are
reported and skipped while the good ones in the same run are ingested."""

from __future__ import annotations

import json
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rag.pipeline import Pipeline
from tests.conftest import ROOT, clean_env, make_settings

TOPICS = ["harbour", "bridge", "school", "railway", "museum", "market", "hospital", "stadium", "library", "airport"]


def make_corpus(folder: Path, articles: int, seed: int = 7) -> None:
    """Short articles (one or two chunks each) spread over several JSONL files."""
    rng = random.Random(seed)
    folder.mkdir(parents=True)
    for part in range(6):
        lines = []
        for n in range(part, articles, 6):
            topic = rng.choice(TOPICS)
            sentences = [
                f"The {topic} in town {n} reported event number {n * 7 + i} on day {i}."
                for i in range(rng.randint(2, 12))
            ]
            lines.append(
                json.dumps(
                    {
                        "title": f"{topic} {n}",
                        "url": f"https://example.com/{n}",
                        "body": " ".join(sentences),
                        "source": "Wire",
                    }
                )
            )
        (folder / f"part-{part}.jsonl").write_text("\n".join(lines), encoding="utf-8")


def store_state(data_dir: Path, embedder) -> tuple[dict[str, str], list[str]]:
    pipeline = Pipeline.open(make_settings(data_dir, collection="news"), embedder)
    manifest = {record.id: record.content_hash for record in pipeline.store.manifest().values()}
    return manifest, sorted(record.id for record in pipeline.store.iter_chunks())


def ingest_env(data_dir: Path) -> dict[str, str]:
    return clean_env(RAG_DATA_DIR=str(data_dir), RAG_COLLECTION="news")


@pytest.mark.slow
def test_sigkilled_ingests_end_equal_to_a_clean_ingest(tmp_path: Path, embedder) -> None:
    corpus = tmp_path / "corpus"
    make_corpus(corpus, articles=200)
    command = [sys.executable, "ingest.py", "--quiet", str(corpus)]

    clean_dir = tmp_path / "clean"
    started = time.monotonic()
    subprocess.run(command, cwd=ROOT, env=ingest_env(clean_dir), check=True, capture_output=True)
    clean_seconds = time.monotonic() - started

    crashed_dir = tmp_path / "crashed"
    rng = random.Random(2026)
    kills = 0
    for _ in range(4):
        process = subprocess.Popen(
            command, cwd=ROOT, env=ingest_env(crashed_dir), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        time.sleep(rng.uniform(0.3, 0.9) * clean_seconds)
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            kills += 1
        process.wait()
    assert kills >= 2, "the ingest finished before it could be killed; make the corpus larger"

    with sqlite3.connect(crashed_dir / "embedding-cache.sqlite3") as cache:
        cached_before = cache.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0]
    final = subprocess.run(command, cwd=ROOT, env=ingest_env(crashed_dir), capture_output=True, text=True, check=True)
    embedded = int(final.stdout.split("(")[1].split(" embedded")[0])

    assert store_state(crashed_dir, embedder) == store_state(clean_dir, embedder)
    manifest, chunk_ids = store_state(crashed_dir, embedder)
    assert len(manifest) == 200 and len(chunk_ids) == len(set(chunk_ids))
    assert cached_before + embedded == len(chunk_ids)  # every chunk embedded once across all the runs


def test_hostile_files_are_reported_and_good_ones_ingested(pipeline: Pipeline, tmp_path: Path) -> None:
    folder = tmp_path / "inbox"
    folder.mkdir()
    (folder / "good.txt").write_text(
        "Title: Good news\n\nThe bakery on Elm Street won the regional bread prize.", encoding="utf-8"
    )
    (folder / "page.html").write_text(
        "<html><head><title>Page</title><script>alert('x')</script></head><body><nav>Menu</nav>"
        "<article><p>The river festival returns in June with boat races.</p><p>Organisers expect more than ten "
        "thousand visitors over the weekend, and the town will close the embankment road to traffic.</p>"
        "</article></body></html>",
        encoding="utf-8",
    )
    (folder / "binary.txt").write_bytes(bytes(range(256)) * 10)
    (folder / "zero.md").write_bytes(b"")
    with open(folder / "huge.txt", "w", encoding="utf-8") as handle:  # 50 MB of text
        handle.write(("word " * 1000 + "\n") * 10_000)
    (folder / "latin1.txt").write_bytes("Caf\xe9 prices rose in Z\xfcrich.".encode("latin-1"))
    (folder / "nested.json").write_text("[" * 200_000 + "]" * 200_000, encoding="utf-8")
    (folder / "truncated.json").write_text('[{"title": "A", "body": "Unfinished', encoding="utf-8")
    (folder / "columns.csv").write_text("date,name\n2023-01-01,Alice\n", encoding="utf-8")
    outside = tmp_path / "secret.txt"
    outside.write_text("Passwords and other secrets that must never be ingested.", encoding="utf-8")
    (folder / "link.txt").symlink_to(outside)

    report = pipeline.ingest([folder], progress=False)

    reasons = {Path(f.path.split("#")[0]).name: f.reason for f in report.failures}
    assert set(reasons) == {
        "binary.txt",
        "zero.md",
        "huge.txt",
        "latin1.txt",
        "nested.json",
        "truncated.json",
        "columns.csv",
        "link.txt",
    }
    assert "binary" in reasons["binary.txt"]
    assert "empty" in reasons["zero.md"]
    assert "RAG_MAX_ARTICLE_BYTES" in reasons["huge.txt"]
    assert "UTF-8" in reasons["latin1.txt"]
    assert "nested too deeply" in reasons["nested.json"]
    assert "line 1" in reasons["truncated.json"]
    assert "RAG_CSV_TEXT_COLUMN" in reasons["columns.csv"]
    assert "outside" in reasons["link.txt"]
    assert len(report.added) == 2
    texts = " ".join(record.text for record in pipeline.store.iter_chunks())
    assert "bread prize" in texts and "river festival" in texts
    assert "alert(" not in texts and "Menu" not in texts and "secrets" not in texts
