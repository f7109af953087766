"""Incremental ingest: articles (files, and pages and feeds fetched meanwhile) -> chunks -> embeddings -> store.

The run holds the collection's writer lock (rag.store.writer) and streams: each file is read,
each fetched article taken as it arrives (a background thread fetches while this one embeds),
and new or changed articles are chunked and embedded `FLUSH_CHUNKS` at a time, so memory
stays bounded whatever the corpus size. Each batch's chunks are written, then its articles
committed, then their old chunks deleted (see rag.store.chroma). Identity does not depend on
location (rag.ingest.identity): an article found under a new path is relocated, not stored
again; the same text under two names is stored once; a record whose title or date was edited
replaces its previous version. A near-duplicate of a stored story (rag.ingest.syndication) is
recorded with it; when that story is removed in the same run, the re-publication is stored in
its place. With `sync`, committed articles whose file is gone from a given folder (or whose
entry is gone from a feed read in full, or whose source line was dropped) are removed;
articles of files and pages that failed are kept.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Container, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from tqdm import tqdm

from rag.ingest.article import Article, LoadFailure
from rag.ingest.chunking import TextChunk, chunk_text
from rag.ingest.files import LoadOptions, discover, load_file
from rag.ingest.identity import canonical_url
from rag.ingest.syndication import THRESHOLD, SyndicationIndex, decode, encode, minhash
from rag.models.embedding import CachedEmbedder, Embedder
from rag.store.chroma import ArticleRecord, ChunkStore, Copy
from rag.text.dates import date_number

FLUSH_CHUNKS = 256  # chunks embedded and written together
RECORD_FILES = ("json", "jsonl", "csv")


@dataclass(frozen=True)
class IngestOptions:
    load: LoadOptions = field(default_factory=LoadOptions)
    chunk_tokens: int = 200
    chunk_overlap: int = 40
    sync: bool = False
    syndication_threshold: float = THRESHOLD
    write_wait: float = 600.0  # seconds to wait for another writer of the collection (RAG_WRITE_WAIT)


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0  # articles found as stored, including pages and feed entries that answered 304
    removed: list[str] = field(default_factory=list)
    relocated: list[str] = field(default_factory=list)  # stored articles found at a new path (moved or renamed)
    duplicates: list[tuple[str, str]] = field(default_factory=list)  # (origin, id of the stored same text)
    syndicated: list[tuple[str, str]] = field(default_factory=list)  # (copy's id, id of the stored story)
    promoted: list[tuple[str, str]] = field(default_factory=list)  # (re-publication stored, id of its removed story)
    failures: list[LoadFailure] = field(default_factory=list)
    fallbacks: list[LoadFailure] = field(default_factory=list)  # pages that failed, stored from their feed summary
    notes: list[LoadFailure] = field(default_factory=list)  # stored without a field that could not be read
    chunks_written: int = 0
    embedded: int = 0  # chunks the model embedded (the rest came from the embedding cache)
    swept: int = 0
    pages: int = 0  # web documents fetched (pages, feeds, sitemaps; 304s included)
    seconds: float = 0.0  # the whole run
    fetch_seconds: float = 0.0  # fetching and extracting (overlaps embedding)
    embed_seconds: float = 0.0  # inside the embedding model

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed or self.swept or self.relocated or self.syndicated)

    def summary(self) -> str:
        fetched = f"fetched {self.pages} in {self.fetch_seconds:.1f} s, " if self.pages else ""
        return (
            f"added {len(self.added)}, updated {len(self.updated)}, unchanged {self.unchanged}, "
            f"removed {len(self.removed)}, failed {len(self.failures)}, "
            f"moved {len(self.relocated)}, duplicates {len(self.duplicates)}, re-publications {len(self.syndicated)}, "
            f"chunks written {self.chunks_written} ({self.embedded} embedded, the rest cached); "
            f"{fetched}embedded in {self.embed_seconds:.1f} s, {self.seconds:.1f} s in all"
        )


class WebInput(Protocol):
    """Articles fetched from the web while the ingest runs (rag.ingest.web.sources.WebRun)."""

    def articles(self, committed: Mapping[str, ArticleRecord]) -> Iterator[tuple[Article, str]]:
        """(article, id of the stored article it replaces or ''), as they arrive; `committed`: the manifest."""
        ...

    def kept(self) -> list[str]:
        """Stored ids to keep although not fetched in full: unchanged (304) or failed pages."""
        ...

    def vanished(self, committed: Mapping[str, ArticleRecord], seen: Container[str]) -> list[str]:
        """With --sync: stored ids gone from feeds read in full, or from source lines dropped."""
        ...

    def report_into(self, report: IngestReport) -> None:
        """Add the harvest's failures, fallbacks, unchanged pages and timings to `report`."""
        ...

    def remember(self, manifest: Mapping[str, ArticleRecord]) -> None:
        """Keep the validators of pages whose articles are now in `manifest` (conditional GET next time)."""
        ...


def chunk_id(article: Article, index: int) -> str:
    article_key = hashlib.sha1(article.id.encode("utf-8")).hexdigest()[:16]
    return f"{article_key}:{article.content_hash[:12]}:{index}"


def chunk_metadata(article: Article, index: int, chunk: TextChunk) -> dict[str, Any]:
    return {
        "article_id": article.id,
        "article_hash": article.content_hash,
        "chunk_index": index,
        "start": chunk.start,
        "end": chunk.end,
        "title": article.title,
        "date": article.date,
        "date_num": date_number(article.date),
        "source": article.source,
        "url": article.url,
    }


def ingest(
    paths: Sequence[Path],
    store: ChunkStore,
    embedder: CachedEmbedder,
    options: IngestOptions,
    progress: bool = True,
    before_publish: Callable[[int], None] | None = None,
    web: WebInput | None = None,
    notice: Callable[[str], None] = print,
) -> IngestReport:
    """Bring the store in line with the articles under `paths` and from `web`; never raises for bad
    files or pages. Waits (saying so through `notice`) while another writer holds the collection."""
    started = time.perf_counter()
    report = IngestReport()
    misses = embedder.misses
    with store.writing(options.write_wait, notice):
        report.swept = store.begin_run()
        plan = _Plan(store.manifest(), report)
        with _Writer(store, embedder, options, report, plan.committed, progress) as writer:
            _take_files(paths, options, plan, writer)
            if web is not None:
                for article, replaces in web.articles(plan.committed):
                    if plan.place(article, local=False, replaces=replaces):
                        writer.add(article, is_update=article.id in plan.updates)
                plan.keep(web.kept())
                web.report_into(report)
            removing = plan.superseded()
            if options.sync:
                removing += _vanished(paths, plan, report.failures)
                removing += web.vanished(plan.committed, plan.seen) if web is not None else []
            removing = list(dict.fromkeys(removing))
            _promote(removing, plan, writer)
        store.relocate(plan.moved)
        for stale in removing:
            store.remove_article(stale)
        writer.record_copies(exclude=set(removing))
        updated_away = plan.classify(writer.stored)
        report.removed = [stale for stale in removing if stale not in updated_away]
        if web is not None:
            web.remember(store.manifest())
        store.end_run(report.changed, before_publish)  # e.g. build the BM25 index readers of the new generation need
    report.embedded = embedder.misses - misses
    report.seconds = time.perf_counter() - started
    return report


def _take_files(paths: Sequence[Path], options: IngestOptions, plan: _Plan, writer: _Writer) -> None:
    files, failures = discover(paths)
    plan.report.failures.extend(failures)
    for path in tqdm(files, desc="reading", unit="file", disable=not writer.progress or len(files) < 2):
        articles, failures = load_file(path, options.load)
        plan.report.failures.extend(failure for failure in failures if not failure.kept)
        plan.report.notes.extend(failure for failure in failures if failure.kept)
        for article in articles:
            if plan.place(article):
                writer.add(article, is_update=article.id in plan.updates)


def _promote(removing: list[str], plan: _Plan, writer: _Writer) -> None:
    """Store the re-publications of stories removed in this run (found this run) in their place."""
    gone = set(removing)
    for story in removing:
        record = plan.committed.get(story)
        candidates = [copy.id for copy in record.also] if record is not None else []
        candidates += [copy.id for copy in writer.copies.get(story, [])]
        for copy_id in dict.fromkeys(candidates):
            held = plan.held.pop(copy_id, None)
            article = held or writer.copy_articles.pop(copy_id, None)
            if article is not None and copy_id not in gone:
                plan.report.unchanged -= 1 if held is not None else 0
                plan.report.promoted.append((copy_id, story))
                writer.add(article, is_update=False, exclude=gone)


class _Plan:
    """Decides, article by article, what a run does: skip, store, relocate, or drop a duplicate.

    The same text is the same article: found under a new path it is relocated (its manifest
    origin updated, nothing re-embedded); found under a second name it is stored once; found
    in the same record file under a new title or date it replaces the previous version.
    """

    def __init__(self, committed: dict[str, ArticleRecord], report: IngestReport) -> None:
        self.committed, self.report = committed, report
        self.by_text = {record.text_hash: record for record in committed.values() if record.text_hash}
        self.by_origin: dict[str, list[str]] = {}
        for record in committed.values():
            self.by_origin.setdefault(record.origin, []).append(record.id)
        self.seen: dict[str, str] = {}  # article id -> origin, of every article accounted for
        self.seen_texts: dict[str, str] = {}  # text hash -> article id
        self.moved: list[ArticleRecord] = []
        self.loaded_origins: set[str] = set()  # files that yielded articles this run
        self.single_origins: set[str] = set()  # single-article files among them
        # stores built before canonical URLs: an article whose id was its URL as written
        self.by_canonical = {canonical_url(r.id): r for r in committed.values() if canonical_url(r.id) != r.id}
        self.replaced: dict[str, str] = {}  # stored id -> the id of the article replacing it this run
        self.updates: set[str] = set()  # ids of articles to store that replace a stored version
        self.copies = {copy.id: record.id for record in committed.values() for copy in record.also}
        self.held: dict[str, Article] = {}  # re-publications already recorded with a story, found again

    def place(self, article: Article, local: bool = True, replaces: str = "") -> bool:
        """Account for one article; True when it is to be stored (new or changed).

        `local`: from a file (a web article's origin is its page or feed URL); `replaces`: the id of a
        stored article this one supersedes (a page that was stored from its feed summary)."""
        if local:
            self._note_origin(article)
        twin_id = self.seen_texts.get(article.text_hash)
        if twin_id is not None:  # the same text under another name (or twice) in this run
            self.report.duplicates.append((article.origin, twin_id))
            return False
        if article.id in self.seen:
            reason = f"duplicate article id {article.id} (also in {self.seen[article.id]}); skipped"
            self.report.failures.append(LoadFailure(article.origin, reason))
            return False
        previous = self.committed.get(article.id)
        if previous is None and article.id in self.copies:  # a re-publication already recorded with its story
            self.seen[article.id] = article.origin
            self.held[article.id] = article
            self.report.unchanged += 1
            return False
        if previous is None and replaces in self.committed and replaces != article.id:
            self._replace(replaces, article)
        elif previous is None:
            previous = self._earlier_version(article, local)
            if previous is None and article.id in self.seen:
                return False  # reported as a duplicate of a stored article
        self.seen_texts[article.text_hash] = previous.id if previous else article.id
        if previous is None or self.replaced.get(previous.id) == article.id:
            self.seen[article.id] = article.origin
            return True
        return self._compare(previous, article, local)

    def _note_origin(self, article: Article) -> None:
        """A file's article: a single-article file's previous text (another id) is replaced by it,
        unless that text is found again."""
        self.loaded_origins.add(article.origin)
        if article.origin.rsplit(".", 1)[-1].lower() in RECORD_FILES:
            return
        self.single_origins.add(article.origin)
        for stale in self.by_origin.get(article.origin, []):
            if stale != article.id and stale not in self.seen and stale in self.committed:
                self._replace(stale, article)

    def _earlier_version(self, article: Article, local: bool) -> ArticleRecord | None:
        """A stored article this one is a version of: under its URL as written by an older version of this
        program, under another id with the same text, or (a record file) the same text before an edit."""
        legacy = self.by_canonical.get(article.id)
        if legacy is not None and legacy.id not in self.seen:
            self._replace(legacy.id, article)
            return legacy
        twin = self.by_text.get(article.text_hash)
        if twin is None:
            return None
        if twin.id in self.seen:
            self.report.duplicates.append((article.origin, twin.id))
            self.seen[article.id] = article.origin
            return None
        edited = twin.origin == article.origin and twin.content_hash != article.content_hash
        if local and edited and twin.id.startswith("record:") and article.id.startswith("record:"):
            self._replace(twin.id, article)  # a record whose title or date was corrected
        return twin

    def _replace(self, old: str, article: Article) -> None:
        self.replaced[old] = article.id
        self.updates.add(article.id)

    def _compare(self, previous: ArticleRecord, article: Article, local: bool) -> bool:
        """`article` was found as stored `previous`: unchanged (maybe moved, or a duplicate), or changed."""
        if self.replaced.get(previous.id, article.id) != article.id:
            del self.replaced[previous.id]  # a single file's text found unchanged: not replaced after all
        if previous.content_hash == article.content_hash or previous.text_hash == article.text_hash:
            self.seen[previous.id] = article.origin
            self.report.unchanged += 1
            if previous.origin != article.origin and self._gone(previous, local):
                self._move(previous, article.origin)
            elif previous.id != article.id or (local and previous.origin != article.origin):
                self.report.duplicates.append((article.origin, previous.id))
            return False
        self.seen[article.id] = article.origin
        self.updates.add(article.id)
        return True

    @staticmethod
    def _gone(previous: ArticleRecord, local: bool) -> bool:
        """Whether `previous` moved to a file's new path (its file is gone: a move or rename). A web
        article found through another feed keeps the origin it was stored from."""
        web = previous.origin.lower().startswith(("http://", "https://"))
        return local and not web and not Path(previous.origin).exists()

    def keep(self, ids: Sequence[str]) -> None:
        """Stored articles not seen this run that must stay (unchanged or failed web pages)."""
        for article_id in ids:
            if article_id in self.committed and article_id not in self.seen:
                self.seen[article_id] = self.committed[article_id].origin
                self.replaced.pop(article_id, None)

    def _move(self, record: ArticleRecord, origin: str) -> None:
        moved = replace(record, origin=origin)
        self.committed[record.id] = moved
        self.moved.append(moved)
        self.report.relocated.append(record.id)

    def superseded(self) -> list[str]:
        """Committed articles replaced by a version stored this run: the previous text of a
        single-article file, an edited record, a page once stored from its feed summary, or an id
        given by an older version of this program (the file's path, a record's position, a URL as written)."""
        return [
            record.id
            for record in self.committed.values()
            if record.id not in self.seen
            and (
                record.id in self.replaced
                or record.origin in self.single_origins
                or (record.origin in self.loaded_origins and record.id.startswith(record.origin + "#"))
            )
        ]

    def classify(self, stored: Sequence[str]) -> set[str]:
        """Report each article stored this run as added or updated (it replaced a stored version);
        returns the replaced ids whose replacement was stored (an edit, not a removal)."""
        done = set(stored)
        for article_id in stored:
            update = article_id in self.updates or article_id in self.committed
            (self.report.updated if update else self.report.added).append(article_id)
        return {old for old, new in self.replaced.items() if new in done}


def _vanished(paths: Sequence[Path], plan: _Plan, failures: Sequence[LoadFailure]) -> list[str]:
    """With --sync: stored articles whose file is gone from the given folders (not those of files that failed)."""
    roots = [path.resolve().as_posix() for path in paths]
    failed_files = {failure.path.split("#", 1)[0] for failure in failures}
    return [
        record.id
        for record in plan.committed.values()
        if any(record.origin == root or record.origin.startswith(root + "/") for root in roots)
        and record.id not in plan.seen
        and record.origin not in failed_files
    ]


class _Writer:
    """Stores new and changed articles as they come: a re-publication of a stored story (rag.ingest.syndication)
    is recorded with it; the others are chunked, embedded and written `FLUSH_CHUNKS` chunks at a time."""

    def __init__(
        self,
        store: ChunkStore,
        embedder: Embedder,
        options: IngestOptions,
        report: IngestReport,
        committed: Mapping[str, ArticleRecord],
        progress: bool,
    ) -> None:
        self.store, self.embedder, self.options, self.report, self.progress = store, embedder, options, report, progress
        self.index = SyndicationIndex(options.syndication_threshold)
        for record in committed.values():
            known = decode(record.signature) if record.signature else None
            if known is not None:
                self.index.add(record.id, known)
        self.copies: dict[str, list[Copy]] = {}  # story id -> re-publications found this run
        self.copy_articles: dict[str, Article] = {}
        self.stored: list[str] = []
        self.pending: list[tuple[Article, list[TextChunk], str]] = []
        self.bar = tqdm(desc="embedding", unit="chunk", disable=not progress)

    def __enter__(self) -> _Writer:
        return self

    def __exit__(self, kind: object, *_: object) -> None:
        if kind is None:
            self.flush()
        self.bar.close()

    def add(self, article: Article, is_update: bool, exclude: Container[str] = ()) -> None:
        signature = minhash(article.text)
        story = None if is_update else self.index.match(signature, exclude=article.id, skip=exclude)
        if story is not None:
            self.copies.setdefault(story, []).append(Copy(article.id, article.source, article.url, article.origin))
            self.copy_articles[article.id] = article
            self.report.syndicated.append((article.id, story))
            return
        self.index.add(article.id, signature)
        chunks = chunk_text(
            article.text, self.embedder.count_tokens, self.options.chunk_tokens, self.options.chunk_overlap
        )
        self.pending.append((article, chunks, encode(signature)))
        if sum(len(chunks) for _, chunks, _ in self.pending) >= FLUSH_CHUNKS:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        ids: list[str] = []
        texts: list[str] = []
        metadatas: list[dict[str, Any]] = []
        for article, chunks, _ in self.pending:
            for index, chunk in enumerate(chunks):
                ids.append(chunk_id(article, index))
                texts.append(chunk.text)
                metadatas.append(chunk_metadata(article, index, chunk))
        started = time.perf_counter()
        vectors = self.embedder.embed(texts)
        self.report.embed_seconds += time.perf_counter() - started
        self.store.write_chunks(ids, texts, vectors, metadatas)
        self.store.commit_articles(
            [
                ArticleRecord(
                    a.id,
                    a.content_hash,
                    a.origin,
                    a.title,
                    len(chunks),
                    a.text_hash,
                    signature,
                    chunk_ids=tuple(chunk_id(a, index) for index in range(len(chunks))),
                )
                for a, chunks, signature in self.pending
            ]
        )
        self.stored.extend(article.id for article, _, _ in self.pending)
        self.report.chunks_written += len(ids)
        self.pending = []
        self.bar.update(len(ids))

    def record_copies(self, exclude: Container[str]) -> None:
        """Record this run's re-publications with their stories (those not removed)."""
        for story, found in self.copies.items():
            if story not in exclude:
                self.store.add_copies(story, found)
