"""`rag watch`: keep a collection current from a sources file, each source on its own interval.

Each source is refreshed when it is due (its `every=` from the sources file, else the default
interval); a source that fails (its feed, sitemap or page cannot be fetched or read) is tried
again after twice its previous wait, up to `max_backoff`, and back on its interval once it
answers. The sources file is read again every round, so lines can be added or dropped while
it runs (a dropped line's articles are removed, as `rag ingest --sources FILE --sync` does).
One log line per refresh that changed something or failed; nothing for an unchanged source.

The ingest, the clock and the sleep are given (the CLI gives the pipeline's ingest and real
time; tests give a clock that the sleep advances).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from rag.errors import RagError
from rag.ingest.web.sources import WebSource

if TYPE_CHECKING:
    from rag.ingest.run import IngestReport

Refresh = Callable[[WebSource, list[WebSource]], "IngestReport"]  # (source, all listed) -> report


@dataclass
class _Due:
    at: float = 0.0
    failures: int = 0


@dataclass
class Watcher:
    read_sources: Callable[[], list[WebSource]]
    refresh: Refresh
    log: Callable[[str], None]
    clock: Callable[[], float]
    sleep: Callable[[float], None]
    interval: float = 1800.0
    max_backoff: float = 6 * 3600.0
    _due: dict[str, _Due] = field(default_factory=dict)
    _sources: list[WebSource] = field(default_factory=list)

    def run(self, rounds: int | None = None) -> None:
        """Refresh due sources, then sleep until the next is due; `rounds` bounds the loop (None: forever)."""
        done = 0
        while rounds is None or done < rounds:
            self._reread()
            for source in self._sources:
                if self._due.setdefault(source.url, _Due()).at <= self.clock():
                    self._refresh(source)
            done += 1
            if rounds is None or done < rounds:
                upcoming = min((self._due[s.url].at for s in self._sources), default=self.clock() + self.interval)
                self.sleep(max(0.0, upcoming - self.clock()))

    def _reread(self) -> None:
        try:
            self._sources = self.read_sources()
        except RagError as error:  # keep watching what was listed before
            self.log(
                f"{self._now()} sources file: {error} (still watching the {len(self._sources)} sources read before)"
            )

    def _refresh(self, source: WebSource) -> None:
        due = self._due[source.url]
        wait = source.every or self.interval
        try:
            report = self.refresh(source, self._sources)
        except RagError as error:
            due.failures += 1
            due.at = self.clock() + self._backoff(wait, due.failures)
            self.log(f"{self._now()} {source.kind} {source.url}: {error}; next try in {_span(due.at - self.clock())}")
            return
        failed = [f for f in report.failures if f.path == source.url]
        due.failures = due.failures + 1 if failed else 0
        due.at = self.clock() + (self._backoff(wait, due.failures) if failed else wait)
        if report.changed or report.failures or report.fallbacks:
            self.log(self._line(source, report, due))

    def _backoff(self, wait: float, failures: int) -> float:
        return float(min(wait * 2.0**failures, max(self.max_backoff, wait)))

    def _line(self, source: WebSource, report: IngestReport, due: _Due) -> str:
        parts = [
            f"added {len(report.added)}",
            f"updated {len(report.updated)}",
            f"removed {len(report.removed)}",
        ]
        if report.fallbacks:
            parts.append(f"{len(report.fallbacks)} stored from the feed summary")
        if report.failures:
            first = report.failures[0]
            parts.append(f"failed {len(report.failures)} ({first.path}: {first.reason})")
        if due.failures:
            parts.append(f"next try in {_span(due.at - self.clock())}")
        return f"{self._now()} {source.kind} {source.url}: " + ", ".join(parts)

    def _now(self) -> str:
        return datetime.fromtimestamp(self.clock(), timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _span(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:g} h"
    if seconds >= 60:
        return f"{seconds / 60:g} min"
    return f"{seconds:g} s"
