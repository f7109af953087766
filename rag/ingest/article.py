"""The article record every loader produces (files, formats, web sources) and the failure report.

`Article` is what the ingest stores; `LoadFailure` names a file, record or URL that could
not be used and says what to do about it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from rag.ingest.identity import text_hash


@dataclass(frozen=True)
class Article:
    """One article. `id` is the canonical url when known, else (see rag.ingest.identity) `record:<hash>` of
    title, date and source for a record of a JSON/JSONL/CSV file, `text:<hash>` of the text for a
    single-article file; never the file's location. Repeats in one file get '#2', '#3', ..."""

    id: str
    title: str
    text: str  # chunk offsets refer to this exact string
    date: str  # 'YYYY-MM-DD', 'YYYY-MM', 'YYYY' or ''
    source: str
    url: str
    origin: str  # resolved absolute POSIX path of the file, or the page or feed URL it came from

    @property
    def content_hash(self) -> str:
        fields = (self.id, self.title, self.date, self.source, self.url, self.text)
        return hashlib.sha256("\x1f".join(fields).encode("utf-8")).hexdigest()

    @property
    def text_hash(self) -> str:
        return text_hash(self.text)


def is_url(text: str) -> bool:
    """A web address in any letter case (`HTTP://…` too), not a file path."""
    return text.lower().startswith(("http://", "https://"))


@dataclass(frozen=True)
class LoadFailure:
    path: str  # the file, plus '#line N' / '#row N' / '#record N' for a bad record; or a URL
    reason: str
    kept: bool = False  # the article was stored all the same, without what `reason` names (e.g. a bad date)
