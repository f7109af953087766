"""Shared fixtures: settings isolated from the environment, one real embedder per session,
a store with the demo article, and the fake OpenAI-protocol server on loopback."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rag.config import Settings
from rag.embedding import MiniLMEmbedder
from rag.pipeline import Pipeline
from tests.openai_server import FakeOpenAI

ROOT = Path(__file__).resolve().parent.parent
DEMO_DIR = ROOT / "demo" / "articles"
DEMO_ARTICLE = DEMO_DIR / "istanbul-talks-2022-03.txt"


def make_settings(data_dir: Path, **overrides: Any) -> Settings:
    """Settings that ignore the developer's environment and .env (no API key, embedded store)."""
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "collection": "test",
        "openai_api_key": None,
        "openai_base_url": None,
        "chroma_host": None,
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture(scope="session")
def embedder() -> MiniLMEmbedder:
    return MiniLMEmbedder()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "store")


@pytest.fixture
def pipeline(settings: Settings, embedder: MiniLMEmbedder) -> Pipeline:
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
