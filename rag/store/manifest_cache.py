"""A copy of the article manifest on local disk, as of a published generation.

An ingest needs every committed article (ids, text hashes, origins, MinHash signatures:
duplicate and re-publication detection compare a new article with all of them). Reading them
back from Chroma is a metadata scan of the manifest collection, the largest part of a small
ingest into a large store (0.7–0.9 s of a 3 s ten-article ingest at 100k chunks, ten times
that at 1M). So the writer saves the manifest it ended its run with, keyed by the store's
identity, the generation it published and the number of records, and the next run starts
from it instead of scanning.

The copy is trusted only when all three still match the store when a run begins and the
previous run finished cleanly (a crashed run may have changed the manifest without
publishing a generation); any other case, a missing or unreadable file included, falls back
to the scan. Every run that changes the manifest publishes a new generation, so a copy made
by another machine's data directory, or before a `rag remove`, no longer matches. The file is
replaced atomically; it holds one JSON row per record, with the lists as lists (not the
JSON strings Chroma's metadata needs, which made reading the copy as slow as the scan).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from rag.store.manifest import ArticleRecord, Copy

FORMAT = 1


class CacheKey(NamedTuple):
    """What a saved manifest must match: the store, its published generation, its record count."""

    identity: str
    generation: int
    records: int


def load(path: Path, key: CacheKey) -> dict[str, ArticleRecord] | None:
    """The saved manifest when it matches `key`, else None."""
    try:
        with path.open(encoding="utf-8") as file:
            saved = json.load(file)
        if saved.get("format") != FORMAT or CacheKey(*saved["key"]) != key:
            return None
        records = {row[0]: _record(row) for row in saved["records"]}
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return None
    return records if len(records) == key.records else None


def save(path: Path, key: CacheKey, records: Mapping[str, ArticleRecord]) -> None:
    """Replace the saved manifest (atomically; a failure to write only costs the next run a scan)."""
    staging = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = {"format": FORMAT, "key": list(key), "records": [_row(record) for record in records.values()]}
        staging.write_text(json.dumps(payload), encoding="utf-8")
        os.replace(staging, path)
    except (OSError, TypeError, ValueError):
        staging.unlink(missing_ok=True)


def _row(record: ArticleRecord) -> list[Any]:
    also = [[copy.id, copy.source, copy.url, copy.origin] for copy in record.also]
    fields = (record.id, record.content_hash, record.origin, record.title, int(record.chunk_count), record.text_hash)
    return [*fields, record.signature, also, list(record.chunk_ids)]


def _record(row: list[Any]) -> ArticleRecord:
    record_id, content_hash, origin, title, chunk_count, text_hash, signature, also, chunk_ids = row
    copies = tuple(Copy(*copy) for copy in also)
    fields = (str(record_id), str(content_hash), str(origin), str(title), int(chunk_count), str(text_hash))
    return ArticleRecord(*fields, str(signature), copies, tuple(chunk_ids))
