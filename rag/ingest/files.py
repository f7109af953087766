"""Loading: turns article files into `Article` records.

Owns everything between a path on disk and clean article text: finding files under folders
(`discover`), reading and decoding them safely, parsing each supported format (plain text,
Markdown, HTML, JSON, JSONL, CSV), normalising text and dates, and assigning stable ids.
Every problem with a file or a record is reported as a `LoadFailure` with a reason a user can
act on; `load_file` never raises for bad content.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import json
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import astuple, dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.ingest.identity import canonical_url, record_id, text_hash, text_id
from rag.ingest.web.extract import extract
from rag.text.dates import date_from_name, normalise_date

if TYPE_CHECKING:
    from rag.config import Settings

RECORD_SUFFIXES = (".json", ".jsonl", ".csv")
HTML_SUFFIXES = (".html", ".htm")
SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm", ".json", ".jsonl", ".csv")


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
    origin: str  # resolved absolute POSIX path of the file

    @property
    def content_hash(self) -> str:
        fields = (self.id, self.title, self.date, self.source, self.url, self.text)
        return hashlib.sha256("\x1f".join(fields).encode("utf-8")).hexdigest()

    @property
    def text_hash(self) -> str:
        return text_hash(self.text)


@dataclass(frozen=True)
class LoadFailure:
    path: str  # the file, plus '#line N' / '#row N' / '#record N' for a bad record
    reason: str


@dataclass(frozen=True)
class CsvColumns:
    title: str = "headlines"
    text: str = "articles"
    date: str = "published"
    source: str = "source"
    url: str = "url"


@dataclass(frozen=True)
class LoadOptions:
    max_bytes: int = 5_000_000  # one article: a single-article file, or one record's text
    max_file_bytes: int = 500_000_000  # a file of many records (.json, .jsonl, .csv)
    csv: CsvColumns = CsvColumns()

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


class _Bad(Exception):
    """A whole file cannot be loaded; the message is the user-facing reason."""


@dataclass(frozen=True)
class _Draft:
    """One article as parsed, before cleaning and id assignment."""

    text: str
    needs: str  # where the body text was expected, for the "no body text" failure
    title: str = ""
    date: str = ""
    source: str = ""
    url: str = ""
    n: int | None = None  # 1-based record number in multi-record files
    label: str = ""  # "line 3" / "row 5" / "record 2" for failures in multi-record files
    record: bool = False  # one record of a JSON/JSONL/CSV file (identified by title, date and source)
    default_source: str = ""  # shown when the record names no source; not part of its identity


_Parsed = list[_Draft | LoadFailure]


def discover(paths: Sequence[Path]) -> tuple[list[Path], list[LoadFailure]]:
    """Resolve files and folders into a sorted, de-duplicated list of loadable files."""
    found: set[Path] = set()
    failures: list[LoadFailure] = []
    for path in paths:
        if path.is_dir():
            _walk(path, path.resolve(), found, failures)
        elif not path.exists():
            failures.append(LoadFailure(str(path), "path does not exist; check the spelling"))
        elif not path.is_file():
            failures.append(LoadFailure(str(path), "not a regular file or folder; pass article files"))
        elif path.suffix.lower() not in SUPPORTED_SUFFIXES:
            failures.append(LoadFailure(str(path), _unsupported(path)))
        else:
            found.add(path.resolve())
    return sorted(found), failures


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
            raise _Bad(_unsupported(path))
        many = path.suffix.lower() in RECORD_SUFFIXES
        limit, setting = (
            (options.max_file_bytes, "RAG_MAX_FILE_BYTES") if many else (options.max_bytes, "RAG_MAX_ARTICLE_BYTES")
        )
        data = _read_bytes(path, limit, setting)
        if suffix in HTML_SUFFIXES:
            parsed = _parse_html(data, path)
        else:
            parsed = _PARSERS[suffix](_decode_text(data), path, options)
        if not parsed:
            raise _Bad("file holds no records (e.g. an empty list or a header-only CSV); add articles or remove it")
    except _Bad as exc:
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
        raise _Bad(f"cannot read the file ({exc.strerror or exc}); check that it exists and is readable") from None
    if size > max_bytes:
        raise _Bad(
            f"file is {size:,} bytes, over the limit of {max_bytes:,} bytes; "
            f"split it into smaller files or raise {setting}"
        )
    if not data.strip():
        raise _Bad("file is empty or contains only whitespace; add the article text or remove the file")
    return data


def _decode_text(data: bytes) -> str:
    text = _decode(data)
    if not text.strip():
        raise _Bad("file is empty or contains only whitespace; add the article text or remove the file")
    return _clean(text)


def _decode(data: bytes) -> str:
    encoding = "UTF-16" if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) else "UTF-8"
    if encoding == "UTF-8" and b"\x00" in data[:8192]:
        raise _Bad("file looks binary (NUL byte in the first 8 KiB); convert it to text, HTML, JSON or CSV")
    data = data.removeprefix(codecs.BOM_UTF8)
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        where = f"invalid byte 0x{data[exc.start]:02x} at offset {exc.start}"
        raise _Bad(f"not valid {encoding} ({where}); re-save the file as UTF-8") from None


def _build(parsed: _Parsed, origin: str, max_bytes: int) -> tuple[list[Article], list[LoadFailure]]:
    articles: list[Article] = []
    failures: list[LoadFailure] = []
    used: set[str] = set()
    for item in parsed:
        if isinstance(item, LoadFailure):
            failures.append(item)
            continue
        where = f"{origin}#{item.label}" if item.label else origin
        text = _clean(item.text)
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
        url = canonical_url(_one_line(item.url))
        title, when, source = _one_line(item.title), normalise_date(item.date), _one_line(item.source)
        base = url or (record_id(title, when, source, text) if item.record else text_id(text))
        source = source or item.default_source
        ident, copy = base, 1
        while ident in used:
            copy += 1
            ident = f"{base}#{copy}"
        used.add(ident)
        articles.append(Article(ident, title, text, when, source, url, origin))
    return articles, failures


_SURROGATE = re.compile("[\ud800-\udfff]")  # lone surrogates from JSON escapes cannot be encoded


def _clean(value: str) -> str:
    value = value.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    return _SURROGATE.sub("\ufffd", value).strip()


def _one_line(value: str) -> str:
    return " ".join(_clean(value).split())


_META_LINE = re.compile(r"([A-Za-z]+)\s*:\s*(.*)")
_META_KEYS = ("title", "date", "source", "url")


def _parse_text(text: str, path: Path, options: LoadOptions, *, markdown: bool = False) -> _Parsed:
    meta, body = _split_front_matter(text)
    heading = re.search(r"^# +(.+?)[ #]*$", body, re.MULTILINE) if markdown else None
    title = meta.get("title") or (heading.group(1) if heading else "") or _title_from_stem(path.stem)
    when = normalise_date(meta.get("date", "")) or date_from_name(path.stem)
    source, url = meta.get("source", ""), meta.get("url", "")
    return [_Draft(body, "nothing after the front matter", title, when, source, url)]


def _split_front_matter(text: str) -> tuple[dict[str, str], str]:
    """Known keys from a `---` block or leading `Key: value` lines, and the text after them."""
    lines = text.split("\n")
    if lines[0].strip() == "---":
        end = next((i for i in range(1, len(lines)) if lines[i].strip() == "---"), None)
        return (_meta_from(lines[1:end]), "\n".join(lines[end + 1 :])) if end else ({}, text)
    end = next((i for i, line in enumerate(lines) if not line.strip()), None)
    if end is None:
        return {}, text
    header = [_META_LINE.fullmatch(line.strip()) for line in lines[:end]]
    if all(m and m.group(1).lower() in _META_KEYS for m in header):
        return _meta_from(lines[:end]), "\n".join(lines[end + 1 :])
    return {}, text


def _meta_from(lines: list[str]) -> dict[str, str]:
    meta = {}
    for line in lines:
        match = _META_LINE.fullmatch(line.strip())
        if match and match.group(1).lower() in _META_KEYS:
            meta[match.group(1).lower()] = match.group(2).strip().strip("\"'")
    return meta


def _title_from_stem(stem: str) -> str:
    words = " ".join(re.split(r"[-_\s]+", stem)).strip()
    return words[:1].upper() + words[1:]


def _parse_html(data: bytes, path: Path) -> _Parsed:
    page = extract(data)
    title = page.title or _title_from_stem(path.stem)
    when = page.date or date_from_name(path.stem)
    needs = "the page has no readable story text (a script-only or paywalled page?)"
    return [_Draft(page.text, needs, title, when, page.site_name, page.url)]


_JSON_FIELDS = {
    "title": ("title",),
    "text": ("body", "text", "content", "article"),
    "date": ("published_at", "published", "date", "pubDate"),
    "source": ("source", "publisher"),
    "url": ("url", "link"),
}
_JSON_NEEDS = "expected one of the fields " + ", ".join(_JSON_FIELDS["text"])


def _parse_json(text: str, path: Path, options: LoadOptions) -> _Parsed:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _Bad(f"malformed JSON at line {exc.lineno}, column {exc.colno} ({exc.msg}); fix the syntax") from None
    except RecursionError:
        raise _Bad("JSON is nested too deeply to load; store the articles as a flat list of objects") from None
    if isinstance(data, dict):
        data = next((data[k] for k in ("articles", "data", "records") if isinstance(data.get(k), list)), data)
    if isinstance(data, dict):
        return [_record(data, None, "", path)]
    if not isinstance(data, list):
        raise _Bad(f"JSON top level is a {_json_kind(data)}; expected a list of article objects or one object")
    return [_record(record, n, f"record {n}", path) for n, record in enumerate(data, 1)]


def _parse_jsonl(text: str, path: Path, options: LoadOptions) -> _Parsed:
    parsed: _Parsed = []
    for n, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        try:
            parsed.append(_record(json.loads(line), n, f"line {n}", path))
        except (json.JSONDecodeError, RecursionError) as exc:
            problem = f"{exc.msg} at column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else "too deep"
            reason = f"not valid JSON ({problem}); fix or remove the line"
            parsed.append(LoadFailure(f"{path.as_posix()}#line {n}", reason))
    return parsed


def _record(record: Any, n: int | None, label: str, path: Path) -> _Draft | LoadFailure:
    if not isinstance(record, dict):
        reason = f"is a JSON {_json_kind(record)}, not an object; each article must be a JSON object"
        return LoadFailure(f"{path.as_posix()}#{label}", reason)
    fields = {name: _first_field(record, keys) for name, keys in _JSON_FIELDS.items()}
    return _Draft(needs=_JSON_NEEDS, n=n, label=label, record=True, **fields)


def _first_field(record: dict[str, Any], keys: tuple[str, ...]) -> str:
    for key in keys:
        value = record.get(key)
        if isinstance(value, dict):  # e.g. NewsAPI's "source": {"id": ..., "name": ...}
            value = value.get("name")
        if isinstance(value, (str, int, float)):
            return str(value)
    return ""


def _json_kind(value: Any) -> str:
    kinds = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}
    return kinds.get(type(value), "number")


_CSV_FIELD_LIMIT = min(sys.maxsize, 2**31 - 1)  # C long may be 32-bit


def _parse_csv(text: str, path: Path, options: LoadOptions) -> _Parsed:
    columns = options.csv
    csv.field_size_limit(_CSV_FIELD_LIMIT)
    reader = csv.DictReader(io.StringIO(text))
    found = [name.strip() for name in reader.fieldnames or []]
    if columns.text not in found:
        raise _Bad(
            f"CSV has no '{columns.text}' text column (columns found: {', '.join(found) or 'none'}); "
            "rename the column or set RAG_CSV_TEXT_COLUMN"
        )
    reader.fieldnames = found
    needs = f"column '{columns.text}' is empty"
    parsed: _Parsed = []
    for n, row in enumerate(reader, 1):
        title, text, when, source, url = (row.get(name) or "" for name in astuple(columns))
        parsed.append(
            _Draft(text, needs, title, when, source, url, n, f"row {n}", record=True, default_source=path.stem)
        )
    return parsed


_PARSERS: dict[str, Callable[[str, Path, LoadOptions], _Parsed]] = {
    ".txt": _parse_text, ".md": partial(_parse_text, markdown=True), ".markdown": partial(_parse_text, markdown=True),
    ".json": _parse_json, ".jsonl": _parse_jsonl, ".csv": _parse_csv,
}  # fmt: skip
