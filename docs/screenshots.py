#!/usr/bin/env python
"""README screenshots of the web chat: `python docs/screenshots.py [--data-dir DIR] [--collection NAME]`.

Starts the app (`app.py`) on a free port over the given store (default: a temporary store
that the app fills with the bundled demo article), asks QUESTION in Debian's chromium
(Playwright), follows the answer's first citation to its card, and writes `docs/chat.png` (1280×900: the answer,
its sources, and the article open in the reader at the cited card's quote) and
`docs/chat-phone.png` (390×844: the cited card with its quote highlighted). Every step waits for
what it needs to see, never for a fixed time. The store is only read; the test suite never
writes here.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
QUESTION = "What guarantees does Kyiv want?"
SHOTS = {"chat.png": ({"width": 1280, "height": 900}, True), "chat-phone.png": ({"width": 390, "height": 844}, False)}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(url: str, process: subprocess.Popen[bytes], timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the app did not start (exit code {process.poll()})") from None
            time.sleep(0.5)


def shoot(page: Page, url: str, question: str, target: Path, reader: bool) -> None:
    page.goto(url)
    page.wait_for_selector("#question textarea")
    if page.viewport_size and page.viewport_size["width"] < 768:  # the sidebar closes itself on a phone
        page.wait_for_function("() => !document.querySelector('#settings.open')")
    page.fill("#question textarea", question)
    page.click("#ask")
    page.wait_for_selector("#chat .answer", timeout=120_000)
    page.locator("#chat .answer a.marker").first.click()  # opens the cited card, its quote highlighted
    page.wait_for_selector("#chat .answer .source-card mark", state="visible")
    if reader:
        page.locator("#chat .answer a.open-article").first.click()
        page.wait_for_selector("#article mark.current")
    page.evaluate("document.fonts.ready")
    page.screenshot(path=str(target))
    print(f"wrote {target.relative_to(ROOT)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, help="store to show (default: a temporary demo store)")
    parser.add_argument("--collection", default="news")
    parser.add_argument("--question", default=QUESTION)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        data_dir = args.data_dir or Path(scratch) / "store"
        port = free_port()
        url = f"http://127.0.0.1:{port}/"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "RAG_"))}
        env |= {"RAG_DATA_DIR": str(data_dir), "RAG_COLLECTION": args.collection, "GRADIO_ANALYTICS_ENABLED": "False"}
        with open(Path(scratch) / "app.log", "wb") as log:
            app = subprocess.Popen(
                [sys.executable, "app.py", "--port", str(port)], cwd=ROOT, env=env, stdout=log, stderr=log
            )
            try:
                wait_until_up(url, app)
                with sync_playwright() as playwright:
                    browser = playwright.chromium.launch(
                        executable_path=args.chromium, headless=True, args=["--no-sandbox"]
                    )
                    for name, (viewport, reader) in SHOTS.items():
                        page = browser.new_page(viewport=viewport)
                        shoot(page, url, args.question, ROOT / "docs" / name, reader)
                    browser.close()
            finally:
                app.terminate()
                app.wait(timeout=30)


if __name__ == "__main__":
    main()
