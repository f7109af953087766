"""What a collection holds, for the web chat's first screen: counts, sources, date span, example questions.

Read from the chunks' metadata (title, date, source per article) once per store
generation, so it follows ingests and removals made while the app runs, in the Library
or by `rag ingest` / `rag remove` in another process (the app asks on each page load and
after each answer).
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

from rag.store.chroma import ChunkStore

EXAMPLES = 3


@dataclass(frozen=True)
class ArticleInfo:
    id: str
    title: str
    date: str
    source: str


@dataclass(frozen=True)
class Overview:
    """A collection's articles (newest first), their sources and date span."""

    name: str
    articles: list[ArticleInfo] = field(default_factory=list)
    chunks: int = 0

    @property
    def sources(self) -> list[str]:
        return sorted({a.source for a in self.articles if a.source}, key=str.lower)

    @property
    def span(self) -> tuple[str, str]:
        dates = sorted(a.date for a in self.articles if a.date)
        return (dates[0], dates[-1]) if dates else ("", "")

    def line(self) -> str:
        """One line (Markdown): '609 articles from 48 sources, 2013-09-03 to 2023-12-30 (8,996 passages)'."""
        if not self.articles:
            return f"Collection **{html.escape(self.name)}** is empty: ingest articles first (`rag ingest PATH`)."
        first, last = self.span
        sources = len(self.sources)
        parts = [f"Collection **{html.escape(self.name)}**: {_count(len(self.articles), 'article')}"]
        if sources:
            parts.append(f" from {_count(sources, 'source')}")
        if first:
            parts.append(f", {first} to {last}" if first != last else f", {first}")
        parts.append(f" ({_count(self.chunks, 'passage')})")
        return "".join(parts)

    def examples(self, count: int = EXAMPLES) -> list[str]:
        """Questions about the newest articles (one per source where possible), from their headlines,
        in forms that vary (see `example_question`)."""
        chosen: list[ArticleInfo] = []
        sources: set[str] = set()
        for article in self.articles:
            if article.title and article.source not in sources:
                chosen.append(article)
                sources.add(article.source)
            if len(chosen) == count:
                break
        for article in self.articles:  # fewer sources than examples: fill with other articles
            if len(chosen) == count:
                break
            if article.title and article not in chosen:
                chosen.append(article)
        return [example_question(article, form) for form, article in enumerate(chosen)]


def _headline(title: str) -> str:
    title = " ".join(title.split()).rstrip(" .!?:;")
    if len(title) > 90:
        title = title[:90].rsplit(" ", 1)[0] + "…"
    return title


def headline_question(title: str) -> str:
    """A question asking what the articles report on a headline."""
    return f"What do the articles say about “{_headline(title)}”?"


def example_question(article: ArticleInfo, form: int) -> str:
    """An example question about an article, in one of three forms that the answerers answer from the
    article itself (`python -m bench.examples` measures how often each form is declined or answered
    from another article)."""
    headline = _headline(article.title)
    if form % 3 == 1 and article.source:
        return f"What did {article.source} report about “{headline}”?"
    if form % 3 == 2:
        return f"What happened in “{headline}”?"
    return headline_question(article.title)


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


class Overviews:
    """Each store's overview, re-read when an ingest changed the store (a race only re-reads)."""

    def __init__(self) -> None:
        self._cache: dict[str, tuple[int, Overview]] = {}

    def of(self, store: ChunkStore) -> Overview:
        generation = store.refresh()  # another process's ingest or removal: a new generation
        cached = self._cache.get(store.name)
        if cached is None or cached[0] != generation:
            cached = (generation, read_overview(store))
            self._cache[store.name] = cached
        return cached[1]


def read_overview(store: ChunkStore) -> Overview:
    """The overview of a store's current contents (one pass over the chunk metadata)."""
    articles: dict[str, ArticleInfo] = {}
    chunks = 0
    for record in store.iter_chunks():
        chunks += 1
        meta = record.metadata
        article_id = str(meta.get("article_id", ""))
        if article_id not in articles:
            articles[article_id] = ArticleInfo(
                article_id, str(meta.get("title", "")), str(meta.get("date", "")), str(meta.get("source", ""))
            )
    ordered = sorted(articles.values(), key=lambda a: (a.date, a.title), reverse=True)
    return Overview(store.name, ordered, chunks)
