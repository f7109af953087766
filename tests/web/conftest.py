"""Shared by the web tests: Debian's chromium through Playwright (`browser`, one per module),
the app as a real process (`running_app`), and asking in a page (`ask`)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import clean_env, free_port, serving

CHROMIUM = "/usr/bin/chromium"

_chromium_missing = pytest.mark.skipif(
    not os.path.exists(CHROMIUM) and not os.environ.get("CI"), reason="Debian's chromium is not installed"
)


def needs_browser(test: Any) -> Any:
    """Marks a test `browser` (select with -m browser / -m "not browser"); skipped without chromium outside CI."""
    return pytest.mark.browser(_chromium_missing(test))


@contextmanager
def running_app(data_dir: Path, extra_env: dict[str, str] | None = None) -> Iterator[str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    # Every browser test asks from 127.0.0.1; the per-client limit has its own test (test_controller).
    env = clean_env(RAG_DATA_DIR=str(data_dir), RAG_QUESTIONS_PER_MINUTE="1000", **(extra_env or {}))
    with serving([sys.executable, "app.py", "--port", str(port)], url, data_dir.parent / f"app-{port}.log", env):
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-sync"],
        )
        yield browser
        browser.close()


def ask(page: Any, question: str) -> Any:
    """Ask and wait for the answer; returns the new answer's element."""
    before = page.locator("#chat .answer").count()
    page.fill("#question textarea", question)
    page.click("#ask")
    page.wait_for_function("n => document.querySelectorAll('#chat .answer').length > n", arg=before, timeout=60_000)
    return page.locator("#chat .answer").nth(before)
