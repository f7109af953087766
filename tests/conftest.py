"""Shared fixtures: settings isolated from the environment, one real embedder per session
(`embedder`, for tests of retrieval and answer quality), a fast word-hash embedder
(`fast_embedder`, for plumbing tests), a store with the demo article, and the fake
OpenAI-protocol server on loopback."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from rag.config import Settings
from rag.models.embedding import MiniLMEmbedder
from rag.pipeline import Pipeline
from tests.fake_embedder import HashEmbedder
from tests.openai_server import FakeOpenAI

ROOT = Path(__file__).resolve().parent.parent
DEMO_DIR = ROOT / "demo" / "articles"
DEMO_ARTICLE = DEMO_DIR / "istanbul-talks-2022-03.txt"


def _shared_data() -> Path:
    """The project's shared data: `shared/data` beside the checkout (beside the main checkout when this
    is a git worktree, whose `.git` file names `<main>/.git/worktrees/<name>`); SHARED_DATA_DIR overrides."""
    if os.environ.get("SHARED_DATA_DIR"):
        return Path(os.environ["SHARED_DATA_DIR"])
    checkout, git = ROOT, ROOT / ".git"
    if git.is_file():
        checkout = Path(git.read_text(encoding="utf-8").partition("gitdir:")[2].strip()).parents[2]
    return checkout.parent / "shared" / "data"


SHARED_DATA = _shared_data()
MULTIHOP_CORPUS = SHARED_DATA / "multihop-rag" / "corpus.json"


def pytest_runtest_setup(item: pytest.Item) -> None:
    """`@pytest.mark.shared_data("multihop-rag/corpus.json")`: skip, saying why, when that file is absent."""
    for marker in item.iter_markers("shared_data"):
        for name in marker.args:
            if not (SHARED_DATA / name).exists():
                pytest.skip(f"needs the shared data file {SHARED_DATA / name} (set SHARED_DATA_DIR to its folder)")


def make_settings(data_dir: Path, **overrides: Any) -> Settings:
    """Settings that ignore the developer's environment and .env (no API key, embedded store)."""
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "collection": "test",
        "openai_api_key": None,
        "openai_base_url": None,
        "llm": None,
        "chroma_host": None,
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without the project's settings, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "RAG_", "CHROMA_", "GRADIO_"))}
    return env | {"GRADIO_ANALYTICS_ENABLED": "False"} | extra


def run(*args: str, data_dir: Path, extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run a command (e.g. `python -m rag ask`) in the checkout against the store at `data_dir`."""
    env = clean_env(RAG_DATA_DIR=str(data_dir), **(extra_env or {}))
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serving(
    command: Sequence[str], ready_url: str, log_path: Path, env: dict[str, str] | None = None
) -> Iterator[None]:
    """Run a server process until the block ends; wait (up to 2 min) until `ready_url` answers."""
    with open(log_path, "w") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 120
            while True:
                try:
                    urllib.request.urlopen(ready_url, timeout=2)
                    break
                except OSError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(f"{command[0]} did not start:\n{log_path.read_text()}") from None
                    time.sleep(0.3)
            yield
        finally:
            process.terminate()
            process.wait(timeout=30)


@pytest.fixture(scope="session")
def embedder() -> MiniLMEmbedder:
    """The real MiniLM model: use it where retrieval or answer quality is asserted."""
    return MiniLMEmbedder()


@pytest.fixture(scope="session")
def fast_embedder() -> HashEmbedder:
    """A deterministic word-hash embedder: use it where the model is not the point."""
    return HashEmbedder()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "store")


@pytest.fixture
def pipeline(settings: Settings, fast_embedder: HashEmbedder) -> Pipeline:
    """An empty store with the fast embedder, for ingest and store plumbing (not answer quality)."""
    return Pipeline.open(settings, fast_embedder)


@pytest.fixture
def model_pipeline(settings: Settings, embedder: MiniLMEmbedder) -> Pipeline:
    """An empty store with the real model, for tests that reopen it the way a user does (`rag.cli.main`)."""
    return Pipeline.open(settings, embedder)


@pytest.fixture(scope="session")
def demo_pipeline(tmp_path_factory: pytest.TempPathFactory, embedder: MiniLMEmbedder) -> Pipeline:
    """A store holding the demo article (read-only for the tests that use it)."""
    pipeline = Pipeline.open(make_settings(tmp_path_factory.mktemp("demo-store")), embedder)
    pipeline.ingest([DEMO_DIR], progress=False)
    return pipeline


@pytest.fixture
def articles_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "articles"
    folder.mkdir()
    shutil.copy(DEMO_ARTICLE, folder)
    return folder


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server
