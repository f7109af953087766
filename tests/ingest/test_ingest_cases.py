"""Issue 19's file cases: record edits update their article, honest summaries (an edit is an update
only, a copy a duplicate), a re-publication stored when its original's file is gone, PDFs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from rag.ingest.files import LoadOptions, load_file
from rag.pipeline import Pipeline
from tests.conftest import DEMO_ARTICLE

WIRE = (
    "Officials in the port city said on Monday that the new ferry line will start service in March, linking "
    "the two islands for the first time in a decade. The regional government will pay for two ships, and "
    "tickets will cost the same as a bus fare. Local businesses welcomed the plan, saying it would bring "
    "visitors back after a difficult few years. The first ship is being built at a yard in the north and "
    "will be tested at sea in February before carrying passengers."
)


def write_jsonl(path: Path, records: list[dict[str, str]]) -> None:
    path.write_text("\n".join(json.dumps(record) for record in records) + "\n", encoding="utf-8")


def record(n: int, **changes: str) -> dict[str, str]:
    return {
        "title": f"Harbour story {n}",
        "body": f"Story {n}: the harbour of town {n} reopened after repairs, officials said on Monday.",
        "published_at": f"2023-10-{n:02d}",
        "source": "Gazette",
    } | changes


@pytest.mark.parametrize("sync", [False, True])
def test_a_record_title_or_date_edit_updates_its_article(pipeline: Pipeline, tmp_path: Path, sync: bool) -> None:
    """Case 6: a JSON record without a URL whose title or date was corrected (not a duplicate of itself)."""
    path = tmp_path / "news.jsonl"
    write_jsonl(path, [record(1), record(2)])
    pipeline.ingest([path], progress=False)
    write_jsonl(path, [record(1, title="Harbour story 1, corrected"), record(2, published_at="2023-11-02")])
    report = pipeline.ingest([path], progress=False, sync=sync)
    assert len(report.updated) == 2 and (report.added, report.removed, report.duplicates) == ([], [], [])
    metas = {c.metadata["article_id"]: c.metadata for c in pipeline.store.iter_chunks()}
    assert sorted((m["title"], m["date"]) for m in metas.values()) == [
        ("Harbour story 1, corrected", "2023-10-01"),
        ("Harbour story 2", "2023-11-02"),
    ]
    assert pipeline.store.article_count() == 2
    assert not pipeline.ingest([path], progress=False, sync=sync).changed


def test_an_edited_file_is_one_update_and_a_copied_file_a_duplicate(pipeline: Pipeline, tmp_path: Path) -> None:
    """Case 8: `--sync` after an edit reports `updated 1 … removed 0`; a copy is a duplicate, not `moved`."""
    folder = tmp_path / "news"
    folder.mkdir()
    story = folder / "story.txt"
    story.write_text("The harbour reopened on Monday after a year of repairs, officials said.")
    pipeline.ingest([folder], progress=False)
    story.write_text("The harbour stays closed until spring, officials said on Tuesday.")
    edited = pipeline.ingest([folder], progress=False, sync=True)
    assert (len(edited.updated), edited.added, edited.removed) == (1, [], [])
    assert "updated 1, unchanged 0, removed 0" in edited.summary()
    other = tmp_path / "other"
    other.mkdir()
    shutil.copy(story, other / "copy.txt")
    copied = pipeline.ingest([other], progress=False)
    assert (copied.relocated, copied.added) == ([], []) and len(copied.duplicates) == 1
    assert "moved 0, duplicates 1" in copied.summary()
    assert {r.origin for r in pipeline.store.manifest().values()} == {story.resolve().as_posix()}


def test_a_re_publication_is_stored_when_its_original_file_is_gone(pipeline: Pipeline, tmp_path: Path) -> None:
    folder = tmp_path / "news"
    folder.mkdir()
    (folder / "original.txt").write_text(f"Title: Ferry line\nSource: Port Times\n\n{WIRE}")
    (folder / "reprint.txt").write_text(f"Title: Islands ferry\nSource: Daily Reprints\n\n{WIRE} Reuters contributed.")
    first = pipeline.ingest([folder], progress=False)
    assert len(first.added) == 1 and len(first.syndicated) == 1
    (copy_id, original_id) = first.syndicated[0]
    (folder / "original.txt").unlink()
    synced = pipeline.ingest([folder], progress=False, sync=True)
    assert synced.removed == [original_id] and synced.promoted == [(copy_id, original_id)]
    assert set(pipeline.store.manifest()) == {copy_id}
    meta = next(pipeline.store.iter_chunks()).metadata
    assert meta["source"] == "Daily Reprints"


def minimal_pdf(lines: list[str], title: str = "") -> bytes:
    """A one-page PDF with a text layer (the objects and xref written out by hand)."""
    text = "BT /F1 12 Tf 72 720 Td 14 TL " + " ".join(f"({line}) '" for line in lines) + " ET"
    info = f"<< /Title ({title}) >>" if title else "<< >>"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        "/Resources << /Font << /F1 5 0 R >> >> >>",
        f"<< /Length {len(text)} >>\nstream\n{text}\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        info,
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R /Info 6 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return out


def test_pdfs_in_a_folder_are_read_or_reported_by_name(tmp_path: Path, pipeline: Pipeline) -> None:
    """Case 10: a PDF's text layer is read (pypdf); one without text, or broken, is reported by name."""
    folder = tmp_path / "news"
    folder.mkdir()
    lines = ["The harbour of Millbrook reopened on Monday.", "Ships returned after a year of repairs."]
    (folder / "harbour-2023-10-02.pdf").write_bytes(minimal_pdf(lines, title="Harbour reopens"))
    (folder / "scan.pdf").write_bytes(minimal_pdf([]))
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4 this is not really a PDF")
    articles, failures = load_file(folder / "harbour-2023-10-02.pdf", LoadOptions())
    assert failures == [] and articles[0].title == "Harbour reopens" and articles[0].date == "2023-10-02"
    assert "Ships returned after a year of repairs." in articles[0].text
    report = pipeline.ingest([folder], progress=False)
    assert len(report.added) == 1
    reasons = {Path(f.path).name: f.reason for f in report.failures}
    assert "no text layer" in reasons["scan.pdf"] and "not a readable PDF" in reasons["broken.pdf"]


def test_a_demo_article_over_the_size_cap_is_reported(pipeline: Pipeline, tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    big.write_text(DEMO_ARTICLE.read_text() * 200)
    report = pipeline.ingest([big], progress=False)
    (failure,) = report.failures
    assert "over the limit of 500,000 bytes" in failure.reason and "RAG_MAX_ARTICLE_BYTES" in failure.reason
