"""Lists of sources: a sources file (`feed|page|sitemap URL [name] [max=N] [age=7d] [every=30m]` lines)
and an OPML subscription list (what RSS readers export) -> `WebSource`s.

OPML is read here with lxml (no network, no entities): its subscriptions are `<outline>`
elements with an `xmlUrl` attribute, which is all a reader needs; listparser, the OPML
package, fetches any URL it is given, which would bypass the fetch guard.
"""

from __future__ import annotations

import re
from pathlib import Path

from lxml import etree

from rag.errors import UsageError
from rag.ingest.article import is_url
from rag.ingest.web.sources import SourceKind, WebSource

KINDS: tuple[SourceKind, ...] = ("feed", "page", "sitemap")
_OPTION = re.compile(r"(max|age|every)=(\S+)", re.IGNORECASE)
_DURATION = re.compile(r"(\d+(?:\.\d+)?)([smhd]?)", re.IGNORECASE)
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "": 86400}
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


def duration(text: str, default_unit: str = "d") -> float:
    """Seconds in `30m`, `12h`, `7d`, `90s` (a bare number is in `default_unit`); a `UsageError` otherwise."""
    match = _DURATION.fullmatch(text.strip())
    if match is None:
        raise UsageError(f"'{text}' is not a duration; write it like 90s, 30m, 12h or 7d.")
    return float(match.group(1)) * _SECONDS[(match.group(2) or default_unit).lower()]


def read_sources_file(path: Path) -> list[WebSource]:
    """Lines `feed URL [name] [max=N] [age=7d] [every=30m]`, `page URL [name]`, `sitemap URL [name] [max=N]`
    (or just `URL [name]`: a page); `#` starts a comment."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"Cannot read the sources file {path} ({error}); give a UTF-8 text file.") from None
    sources, problems = [], []
    for number, line in enumerate(lines, 1):
        words = line.split("#", 1)[0].split() if not line.lstrip().startswith("#") else []
        if not words:
            continue
        try:
            sources.append(_source_line(words, f"{path}, line {number}", line))
        except UsageError as problem:
            problems.append(str(problem))
    if problems:  # all of them at once; nothing runs on a half-read file (--sync would drop the other lines' articles)
        raise UsageError("\n".join([*problems, "Nothing was ingested: fix the file and run again."]))
    return sources


def _source_line(words: list[str], where: str, line: str) -> WebSource:
    kind: SourceKind = "page"
    if words[0].lower() in KINDS:
        kind = KINDS[KINDS.index(words[0].lower())]
        words = words[1:]
    if not words or not is_url(words[0]):
        raise UsageError(f"{where}: expected `feed|page|sitemap URL [name] [max=N] [age=7d]`, got {line!r}.")
    options = {m.group(1).lower(): m.group(2) for word in words[1:] if (m := _OPTION.fullmatch(word))}
    name = " ".join(word for word in words[1:] if not _OPTION.fullmatch(word))
    try:
        limit = int(options["max"]) if "max" in options else None
        if limit is not None and limit < 1:
            raise ValueError
    except ValueError:
        raise UsageError(f"{where}: max={options['max']} is not a positive whole number.") from None
    age = duration(options["age"]) / 86400 if "age" in options else None
    every = duration(options["every"], "m") if "every" in options else None
    return WebSource(words[0], kind, name, limit, age, every)


def read_opml(path: Path) -> list[WebSource]:
    """The feeds of an OPML subscription list (`<outline xmlUrl=… text=…>`), named by their outline text."""
    try:
        root = etree.fromstring(path.read_bytes(), _PARSER)
    except OSError as error:
        raise UsageError(f"Cannot read the OPML file {path} ({error.strerror or error}).") from None
    except etree.XMLSyntaxError as error:
        raise UsageError(f"{path} is not a readable OPML file ({error}); export it again from your reader.") from None
    sources = []
    for outline in root.iter("outline"):
        url = (outline.get("xmlUrl") or outline.get("xmlurl") or "").strip()
        if is_url(url):
            name = " ".join((outline.get("title") or outline.get("text") or "").split())
            sources.append(WebSource(url, "feed", name))
    if not sources:
        raise UsageError(f"{path} lists no feeds (no <outline xmlUrl=…>); export the subscriptions as OPML.")
    return list({source.url: source for source in sources}.values())
