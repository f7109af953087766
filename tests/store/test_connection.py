"""Reopening an embedded store lets go of the old client and its vector index at once."""

from __future__ import annotations

import weakref

from rag.config import Settings
from rag.store.chroma import ChunkStore
from tests.fake_embedder import HashEmbedder


def test_a_reopen_frees_the_old_client(settings: Settings, fast_embedder: HashEmbedder) -> None:
    store, other = ChunkStore.open(settings, fast_embedder), ChunkStore.open(settings, fast_embedder)
    vectors = fast_embedder.embed(["harbour works", "bridge paint"])
    store.write_chunks(["a", "b"], ["harbour works", "bridge paint"], vectors, [{"n": 1}, {"n": 2}])
    assert [record.id for record, _ in store.query(vectors[0], 1)] == ["a"]
    assert other.chunk_count() == 2  # a second store on the same connection holds its own handles
    old = weakref.ref(store.chunks._collection()._client)  # what holds the old vector index

    store._connection.reopen()
    assert old() is None
    assert [record.id for record, _ in store.query(vectors[1], 1)] == ["b"] and other.chunk_count() == 2
