#!/usr/bin/env python
"""README screenshots of the web chat: `python docs/screenshots.py [--data-dir DIR] [--collection NAME]`.

Starts the app (`app.py`) on a free port over the given store (default: a temporary store
that the app fills with the bundled demo article), asks QUESTION in Debian's chromium
(Playwright), opens the answer's sources, and writes `docs/chat.png` (1280×900) and
`docs/chat-phone.png` (390×844), each showing the answer with its sources open. The store
is only read; the test suite never writes here.
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
SHOTS = {"chat.png": {"width": 1280, "height": 900}, "chat-phone.png": {"width": 390, "height": 844}}


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


def shoot(page: Page, url: str, question: str, target: Path) -> None:
    page.goto(url)
    page.wait_for_selector("#question textarea")
    page.wait_for_timeout(1000)  # the sidebar closes itself on a phone
    page.fill("#question textarea", question)
    page.click("#ask")
    page.wait_for_selector("#chat .answer", timeout=120_000)
    page.locator("#chat .answer summary", has_text="Sources").first.click()
    page.wait_for_timeout(600)
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
                    for name, viewport in SHOTS.items():
                        shoot(browser.new_page(viewport=viewport), url, args.question, ROOT / "docs" / name)
                    browser.close()
            finally:
                app.terminate()
                app.wait(timeout=30)


if __name__ == "__main__":
    main()
