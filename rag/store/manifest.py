"""The article manifest: one record per committed article in the `<name>__articles` collection.

A record holds the article's content hash, origin, title, chunk count, text hash, MinHash
signature, its re-publications (`Copy`) and its chunk ids (so that replacing or removing an
article costs O(its chunks), not a metadata scan of the collection). The same collection also holds one state record
(rag.store.generations), which `Manifest` leaves out of everything it returns.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from chromadb.api.models.Collection import Collection
from chromadb.api.types import Include

STATE_ID = "__rag_state__"
UNIT: Sequence[float] = [1.0]  # manifest records carry a dummy 1-d vector: Chroma requires one


@dataclass(frozen=True)
class Copy:
    """A re-publication of a stored story (syndication): its own id, source and URL."""

    id: str
    source: str
    url: str
    origin: str = ""  # the file or feed it came from ('' in stores built before it): where to find it again


@dataclass(frozen=True)
class ArticleRecord:
    """What the manifest remembers of a committed article."""

    id: str
    content_hash: str
    origin: str
    title: str
    chunk_count: int
    text_hash: str = ""  # hash of the text alone (rag.ingest.identity.text_hash); '' in stores built before it
    signature: str = ""  # MinHash of its shingles (rag.ingest.syndication.encode); '' in stores built before it
    also: tuple[Copy, ...] = ()  # other publications of the same story, stored once as this article
    chunk_ids: tuple[str, ...] = ()  # its chunks, so replacing or removing it needs no scan; () in older stores


class Manifest:
    """Reads and writes article records; `collection` returns the (possibly refetched) collection."""

    def __init__(self, collection: Callable[[], Collection], batch: int) -> None:
        self._collection, self._batch = collection, batch

    def all(self) -> dict[str, ArticleRecord]:
        records: dict[str, ArticleRecord] = {}
        for record_id, meta in iter_metadata(self._collection(), self._batch):
            if record_id != STATE_ID:
                records[record_id] = to_record(record_id, meta)
        return records

    def get(self, article_id: str) -> ArticleRecord | None:
        found = self._collection().get(ids=[article_id], include=["metadatas"])
        if not found["ids"]:
            return None
        return to_record(article_id, dict((found["metadatas"] or [{}])[0]))

    def get_many(self, article_ids: Sequence[str]) -> dict[str, ArticleRecord]:
        """The records of those of `article_ids` that are committed."""
        found: dict[str, ArticleRecord] = {}
        for start in range(0, len(article_ids), self._batch):
            page = self._collection().get(ids=list(article_ids[start : start + self._batch]), include=["metadatas"])
            for record_id, meta in zip(page["ids"], page["metadatas"] or [], strict=False):
                found[record_id] = to_record(record_id, dict(meta))
        return found

    def write(self, records: Sequence[ArticleRecord]) -> None:
        """Upsert the records, in batches."""
        for start in range(0, len(records), self._batch):
            batch = records[start : start + self._batch]
            self._collection().upsert(
                ids=[record.id for record in batch],
                embeddings=[UNIT] * len(batch),
                metadatas=[to_metadata(record) for record in batch],
            )

    def delete(self, article_id: str) -> None:
        self._collection().delete(ids=[article_id])

    def count(self) -> int:
        collection = self._collection()
        return max(0, collection.count() - (1 if collection.get(ids=[STATE_ID])["ids"] else 0))


def to_record(record_id: str, meta: dict[str, Any]) -> ArticleRecord:
    return ArticleRecord(
        id=record_id,
        content_hash=str(meta["hash"]),
        origin=str(meta["origin"]),
        title=str(meta.get("title", "")),
        chunk_count=int(meta["chunks"]),
        text_hash=str(meta.get("text", "")),
        signature=str(meta.get("sig", "")),
        also=tuple(Copy(*copy) for copy in json.loads(str(meta.get("also", "[]")))),
        chunk_ids=tuple(json.loads(str(meta.get("ids", "[]")))),
    )


def to_metadata(record: ArticleRecord) -> dict[str, Any]:
    return {
        "hash": record.content_hash,
        "origin": record.origin,
        "title": record.title,
        "chunks": record.chunk_count,
        "text": record.text_hash,
        "sig": record.signature,
        "also": json.dumps([[copy.id, copy.source, copy.url, copy.origin] for copy in record.also]),
        "ids": json.dumps(list(record.chunk_ids)),
    }


def pages(collection: Collection, include: Include, page_size: int) -> Iterator[Any]:
    """A collection's records, `page_size` at a time."""
    offset = 0
    while True:
        page = collection.get(include=include, limit=page_size, offset=offset)
        if not page["ids"]:
            return
        yield page
        offset += len(page["ids"])


def iter_metadata(collection: Collection, page_size: int) -> Iterator[tuple[str, dict[str, Any]]]:
    for page in pages(collection, ["metadatas"], page_size):
        yield from zip(page["ids"], (dict(meta) for meta in page["metadatas"]), strict=False)
