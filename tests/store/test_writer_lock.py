"""One writer at a time per collection (issue 19, case 4): a second writer waits, saying so, or gives
up after RAG_WRITE_WAIT; readers never wait; two real `rag ingest` processes at once both land and
publish two generations."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from rag import cli
from rag.errors import StoreError
from rag.pipeline import Pipeline
from rag.store import library
from rag.store.writer import file_lock
from tests.conftest import DEMO_DIR, ROOT, clean_env, make_settings
from tests.fake_embedder import HashEmbedder


def story(folder: Path, n: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"story-{n}.txt"
    path.write_text(f"Title: Story {n}\n\nThe council of town {n} approved plan {n} on Tuesday after a long debate.")
    return folder


def test_a_second_writer_in_the_process_waits_and_says_so(
    pipeline: Pipeline, tmp_path: Path, fast_embedder: HashEmbedder
) -> None:
    notices: list[str] = []
    waiting = threading.Event()
    holder = threading.Event()

    def note(message: str) -> None:
        notices.append(message)
        waiting.set()

    with pipeline.store.writing(0, print):
        other = Pipeline.open(pipeline.settings, fast_embedder)
        worker = threading.Thread(
            target=lambda: (other.ingest([story(tmp_path / "a", 1)], progress=False, notice=note), holder.set())
        )
        worker.start()
        assert waiting.wait(timeout=120)  # the condition: it announced that it waits
        assert not holder.is_set() and pipeline.store.article_count() == 0  # and it did wait
        assert pipeline.store.generation() == 0  # readers do not wait
    worker.join(timeout=120)
    assert holder.is_set() and pipeline.store.article_count() == 1
    assert notices[0].startswith("waiting for another ingest into 'test' (pid ")


def test_a_writer_gives_up_after_the_write_wait(pipeline: Pipeline, tmp_path: Path) -> None:
    with pipeline.store.writing(0, print), pytest.raises(StoreError) as busy:
        pipeline.store.writing(0, print).__enter__()
    assert f"another ingest into 'test' (pid {os.getpid()}" in str(busy.value)
    assert "raise RAG_WRITE_WAIT" in str(busy.value)


def rag(*args: str, data_dir: Path, **env: str) -> subprocess.Popen[str]:
    environment = clean_env(RAG_DATA_DIR=str(data_dir), RAG_COLLECTION="news", **env)
    return subprocess.Popen(
        [sys.executable, "-m", "rag", *args],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.slow
def test_two_processes_one_writer_at_a_time_readers_never_wait(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = tmp_path / "store"
    first = rag("ingest", "--quiet", str(DEMO_DIR), data_dir=data_dir)
    assert first.wait(timeout=300) == 0, first.stderr.read() if first.stderr else ""
    where = ["--data-dir", str(data_dir), "--collection", "news"]
    with file_lock(data_dir / "locks", "news", 0, print):  # this process is the writer now
        refused = rag("ingest", "--quiet", str(story(tmp_path / "b", 2)), data_dir=data_dir, RAG_WRITE_WAIT="0")
        _, err = refused.communicate(timeout=300)
        assert refused.returncode == 1 and "Traceback" not in err
        assert f"another ingest into 'news' (pid {os.getpid()}) is still writing after 0 s" in err
        waiting = rag("ingest", "--quiet", str(story(tmp_path / "c", 3)), data_dir=data_dir)
        assert waiting.stderr is not None
        line = waiting.stderr.readline()  # blocks until the process says something: the condition, not a time
        assert line.startswith(f"waiting for another ingest into 'news' (pid {os.getpid()})"), line
        assert cli.main(["list", "--json", *where]) == 0  # a reader while a writer holds the lock
        assert capsys.readouterr().out.count('"id"') == 1
    assert waiting.wait(timeout=300) == 0
    # two writers at once: both land, each publishing its own generation
    both = [rag("ingest", "--quiet", str(story(tmp_path / f"d{n}", 10 + n)), data_dir=data_dir) for n in (1, 2)]
    assert [process.wait(timeout=300) for process in both] == [0, 0]
    assert cli.main(["stats", "--json", *where]) == 0
    assert '"articles": 4' in capsys.readouterr().out
    store = library.open_collection(make_settings(data_dir, collection="news"))
    assert store.generation() == 4  # demo, story 3, then one per concurrent ingest (never the same number twice)
