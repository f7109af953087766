"""Article identity: canonical URLs and location-independent ids (pure functions).

An article is identified by its canonical URL when it has one; otherwise by what it is,
never by where it sits: a record of a JSON/JSONL/CSV file by its title, date and source,
a single-article file by its text. So moving or renaming a file, or inserting a record
before another, leaves every id as it was.

Canonical URLs: courlan (trafilatura's URL library) lower-cases the scheme and host, drops the
default port, decodes punycode and normalises the path; its tracker list (from AdGuard's and
ClearURLs' rules) says which query parameters go, matched on whole words, as courlan's own
prefix match would drop `gameId`, `gallery` or `global` and so give distinct pages one id.
This project's rules come on top: the fragment goes, an empty path is "/", the parameters kept
are sorted (as written otherwise), and feed tags (`?src=rss`, `?ref=feed`, `feed_item_type=`)
go, so a story reached from a feed and from a shared link is one article. A store built with
older rules is migrated on the next ingest (rag.ingest.run: a stored id that is not its own
canonical URL is replaced).
"""

from __future__ import annotations

import hashlib
import re
from urllib.parse import SplitResult, unquote_plus, urlsplit, urlunsplit

from courlan import normalize_url
from courlan.clean import TRACKERS_RE

TRACKING_PARAMETERS = frozenset(
    {"fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "mc_cid", "mc_eid", "igshid", "yclid", "_ga"}
)
"""Always removed (courlan's list has them too; named here so that no courlan release brings one back)."""
FEED_TAG_NAMES = frozenset({"src", "ref", "source", "from", "via", "cmp", "feed"})
"""Parameters that mark a link taken from a feed when their value names one (rss, atom, feed...)."""
_FEED_VALUE = re.compile(r"(?:rss|atom|feeds?)(?:[_.-]\w*)?", re.IGNORECASE)
_COURLAN_TRACKER = re.compile(f"(?:{TRACKERS_RE.pattern})(?:(?<=_)|(?![a-z0-9]))")
"""courlan's list, each match ending a word (or ending in '_', as `pk_` does)."""
_WEB_SCHEMES = ("http", "https")


def is_tracking(name: str, value: str = "") -> bool:
    """Whether a query parameter says how a link was reached rather than which page it is."""
    lowered = name.lower()
    if lowered.startswith(("utm_", "feed_")) or lowered in TRACKING_PARAMETERS:
        return True
    if lowered in FEED_TAG_NAMES and _FEED_VALUE.fullmatch(value):
        return True
    return bool(_COURLAN_TRACKER.search(lowered))


def split_url(url: str) -> SplitResult:
    """`urlsplit`, with the port read too: a ValueError for a malformed IPv6 host ("http://[::1") and
    for a port that is not a number, which urlsplit alone lets through."""
    parts = urlsplit(url)
    parts.port  # noqa: B018 (raises on a port that is not a number)
    return parts


def canonical_url(url: str) -> str:
    """Scheme and host lower-cased, default port, fragment and tracking parameters removed.

    Anything that is not an absolute http(s) URL is returned stripped but otherwise as is.
    """
    url = url.strip()
    try:
        parts = split_url(url)
    except ValueError:
        return url
    if parts.scheme.lower() not in _WEB_SCHEMES or not parts.hostname:
        return url
    pairs = [pair for pair in parts.query.split("&") if pair and not _is_tracking_pair(pair)]
    kept = "&".join(sorted(pairs, key=lambda pair: unquote_plus(pair.partition("=")[0])))
    try:
        normal = urlsplit(normalize_url(parts._replace(query="", fragment="")))
    except ValueError:
        return url
    return urlunsplit(normal._replace(path=normal.path or "/", query=kept))


def _is_tracking_pair(pair: str) -> bool:
    name, _, value = pair.partition("=")
    return is_tracking(unquote_plus(name), unquote_plus(value))


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
