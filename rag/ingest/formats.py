"""Formats: the bytes of one file -> drafts of its articles (plain text, Markdown, HTML, JSON, JSONL, CSV).

Each parser turns a decoded file into `Draft`s (text and metadata as written) or
`LoadFailure`s for bad records; a whole file that cannot be parsed raises `FormatError`
with the reason a user reads. Cleaning, size limits and ids are rag.ingest.files' job.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
import sys
from collections.abc import Callable
from dataclasses import astuple, dataclass
from functools import partial
from pathlib import Path
from typing import Any

from pypdf import PdfReader
from pypdf.errors import PdfReadError

from rag.ingest.article import LoadFailure
from rag.ingest.web.extract import extract
from rag.ingest.web.paywall import paywall_reason
from rag.text.boilerplate import drop_promotions
from rag.text.dates import date_from_name

RECORD_SUFFIXES = (".json", ".jsonl", ".csv")
HTML_SUFFIXES = (".html", ".htm")
BINARY_SUFFIXES = (".pdf",)  # read with their file-size limit, like record files
TITLE_WORDS = 20  # an untitled PDF or record is titled by its first line when it is this short
SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm", ".json", ".jsonl", ".csv", ".pdf")


class FormatError(Exception):
    """A whole file cannot be loaded; the message is the user-facing reason."""


@dataclass(frozen=True)
class CsvColumns:
    title: str = "headlines"
    text: str = "articles"
    date: str = "published"
    source: str = "source"
    url: str = "url"


@dataclass(frozen=True)
class Draft:
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
    default_date: str = ""  # the date in the file's name: used when `date` (as written) is missing or unreadable


Parsed = list[Draft | LoadFailure]


def parse(data: bytes, path: Path, csv_columns: CsvColumns) -> Parsed:
    """The drafts of the articles in a file's bytes, by its suffix; `FormatError` for an unusable file."""
    suffix = path.suffix.lower()
    if suffix in HTML_SUFFIXES:
        return _parse_html(data, path)
    if suffix == ".pdf":
        return [pdf_draft(data, path.stem)]
    return _PARSERS[suffix](_decode_text(data), path, csv_columns)


def _decode_text(data: bytes) -> str:
    text = _decode(data)
    if not text.strip():
        raise FormatError("file is empty or contains only whitespace; add the article text or remove the file")
    return clean(text)


def _decode(data: bytes) -> str:
    encoding = "UTF-16" if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) else "UTF-8"
    if encoding == "UTF-8" and b"\x00" in data[:8192]:
        raise FormatError("file looks binary (NUL byte in the first 8 KiB); convert it to text, HTML, JSON or CSV")
    data = data.removeprefix(codecs.BOM_UTF8)
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        where = f"invalid byte 0x{data[exc.start]:02x} at offset {exc.start}"
        raise FormatError(f"not valid {encoding} ({where}); re-save the file as UTF-8") from None


_SURROGATE = re.compile("[\ud800-\udfff]")  # lone surrogates from JSON escapes cannot be encoded


def clean(value: str) -> str:
    value = value.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    return _SURROGATE.sub("\ufffd", value).strip()


def one_line(value: str) -> str:
    return " ".join(clean(value).split())


_META_LINE = re.compile(r"([A-Za-z]+)\s*:\s*(.*)")
_META_KEYS = ("title", "date", "source", "url")


def _parse_text(text: str, path: Path, columns: CsvColumns, *, markdown: bool = False) -> Parsed:
    meta, body = _split_front_matter(text)
    heading = re.search(r"^# +(.+?)[ #]*$", body, re.MULTILINE) if markdown else None
    title = meta.get("title") or (heading.group(1) if heading else "") or _title_from_stem(path.stem)
    source, url = meta.get("source", ""), meta.get("url", "")
    written, named = meta.get("date", ""), date_from_name(path.stem)
    return [Draft(body, "nothing after the front matter", title, written, source, url, default_date=named)]


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


def pdf_draft(data: bytes, stem: str = "") -> Draft:
    """The text layer of a PDF (pypdf), its title from the document's metadata, else its first line."""
    try:
        reader = PdfReader(io.BytesIO(data))
        pages = [page.extract_text() or "" for page in reader.pages]
        title = str((reader.metadata.title if reader.metadata else "") or "").strip()
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as error:
        raise FormatError(f"not a readable PDF ({error}); re-export it or convert it to text") from None
    text = "\n\n".join(page.strip() for page in pages if page.strip())
    first = text.strip().split("\n", 1)[0].strip()
    title = title or (first if 0 < len(first.split()) <= TITLE_WORDS else "") or _title_from_stem(stem)
    needs = "the PDF has no text layer (a scanned document?); run OCR on it or give the text"
    return Draft(text, needs, title, date_from_name(stem))


def _parse_html(data: bytes, path: Path) -> Parsed:
    page = extract(data)
    paywalled = paywall_reason(data, page.text)
    if paywalled:
        raise FormatError(f"{paywalled}; save the full article instead")
    title = page.title or _title_from_stem(path.stem)
    when = page.date or date_from_name(path.stem)
    needs = "the page has no readable story text (a script-only or paywalled page?)"
    return [Draft(drop_promotions(page.text), needs, title, when, page.site_name, page.url)]


_JSON_FIELDS = {
    "title": ("title",),
    "text": ("body", "text", "content", "article"),
    "date": ("published_at", "published", "date", "pubDate"),
    "source": ("source", "publisher"),
    "url": ("url", "link"),
}
_JSON_NEEDS = "expected one of the fields " + ", ".join(_JSON_FIELDS["text"])


def _parse_json(text: str, path: Path, columns: CsvColumns) -> Parsed:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        raise FormatError(f"malformed JSON at {where} ({exc.msg}); fix the syntax") from None
    except RecursionError:
        raise FormatError("JSON is nested too deeply to load; store the articles as a flat list of objects") from None
    if isinstance(data, dict):
        data = next((data[k] for k in ("articles", "data", "records") if isinstance(data.get(k), list)), data)
    if isinstance(data, dict):
        return [_record(data, None, "", path)]
    if not isinstance(data, list):
        raise FormatError(f"JSON top level is a {_json_kind(data)}; expected a list of article objects or one object")
    return [_record(record, n, f"record {n}", path) for n, record in enumerate(data, 1)]


def _parse_jsonl(text: str, path: Path, columns: CsvColumns) -> Parsed:
    parsed: Parsed = []
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


def _record(record: Any, n: int | None, label: str, path: Path) -> Draft | LoadFailure:
    if not isinstance(record, dict):
        reason = f"is a JSON {_json_kind(record)}, not an object; each article must be a JSON object"
        return LoadFailure(f"{path.as_posix()}#{label}", reason)
    fields = {name: _first_field(record, keys) for name, keys in _JSON_FIELDS.items()}
    return Draft(needs=_JSON_NEEDS, n=n, label=label, record=True, **fields)


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


def _parse_csv(text: str, path: Path, columns: CsvColumns) -> Parsed:
    csv.field_size_limit(_CSV_FIELD_LIMIT)
    reader = csv.DictReader(io.StringIO(text))
    found = [name.strip() for name in reader.fieldnames or []]
    if columns.text not in found:
        raise FormatError(
            f"CSV has no '{columns.text}' text column (columns found: {', '.join(found) or 'none'}); "
            "rename the column or set RAG_CSV_TEXT_COLUMN"
        )
    reader.fieldnames = found
    needs = f"column '{columns.text}' is empty"
    parsed: Parsed = []
    for n, row in enumerate(reader, 1):
        title, text, when, source, url = (row.get(name) or "" for name in astuple(columns))
        parsed.append(
            Draft(text, needs, title, when, source, url, n, f"row {n}", record=True, default_source=path.stem)
        )
    return parsed


_PARSERS: dict[str, Callable[[str, Path, CsvColumns], Parsed]] = {
    ".txt": _parse_text, ".md": partial(_parse_text, markdown=True), ".markdown": partial(_parse_text, markdown=True),
    ".json": _parse_json, ".jsonl": _parse_jsonl, ".csv": _parse_csv,
}  # fmt: skip
