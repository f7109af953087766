"""Bringing the lexical index in line with the store, article by article.

Two ways to find what changed:

* `run_delta`: the articles the ingest run itself committed or removed (the store remembers
  them, `ChunkStore.run_changes`). Used when the index holds the generation just before the
  one being published and the run started clean: O(changed articles).
* `full_delta`: every article of the manifest against the article versions the index holds
  (a terms aggregation over the documents' `version` field, with their document counts).
  Used otherwise: a first build, a migration, an index that missed generations (a replica
  catching up, an ingest in dense mode, a crashed run). Reads the manifest, O(articles),
  but fetches only the chunks of articles that differ.

`apply` deletes the changed articles' documents by article id, adds their current chunks and
replaces the state document, then commits: one tantivy commit, so readers see all of a
change or none of it, and a crash before the commit leaves the index as it was.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import tantivy

from rag.search.lexical_schema import STATE_ID, VERSION_SEPARATOR, chunk_document, state_document
from rag.store.chroma import ArticleRecord, ChunkRecord, ChunkStore

SCAN_SHARE = 0.25  # re-index more than this share of the store's chunks by reading them all in pages


@dataclass(frozen=True)
class Delta:
    """Articles whose documents go (`remove`) and whose current chunks are indexed (`add`)."""

    remove: frozenset[str]
    add: tuple[ArticleRecord, ...]
    full: bool  # found by comparing every article (not from the run's own changes)

    @property
    def chunks(self) -> int:
        return sum(record.chunk_count for record in self.add)


def indexed_versions(searcher: tantivy.Searcher) -> dict[str, list[tuple[str, int]]]:
    """Article id -> the (content hash, document count) of each version of it the index holds."""
    found = searcher.aggregate(tantivy.Query.all_query(), {"v": {"terms": {"field": "version", "size": 1 << 31}}})
    versions: dict[str, list[tuple[str, int]]] = {}
    for bucket in found["v"]["buckets"]:
        article_id, _, content_hash = str(bucket["key"]).partition(VERSION_SEPARATOR)
        versions.setdefault(article_id, []).append((content_hash, int(bucket["doc_count"])))
    return versions


def full_delta(store: ChunkStore, searcher: tantivy.Searcher) -> Delta:
    manifest = store.manifest()
    indexed = indexed_versions(searcher)
    remove = {
        article_id
        for article_id, versions in indexed.items()
        if article_id not in manifest
        or versions != [(manifest[article_id].content_hash, manifest[article_id].chunk_count)]
    }
    add = tuple(record for record in manifest.values() if record.id in remove or record.id not in indexed)
    return Delta(frozenset(remove), add, full=True)


def run_delta(store: ChunkStore, changes: frozenset[str]) -> Delta:
    records = store.manifest_records(sorted(changes))
    return Delta(changes, tuple(records.values()), full=False)


def apply(
    writer: tantivy.IndexWriter, store: ChunkStore, delta: Delta, titles: bool, generation: int, identity: str
) -> None:
    """Replace the delta's articles in the index and record the store's `identity` and `generation`, in one commit."""
    for article_id in sorted(delta.remove):
        writer.delete_documents_by_term("article_id", article_id)
    for chunk in _chunks(store, delta.add):
        writer.add_document(chunk_document(chunk.id, chunk.text, chunk.metadata, titles))
    writer.delete_documents_by_term("chunk_id", STATE_ID)
    writer.add_document(state_document(generation, identity))
    writer.commit()


def _chunks(store: ChunkStore, records: tuple[ArticleRecord, ...]) -> Iterator[ChunkRecord]:
    """The current chunks of these articles: by id, or by reading the whole store in pages when they are
    many (a first build) or their records predate chunk ids in the manifest."""
    wanted = {record.id: record.content_hash for record in records}
    total = sum(record.chunk_count for record in records)
    if not wanted:
        return
    if any(not record.chunk_ids for record in records) or total > SCAN_SHARE * store.chunk_count():
        for chunk in store.iter_chunks():
            if wanted.get(str(chunk.metadata.get("article_id"))) == chunk.metadata.get("article_hash"):
                yield chunk
        return
    ids = [chunk_id for record in records for chunk_id in record.chunk_ids]
    for start in range(0, len(ids), 4096):
        yield from store.read_chunks(ids[start : start + 4096])
