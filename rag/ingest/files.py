"""Files: paths on disk -> `Article` records (the folder walk, safe reading, cleaning, ids).

Owns everything between a path and clean article text except the parsing of each format
(rag.ingest.formats): finding files under folders (`discover`), reading them within size
limits, normalising text and dates, and assigning stable ids. Every problem with a file
or a record is reported as a `LoadFailure` with a reason a user can act on; `load_file`
never raises for bad content.
"""

from __future__ import annotations

import csv
import html
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from rag.ingest.article import Article, LoadFailure
from rag.ingest.formats import (
    BINARY_SUFFIXES,
    RECORD_SUFFIXES,
    SUPPORTED_SUFFIXES,
    TITLE_WORDS,
    CsvColumns,
    FormatError,
    Parsed,
    clean,
    one_line,
    parse,
)
from rag.ingest.identity import canonical_url, record_id, text_id
from rag.text.dates import normalise_date

if TYPE_CHECKING:
    from rag.config import Settings

_OTHER_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]+:/")  # ftp://, file://, s3:// (two letters or more: not C:/)

__all__ = ["SUPPORTED_SUFFIXES", "Article", "CsvColumns", "LoadFailure", "LoadOptions", "discover", "load_file"]


@dataclass(frozen=True)
class LoadOptions:
    max_bytes: int = 5_000_000  # one article: a single-article file, or one record's text
    max_file_bytes: int = 500_000_000  # a file of many records (.json, .jsonl, .csv)
    csv: CsvColumns = field(default_factory=CsvColumns)

    @classmethod
    def from_settings(cls, settings: Settings) -> LoadOptions:
        columns = CsvColumns(
            title=settings.csv_title_column,
            text=settings.csv_text_column,
            date=settings.csv_date_column,
            source=settings.csv_source_column,
            url=settings.csv_url_column,
        )
        return cls(settings.max_article_bytes, settings.max_file_bytes, columns)


def discover(paths: Sequence[Path]) -> tuple[list[Path], list[LoadFailure]]:
    """Resolve files and folders into a sorted, de-duplicated list of loadable files."""
    found: set[Path] = set()
    failures: list[LoadFailure] = []
    for path in paths:
        if path.is_dir():
            _walk(path, path.resolve(), found, failures)
        elif not path.exists():
            failures.append(LoadFailure(str(path), _missing(path)))
        elif not path.is_file():
            failures.append(LoadFailure(str(path), "not a regular file or folder; pass article files"))
        elif path.suffix.lower() not in SUPPORTED_SUFFIXES:
            failures.append(LoadFailure(str(path), _unsupported(path)))
        else:
            found.add(path.resolve())
    return sorted(found), failures


def _missing(path: Path) -> str:
    """Why a path that does not exist was skipped: an address of another scheme than the web's
    (`ftp://…`, which a path keeps as `ftp:/…`), or a misspelt path."""
    if _OTHER_SCHEME.match(str(path)):
        return "not a file, and only http:// and https:// addresses are fetched; give a web address or a path"
    return "path does not exist; check the spelling"


def _walk(folder: Path, root: Path, found: set[Path], failures: list[LoadFailure]) -> None:
    try:
        entries = sorted(folder.iterdir())
    except OSError as exc:
        failures.append(LoadFailure(str(folder), f"cannot list folder ({exc.strerror}); check its permissions"))
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        if entry.is_symlink():
            try:
                target = entry.resolve()
            except (OSError, RuntimeError):
                failures.append(LoadFailure(str(entry), "symlink cannot be resolved (loop); remove it"))
                continue
            if not target.is_relative_to(root):
                failures.append(LoadFailure(str(entry), f"symlink points outside {root}; copy the file in instead"))
            elif target.is_file() and target.suffix.lower() in SUPPORTED_SUFFIXES:
                found.add(target)  # linked folders inside root are walked directly
        elif entry.is_dir():
            _walk(entry, root, found, failures)
        elif entry.is_file() and entry.suffix.lower() in SUPPORTED_SUFFIXES:
            found.add(entry.resolve())


def _unsupported(path: Path) -> str:
    return f"unsupported file type '{path.suffix}'; use one of {', '.join(SUPPORTED_SUFFIXES)}"


def load_file(path: Path, options: LoadOptions) -> tuple[list[Article], list[LoadFailure]]:
    """Load every article in `path`; bad files and bad records come back as failures."""
    try:
        path = path.resolve()
    except (OSError, RuntimeError):  # symlink loop: reading below reports it
        path = path.absolute()
    origin = path.as_posix()
    try:
        suffix = path.suffix.lower()
        if suffix not in SUPPORTED_SUFFIXES:
            raise FormatError(_unsupported(path))
        many = suffix in RECORD_SUFFIXES or suffix in BINARY_SUFFIXES
        limit, setting = (
            (options.max_file_bytes, "RAG_MAX_FILE_BYTES") if many else (options.max_bytes, "RAG_MAX_ARTICLE_BYTES")
        )
        parsed = parse(_read_bytes(path, limit, setting), path, options.csv)
        if not parsed:
            raise FormatError(
                "file holds no records (e.g. an empty list or a header-only CSV); add articles or remove it"
            )
    except FormatError as exc:
        return [], [LoadFailure(origin, str(exc))]
    except RecursionError:
        return [], [LoadFailure(origin, "content is nested too deeply to parse; simplify the file")]
    except csv.Error as exc:
        return [], [LoadFailure(origin, f"cannot parse the file ({exc}); check that it is well formed")]
    return _build(parsed, origin, options.max_bytes)


def _read_bytes(path: Path, max_bytes: int, setting: str) -> bytes:
    try:
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
            size = path.stat().st_size if len(data) > max_bytes else len(data)
    except OSError as exc:
        reason = exc.strerror or exc
        raise FormatError(f"cannot read the file ({reason}); check that it exists and is readable") from None
    if size > max_bytes:
        raise FormatError(
            f"file is {size:,} bytes, over the limit of {max_bytes:,} bytes; "
            f"split it into smaller files or raise {setting}"
        )
    if not data.strip():
        raise FormatError("file is empty or contains only whitespace; add the article text or remove the file")
    return data


def _build(parsed: Parsed, origin: str, max_bytes: int) -> tuple[list[Article], list[LoadFailure]]:
    articles: list[Article] = []
    failures: list[LoadFailure] = []
    used: set[str] = set()
    for item in parsed:
        if isinstance(item, LoadFailure):
            failures.append(item)
            continue
        where = f"{origin}#{item.label}" if item.label else origin
        text = clean(item.text)
        if not text:
            failures.append(LoadFailure(where, f"no body text ({item.needs}); add the article text or remove it"))
            continue
        size = len(text.encode("utf-8"))
        if size > max_bytes:
            failures.append(
                LoadFailure(
                    where,
                    f"article text is {size:,} bytes, over the limit of {max_bytes:,}; "
                    "split it or raise RAG_MAX_ARTICLE_BYTES",
                )
            )
            continue
        url = canonical_url(one_line(item.url))
        title, written, source = one_line(item.title), one_line(item.date), one_line(item.source)
        when = normalise_date(written)
        if written and not when:
            failures.append(LoadFailure(where, _unread_date(written, item.default_date), kept=True))
        when = when or item.default_date
        base = url or (record_id(title, when, source, text) if item.record else text_id(text))
        source = source or item.default_source
        ident, copy = base, 1
        while ident in used:
            copy += 1
            ident = f"{base}#{copy}"
        used.add(ident)
        if item.record:  # after the id, which keeps the title as given
            title = html.unescape(title) or _lead_words(text)  # "&#039;Massive …" from a scraper is "'Massive …"
        articles.append(Article(ident, title, text, when, source, url, origin))
    return articles, failures


def _unread_date(written: str, instead: str) -> str:
    stored = f"stored with the date in the file's name, {instead}" if instead else "stored without a date"
    return (
        f"date '{written}' is not a date that can be read (malformed, no four-digit year, or day and month "
        f"could be either way round); {stored}: write it as YYYY-MM-DD"
    )


def _lead_words(text: str, most: int = TITLE_WORDS) -> str:
    """A title for a record that has none: its first line when short, else its first words and '…'."""
    first = text.strip().split("\n", 1)[0].strip()
    words = first.split()
    return first if len(words) <= most else " ".join(words[:most]) + " …"
