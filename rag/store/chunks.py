"""The chunk collection: one record per chunk (text, embedding, article metadata, offsets).

`Chunks` writes, deletes, queries and reads chunks; what a chunk's metadata holds is set by
`chunk_metadata` in rag.ingest.run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from chromadb.api.models.Collection import Collection
from chromadb.base_types import InclusionExclusionOperator, LiteralValue

from rag.store.connection import Connection
from rag.store.manifest import iter_metadata, pages


@dataclass(frozen=True)
class ChunkRecord:
    """A chunk as stored: id, text and metadata (see `chunk_metadata` in rag.ingest.run)."""

    id: str
    text: str
    metadata: dict[str, Any]


class Chunks:
    """Reads and writes chunks; `collection` returns the (possibly refetched) collection."""

    def __init__(self, collection: Callable[[], Collection], connection: Connection, batch: int) -> None:
        self._collection, self._connection, self._batch = collection, connection, batch

    # --- writing -----------------------------------------------------------------------
    def write(
        self, ids: Sequence[str], texts: Sequence[str], embeddings: np.ndarray, metadatas: Sequence[dict[str, Any]]
    ) -> None:
        for start in range(0, len(ids), self._batch):
            stop = start + self._batch
            self._collection().upsert(
                ids=list(ids[start:stop]),
                documents=list(texts[start:stop]),
                embeddings=embeddings[start:stop],
                metadatas=list(metadatas[start:stop]),
            )

    def delete(self, chunk_ids: Sequence[str]) -> None:
        for start in range(0, len(chunk_ids), self._batch):
            self._collection().delete(ids=list(chunk_ids[start : start + self._batch]))

    def delete_article(self, article_id: str) -> None:
        """Every chunk of an article, found by a metadata scan (for manifest records without chunk ids)."""
        self._collection().delete(where={"article_id": article_id})

    def other_versions(self, current: Mapping[str, str]) -> list[str]:
        """Ids of the chunks of these articles (id -> content hash) that belong to another version,
        found by a metadata scan (for manifest records without chunk ids)."""
        in_articles: dict[InclusionExclusionOperator, list[LiteralValue]] = {"$in": list(current)}
        found = self._collection().get(where={"article_id": in_articles}, include=["metadatas"])
        return [
            chunk_id
            for chunk_id, meta in zip(found["ids"], found["metadatas"] or [], strict=False)
            if current[str(meta["article_id"])] != meta["article_hash"]
        ]

    def orphans(self, committed: Mapping[str, str]) -> list[str]:
        """Ids of the chunks whose (article, hash) is not in `committed` (article id -> content hash)."""
        return [
            chunk_id
            for chunk_id, meta in iter_metadata(self._collection(), self._batch)
            if committed.get(str(meta["article_id"])) != meta["article_hash"]
        ]

    def set_copies(self, chunks: Sequence[ChunkRecord], sources: Sequence[str], urls: Sequence[str]) -> None:
        """Record an article's re-publications on its chunks (`also_sources`, `also_urls`: newline-separated)."""
        if chunks:
            self._collection().update(
                ids=[chunk.id for chunk in chunks],
                metadatas=[
                    {**chunk.metadata, "also_sources": "\n".join(sources), "also_urls": "\n".join(urls)}
                    for chunk in chunks
                ],
            )

    # --- reading -------------------------------------------------------------------------
    def query(
        self, embedding: np.ndarray, k: int, where: dict[str, Any] | None = None
    ) -> list[tuple[ChunkRecord, float]]:
        """Nearest chunks with cosine similarity (1 - distance), best first."""
        # No count() first: Chroma counts by scanning (7-8 ms at 100k chunks, 74 ms at 1M), and it
        # answers a query for more results than it holds (or an empty collection) with what it has.
        with self._connection.lock:
            result = self._collection().query(
                query_embeddings=[embedding],
                n_results=k,
                where=where or None,
                include=["documents", "metadatas", "distances"],
            )
        documents, metadatas, distances = result["documents"], result["metadatas"], result["distances"]
        assert documents is not None and metadatas is not None and distances is not None  # all were included
        return [
            (ChunkRecord(chunk_id, text, dict(meta)), 1.0 - float(distance))
            for chunk_id, text, meta, distance in zip(
                result["ids"][0], documents[0], metadatas[0], distances[0], strict=False
            )
        ]

    def iter(self) -> Iterator[ChunkRecord]:
        """Every chunk with its text and metadata, in pages."""
        for page in pages(self._collection(), ["documents", "metadatas"], self._batch):
            for chunk_id, text, meta in zip(page["ids"], page["documents"], page["metadatas"], strict=False):
                yield ChunkRecord(chunk_id, text, dict(meta))

    def get(self, ids: Sequence[str]) -> list[tuple[ChunkRecord, np.ndarray]]:
        """The chunks with these ids (those that exist, in the order asked) and their embeddings."""
        if not ids:
            return []
        found = self._collection().get(ids=list(ids), include=["documents", "metadatas", "embeddings"])
        documents, metadatas, embeddings = found["documents"], found["metadatas"], found["embeddings"]
        assert documents is not None and metadatas is not None and embeddings is not None  # all were included
        by_id = {
            chunk_id: (ChunkRecord(chunk_id, text, dict(meta)), np.asarray(vector, dtype=np.float32))
            for chunk_id, text, meta, vector in zip(found["ids"], documents, metadatas, embeddings, strict=False)
        }
        return [by_id[chunk_id] for chunk_id in ids if chunk_id in by_id]

    def first_chunks(self, article_ids: Sequence[str] | None = None) -> dict[str, dict[str, Any]]:
        """Metadata of each article's first chunk (title, date, source, url ...), by article id."""
        where: dict[str, Any] = {"chunk_index": 0}
        if article_ids is not None:
            if not article_ids:
                return {}
            where = {"$and": [where, {"article_id": {"$in": list(article_ids)}}]}
        found: dict[str, dict[str, Any]] = {}
        offset = 0
        while True:
            page = self._collection().get(where=where, include=["metadatas"], limit=self._batch, offset=offset)
            if not page["ids"]:
                return found
            for meta in page["metadatas"] or []:
                found[str(meta["article_id"])] = dict(meta)
            offset += len(page["ids"])

    def read(self, ids: Sequence[str]) -> list[ChunkRecord]:
        """The chunks with these ids that exist, text and metadata (no embeddings), in batches."""
        records: list[ChunkRecord] = []
        for start in range(0, len(ids), self._batch):
            found = self._collection().get(
                ids=list(ids[start : start + self._batch]), include=["documents", "metadatas"]
            )
            records += [
                ChunkRecord(chunk_id, text, dict(meta))
                for chunk_id, text, meta in zip(
                    found["ids"], found["documents"] or [], found["metadatas"] or [], strict=False
                )
            ]
        return records

    def of_article(self, article_id: str) -> list[ChunkRecord]:
        """Every chunk of one article, found by a metadata scan (for manifest records without chunk ids)."""
        found = self._collection().get(where={"article_id": article_id}, include=["documents", "metadatas"])
        return [
            ChunkRecord(chunk_id, text, dict(meta))
            for chunk_id, text, meta in zip(
                found["ids"], found["documents"] or [], found["metadatas"] or [], strict=False
            )
        ]

    def count(self) -> int:
        return self._collection().count()
