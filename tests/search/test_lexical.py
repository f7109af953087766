"""The incremental lexical index (tantivy): article-by-article updates as the ingest commits, readers
that follow the writer without rebuilding, a crash that leaves no half-applied change, two reader
processes while one writes, and the migration from the bm25s index of format 2."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from rag.config import Settings
from rag.pipeline import Pipeline
from rag.search.hints import DateRange, QueryHints
from rag.search.lexical import Bm25Index
from rag.store import library
from rag.text.dates import QueryFilters
from tests.conftest import ROOT, clean_env, make_settings
from tests.fake_embedder import HashEmbedder

STORIES = {
    "harbour": ("Harbour works", "2023-11-02", "Gazette", "The harbour of Portvale will close for repairs in May."),
    "bridge": ("Bridge repainted", "2023-10-12", "Herald", "The old Kestrel bridge will be repainted green."),
    "mayor": ("Mayor elected", "2023-11-20", "Gazette", "Voters in Northshire elected Dana Whitfield as mayor."),
}


def write_story(folder: Path, name: str, title: str, date: str, source: str, body: str) -> Path:
    path = folder / f"{name}.md"
    url = f"https://news.example/{name}"  # the article's id: the same after an edit
    path.write_text(f"Title: {title}\nDate: {date}\nSource: {source}\nURL: {url}\n\n{body}\n", encoding="utf-8")
    return path


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    folder = tmp_path / "articles"
    folder.mkdir()
    for name, story in STORIES.items():
        write_story(folder, name, *story)
    return folder


@pytest.fixture
def ingested(pipeline: Pipeline, folder: Path) -> Pipeline:
    assert len(pipeline.ingest([folder], progress=False).added) == len(STORIES)
    return pipeline


def reader(pipeline: Pipeline) -> Bm25Index:
    """Another reader of the same index, as a second app process has (it shares nothing in memory)."""
    index = Bm25Index(pipeline.lexical.directory)
    index.refresh(pipeline.store)
    return index


def found(index: Bm25Index, query: str, k: int = 10) -> list[str]:
    """The article ids of the best chunks for `query`."""
    scores = index.scores(query)
    if scores is None:
        return []
    return [str((scores.meta_of(chunk_id) or {})["article_id"]) for chunk_id, _ in scores.top(k)]


def article_id(pipeline: Pipeline, title: str) -> str:
    return next(record.id for record in pipeline.store.manifest().values() if record.title == title)


def test_an_ingest_adds_only_its_new_articles_and_readers_see_them_without_rebuilding(
    ingested: Pipeline, folder: Path
) -> None:
    first = ingested.lexical.last_delta
    assert first is not None and first.full and len(first.add) == len(STORIES)  # the first build
    other = reader(ingested)
    assert found(other, "quokka") == []

    write_story(folder, "quokka", "Quokka spotted", "2023-12-01", "Courier", "A quokka was seen near the harbour.")
    ingested.ingest([folder], progress=False)
    quokka = article_id(ingested, "Quokka spotted")
    delta = ingested.lexical.last_delta
    assert delta is not None and not delta.full  # the run's own change, not a comparison of every article
    assert [record.id for record in delta.add] == [quokka] and delta.remove == {quokka}

    other.refresh(ingested.store)
    assert found(other, "quokka") == [quokka]
    assert other.last_delta is None  # the reader opened the new segments; it wrote nothing, rebuilt nothing
    assert set(found(other, "harbour")) == {quokka, article_id(ingested, "Harbour works")}


def test_an_index_caught_up_at_generation_zero_takes_the_next_run_article_by_article(
    pipeline: Pipeline, folder: Path
) -> None:
    reader(pipeline)  # an app opened on the new, empty store: the index records generation 0
    pipeline.ingest([folder], progress=False)
    delta = pipeline.lexical.last_delta
    assert delta is not None and not delta.full and len(delta.add) == len(STORIES)


def test_an_edited_article_is_replaced_and_a_removed_one_is_gone(ingested: Pipeline, folder: Path) -> None:
    other = reader(ingested)
    harbour = article_id(ingested, "Harbour works")
    write_story(folder, "harbour", "Harbour works", "2023-11-02", "Gazette", "The lighthouse of Portvale was rebuilt.")
    ingested.ingest([folder], progress=False)
    delta = ingested.lexical.last_delta
    assert delta is not None and not delta.full and delta.remove == {harbour}
    other.refresh(ingested.store)
    assert found(other, "repairs") == []  # the old text's words went with it
    assert found(other, "lighthouse") == [harbour]
    stored = {chunk.id for chunk in ingested.store.iter_chunks()}
    scores = other.scores("lighthouse Portvale")
    assert scores is not None and {chunk_id for chunk_id, _ in scores.top(10)} <= stored  # no stale chunk ids

    (folder / "bridge.md").unlink()
    bridge = article_id(ingested, "Bridge repainted")
    ingested.ingest([folder], sync=True, progress=False)
    assert ingested.lexical.last_delta is not None and ingested.lexical.last_delta.remove == {bridge}
    mayor = article_id(ingested, "Mayor elected")
    library.remove(ingested.store, [mayor], before_publish=ingested.prepare_lexical)
    assert ingested.lexical.last_delta is not None and ingested.lexical.last_delta.remove == {mayor}
    other.refresh(ingested.store)
    assert found(other, "Kestrel bridge repainted") == [] and found(other, "Whitfield mayor") == []
    assert set(found(other, "Portvale harbour lighthouse")) == {harbour}


def test_masks_filters_scores_and_mentions(ingested: Pipeline) -> None:
    index = reader(ingested)
    assert index.sources == ["Gazette", "Herald"]
    scores = index.scores("harbour bridge mayor")
    assert scores is not None
    ranked = scores.top(10)
    assert len({chunk_id for chunk_id, _ in ranked}) == 3 and all(score > 0 for _, score in ranked)
    assert [score for _, score in ranked] == sorted((score for _, score in ranked), reverse=True)
    gazette = scores.source_mask("Gazette")
    assert gazette is not None and scores.source_mask("Nobody") is None
    assert {str((scores.meta_of(c) or {})["source"]) for c, _ in scores.top(10, gazette)} == {"Gazette"}
    assert dict(scores.top(10, gazette)) == {c: s for c, s in ranked if c in dict(scores.top(10, gazette))}
    november = scores.date_mask(QueryHints(dates=(DateRange(20231101, 20231131),)))
    assert november is not None and {(scores.meta_of(c) or {})["date_num"] for c, _ in scores.top(10, november)} == {
        20231102,
        20231120,
    }
    any_year = scores.date_mask(QueryHints(dates=(DateRange(1012, 1012, any_year=True),)))
    assert any_year is not None and [(scores.meta_of(c) or {})["date_num"] for c, _ in scores.top(10, any_year)] == [
        20231012
    ]
    assert scores.date_mask(QueryHints()) is None
    best, score = ranked[0]
    assert scores.score_of(best) == score and scores.score_of("no such chunk") == 0.0
    herald_october = index.scores("harbour bridge mayor", QueryFilters(date_to="2023-10", sources=("Herald",)))
    assert herald_october is not None and len(herald_october.top(10)) == 1
    assert index.scores("the of and") is None  # only stop words
    assert index.mentions("Dana Whitfield") and index.mentions("the Kestrel bridge")
    assert not index.mentions("Dana Kestrel")  # each word is somewhere, never together in one chunk


def test_a_reader_catches_up_with_a_dense_mode_ingest_by_the_changed_articles_only(
    tmp_path: Path, settings: Settings, fast_embedder: HashEmbedder, ingested: Pipeline, folder: Path
) -> None:
    dense = Pipeline.open(settings.model_copy(update={"retrieval_mode": "dense"}), fast_embedder)
    write_story(folder, "quokka", "Quokka spotted", "2023-12-01", "Courier", "A quokka was seen near the harbour.")
    dense.ingest([folder], progress=False)  # publishes a generation without preparing the index
    ingested.lexical.refresh(ingested.store)
    delta = ingested.lexical.last_delta
    assert delta is not None and delta.full and [record.title for record in delta.add] == ["Quokka spotted"]
    assert found(ingested.lexical, "quokka") == [article_id(ingested, "Quokka spotted")]


def test_the_index_of_format_2_is_migrated_on_first_use(tmp_path: Path, fast_embedder: HashEmbedder) -> None:
    folder = tmp_path / "articles"
    folder.mkdir()
    for name, story in STORIES.items():
        write_story(folder, name, *story)
    settings = make_settings(tmp_path / "store", retrieval_mode="dense")
    Pipeline.open(settings, fast_embedder).ingest([folder], progress=False)  # a store, but no tantivy index
    old = settings.data_dir / "bm25" / settings.collection
    for name in ("v2-gen-1", "v2-text-gen-1", "v2-gen-2.tmp123-456"):  # what rag.search.lexical wrote before
        (old / name).mkdir(parents=True)
        (old / name / "ids.json").write_text(json.dumps({"ids": [], "meta": []}), encoding="utf-8")
        (old / name / "params.index.json").write_text("{}", encoding="utf-8")

    pipeline = Pipeline.open(settings.model_copy(update={"retrieval_mode": "bm25"}), fast_embedder)
    passages = pipeline.retriever.retrieve("Kestrel bridge", k=1)
    assert [passage.title for passage in passages] == ["Bridge repainted"]
    assert sorted(path.name for path in old.iterdir()) == ["tantivy-v3"]


# --- processes --------------------------------------------------------------------------------

CRASHING_INGEST = """
import sys
from pathlib import Path
import rag.search.lexical_sync as sync
from rag.pipeline import Pipeline
from tests.conftest import make_settings
from tests.fake_embedder import HashEmbedder

document = sync.chunk_document
def stall(*args, **kwargs):
    made = document(*args, **kwargs)
    print("adding", flush=True)  # the index update is under way: the test kills this process now
    sys.stdin.read()
    return made
sync.chunk_document = stall
Pipeline.open(make_settings(Path(sys.argv[1])), HashEmbedder()).ingest([Path(sys.argv[2])], progress=False)
"""


@pytest.mark.slow  # a subprocess
def test_a_crash_in_the_middle_of_an_index_update_leaves_no_half_applied_change(
    ingested: Pipeline, folder: Path
) -> None:
    before = reader(ingested).scores("harbour bridge mayor")
    assert before is not None
    ranked = before.top(10)
    write_story(folder, "quokka", "Quokka spotted", "2023-12-01", "Courier", "A quokka was seen near the harbour.")
    write_story(folder, "emu", "Emu parade", "2023-12-02", "Courier", "An emu parade crossed the harbour bridge.")
    child = subprocess.Popen(
        [sys.executable, "-c", CRASHING_INGEST, str(ingested.settings.data_dir), str(folder)],
        cwd=ROOT,
        env=clean_env(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None and child.stdout.readline() == "adding\n"
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=60)

    other = reader(ingested)
    assert other.last_delta is None  # the index was at the store's generation: nothing to catch up
    assert found(other, "quokka emu") == []
    after = other.scores("harbour bridge mayor")
    assert after is not None and after.top(10) == ranked  # as it was, not half of the update

    report = ingested.ingest([folder], progress=False)  # the next run finishes the job
    delta = ingested.lexical.last_delta
    assert report.swept == 0 and delta is not None and delta.full  # after a crash: compared, article by article
    assert sorted(record.title for record in delta.add) == ["Emu parade", "Quokka spotted"]
    other.refresh(ingested.store)
    assert len(found(other, "quokka emu")) == 2


READER = """
import json, sys, time
from pathlib import Path
from rag.search.lexical import Bm25Index
from rag.store.chroma import ChunkStore
from tests.conftest import make_settings
from tests.fake_embedder import HashEmbedder

settings = make_settings(Path(sys.argv[1]))
store = ChunkStore.open(settings, HashEmbedder())
index = Bm25Index(settings.data_dir / "bm25" / settings.collection)
wanted, last = int(sys.argv[2]), None
deadline = time.monotonic() + 240  # stops by itself
while time.monotonic() < deadline:
    index.refresh(store)
    scores = index.scores("marker")
    counts = {}
    for chunk_id, _ in scores.top(10_000) if scores else []:
        article = scores.meta_of(chunk_id)["article_id"]
        counts[article] = counts.get(article, 0) + 1
    if counts != last:
        print(json.dumps({"articles": counts, "wrote": index.last_delta is not None}), flush=True)
        last = counts
    if len(counts) >= wanted:
        break
"""


@pytest.mark.slow  # subprocesses
def test_two_processes_read_while_one_writes(pipeline: Pipeline, tmp_path: Path) -> None:
    folder = tmp_path / "marked"
    folder.mkdir()
    write_story(folder, "first", "Marker 0", "2023-01-01", "Gazette", "marker " * 300)
    pipeline.ingest([folder], progress=False)
    rounds = 4
    readers = [
        subprocess.Popen(
            [sys.executable, "-c", READER, str(pipeline.settings.data_dir), str(rounds + 1)],
            cwd=ROOT,
            env=clean_env(),
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    for number in range(1, rounds + 1):  # each round: one article of several chunks, all saying "marker"
        write_story(folder, f"a{number}", f"Marker {number}", "2023-01-02", "Herald", f"marker word{number} " * 300)
        pipeline.ingest([folder], progress=False)
    chunks = {record.id: record.chunk_count for record in pipeline.store.manifest().values()}
    assert len(chunks) == rounds + 1 and min(chunks.values()) > 1
    for process in readers:
        out, _ = process.communicate(timeout=300)
        seen = [json.loads(line) for line in out.splitlines()]
        assert seen and len(seen[-1]["articles"]) == rounds + 1
        for state in seen:  # every state a reader saw: whole articles only, and never a rebuild
            assert all(count == chunks[article] for article, count in state["articles"].items())
            assert not state["wrote"]
        assert [len(state["articles"]) for state in seen] == sorted(len(state["articles"]) for state in seen)
