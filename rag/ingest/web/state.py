"""What a collection remembers of the web between runs, keyed to the articles it stored.

For each URL fetched: the validators of its last 200 (ETag, Last-Modified), the article(s) made
from it with their content hashes, or, for a feed or sitemap, the URLs of its entries. A
validator is sent only while those articles are still stored unchanged: when one is removed or
replaced, the next request is unconditional, so a 304 never stands for a story the store no
longer holds. A page stored from its feed's summary (its own page failed) is marked so, and is
fetched again on the next run. It also remembers the sources each sources file named, so
`--sync` can remove the articles of a line that was dropped.

Stored as JSON under `RAG_DATA_DIR/fetch/<collection>.json`; a damaged file only costs full
downloads.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rag.ingest.web.fetch import Validators
from rag.store.chroma import ArticleRecord


@dataclass
class UrlState:
    etag: str = ""
    last_modified: str = ""
    articles: dict[str, str] = field(default_factory=dict)  # stored article id -> its content hash
    entries: list[str] = field(default_factory=list)  # a feed's or sitemap's entry URLs
    summary: str = ""  # id of the article stored from the feed's summary because the page failed

    def as_json(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if v}


class FetchState:
    """URL -> `UrlState`, and sources file -> the source URLs it named; thread-safe."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self.urls: dict[str, UrlState] = {}
        self.files: dict[str, list[str]] = {}
        self._lock = threading.Lock()
        if path is not None and path.exists():
            self._load(path)

    def _load(self, path: Path) -> None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            urls, files = data.get("urls", {}), data.get("files", {})
            self.urls = {
                url: UrlState(**{k: v for k, v in entry.items() if k in UrlState.__annotations__})
                for url, entry in urls.items()
            }
            self.files = {name: list(origins) for name, origins in files.items()}
        except (OSError, ValueError, TypeError, AttributeError):
            self.urls, self.files = {}, {}  # an older or damaged file: full downloads this once

    def get(self, url: str) -> UrlState | None:
        with self._lock:
            return self.urls.get(url)

    def stored(self, url: str, committed: Mapping[str, ArticleRecord]) -> list[str] | None:
        """The stored ids `url` stands for, if every one is still stored unchanged (None otherwise):
        a page's article(s), or the articles of all of a feed's entries."""
        with self._lock:
            return self._stored(url, committed, depth=0)

    def _stored(self, url: str, committed: Mapping[str, ArticleRecord], depth: int) -> list[str] | None:
        entry = self.urls.get(url)
        if entry is None or depth > 2:
            return None
        found = [article_id for article_id, digest in entry.articles.items() if _holds(committed, article_id, digest)]
        if len(found) != len(entry.articles) or entry.summary:
            return None
        for child in entry.entries:
            ids = self._stored(child, committed, depth + 1)
            if ids is None:
                return None
            found += ids
        return found

    def validators(self, url: str, committed: Mapping[str, ArticleRecord]) -> Validators | None:
        """What to send for a conditional GET of `url`: only while what it stands for is stored unchanged."""
        entry = self.get(url)
        if entry is None or not (entry.etag or entry.last_modified) or self.stored(url, committed) is None:
            return None
        return Validators(entry.etag, entry.last_modified)

    def set(self, url: str, state: UrlState) -> None:
        with self._lock:
            self.urls[url] = state

    def drop(self, url: str) -> None:
        with self._lock:
            self.urls.pop(url, None)

    def save(self) -> None:
        if self.path is None:
            return
        with self._lock:
            data = {"urls": {url: entry.as_json() for url, entry in self.urls.items()}, "files": self.files}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        staging = self.path.with_suffix(".tmp")
        staging.write_text(json.dumps(data, indent=0, sort_keys=True), encoding="utf-8")
        staging.replace(self.path)


def _holds(committed: Mapping[str, ArticleRecord], article_id: str, digest: str) -> bool:
    record = committed.get(article_id)
    return record is not None and record.content_hash == digest
