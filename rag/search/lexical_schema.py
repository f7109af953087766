"""What a chunk is in the lexical index: the tantivy schema, the English analyzer, the documents.

A chunk is one document: its words (the article's title in front of its text, unless the
index is text-only) analysed by `analyzer` — words of two or more letters or digits,
lower-cased, minus the English stop words of rag.text.terms, Snowball-stemmed — plus what
the retriever filters and boosts on (source, date_num and its month-day) and what the
index needs to follow the store (chunk id, article id, and the article's version = id and
content hash, whose per-version document counts say which articles the index holds). One
more document, the state document, records the store (its chunk collection's id) and the
generation the index was last brought up to, so it is committed with the chunks, atomically.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import tantivy

from rag.text.terms import STOPWORDS

FORMAT = 3  # bumped when what the index holds changes (3: tantivy; 2 was bm25s files per generation)
ANALYZER = "news"
STATE_ID = "__state__"
VERSION_SEPARATOR = "\x1f"
WORD_PATTERN = r"(?u)\b\w\w+\b"  # the words BM25 counts (as bm25s and scikit-learn split them)


def schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("chunk_id", stored=True, tokenizer_name="raw")
    builder.add_text_field("article_id", stored=True, tokenizer_name="raw")
    builder.add_text_field("version", fast=True, tokenizer_name="raw")
    builder.add_text_field("source", stored=True, fast=True, tokenizer_name="raw")
    builder.add_integer_field("date_num", stored=True, indexed=True, fast=True)
    builder.add_integer_field("monthday", indexed=True, fast=True)
    builder.add_integer_field("generation", stored=True)
    builder.add_text_field("store", stored=True, tokenizer_name="raw")
    builder.add_text_field("body", tokenizer_name=ANALYZER, index_option="freq")
    return builder.build()


def analyzer(stopwords: Collection[str] = STOPWORDS) -> tantivy.TextAnalyzer:
    """Words -> lower case -> minus stop words -> English (Snowball) stems."""
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.regex(WORD_PATTERN))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.custom_stopword(sorted(stopwords)))
        .filter(tantivy.Filter.stemmer("english"))
        .build()
    )


def version(article_id: str, content_hash: str) -> str:
    return f"{article_id}{VERSION_SEPARATOR}{content_hash}"


def chunk_document(chunk_id: str, text: str, metadata: dict[str, Any], titles: bool) -> tantivy.Document:
    """The document of one stored chunk (see `chunk_metadata` in rag.ingest.run for its metadata)."""
    date_num = int(metadata.get("date_num", 0) or 0)
    body = f"{metadata.get('title', '')}\n{text}" if titles else text
    return tantivy.Document(
        chunk_id=chunk_id,
        article_id=str(metadata.get("article_id", "")),
        version=version(str(metadata.get("article_id", "")), str(metadata.get("article_hash", ""))),
        source=str(metadata.get("source", "")),
        date_num=date_num,
        monthday=date_num % 10_000,
        body=body,
    )


def state_document(generation: int, store: str) -> tantivy.Document:
    """The index's state: the store (its chunk collection's id) and generation it was brought up to."""
    return tantivy.Document(chunk_id=STATE_ID, generation=generation, store=store)


def hit_metadata(document: tantivy.Document) -> dict[str, Any]:
    """What the retriever reads of a hit (as the store's metadata names it)."""
    return {
        "date_num": int(document.get_first("date_num") or 0),
        "source": str(document.get_first("source") or ""),
        "article_id": str(document.get_first("article_id") or ""),
    }
