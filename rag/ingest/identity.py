"""Article identity: canonical URLs and location-independent ids (pure functions).

An article is identified by its canonical URL when it has one; otherwise by what it is,
never by where it sits: a record of a JSON/JSONL/CSV file by its title, date and source,
a single-article file by its text. So moving or renaming a file, or inserting a record
before another, leaves every id as it was.
"""

from __future__ import annotations

import hashlib
from urllib.parse import unquote_plus, urlsplit, urlunsplit

TRACKING_PARAMETERS = frozenset(
    {"fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "mc_cid", "mc_eid", "igshid", "yclid", "_ga"}
)
_DEFAULT_PORTS = {"http": 80, "https": 443}


def is_tracking(name: str) -> bool:
    lowered = name.lower()
    return lowered.startswith("utm_") or lowered in TRACKING_PARAMETERS


def canonical_url(url: str) -> str:
    """Scheme and host lower-cased, default port, fragment and tracking parameters removed.

    Anything that is not an absolute http(s) URL is returned stripped but otherwise as is.
    """
    url = url.strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # e.g. a port that is not a number
        return url
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return url
    host = parts.hostname.lower()
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = host if port is None or port == _DEFAULT_PORTS[scheme] else f"{host}:{port}"
    if parts.username is not None:
        credentials = parts.username + (f":{parts.password}" if parts.password is not None else "")
        netloc = f"{credentials}@{netloc}"
    kept = [pair for pair in parts.query.split("&") if pair and not is_tracking(unquote_plus(pair.split("=", 1)[0]))]
    return urlunsplit((scheme, netloc, parts.path or "/", "&".join(kept), ""))


def text_hash(text: str) -> str:
    """Hash of an article's text alone: the same text is the same article wherever it is found."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def record_id(title: str, date: str, source: str, text: str) -> str:
    """Id of a record without a URL: from its title, date and source (its text when all three are empty)."""
    if not (title or date or source):
        return text_id(text)
    key = "\x1f".join((title.casefold(), date, source.casefold()))
    return "record:" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:20]


def text_id(text: str) -> str:
    """Id of a single-article file without a URL: from its text, so it survives moves and renames."""
    return "text:" + text_hash(text)[:20]
