"""Command line: `rag ingest | watch | ask | eval | serve | list | show | remove | stats | collections` (--help).

Parses arguments, builds `Settings` (flags override environment and `.env`), runs the
stage, prints results. Errors that a user can fix are printed as one line, exit 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from rag.answer.model import Answer, answer_json
from rag.config import Settings, default_text, env_name, retrieval_modes
from rag.errors import FALLBACK_EXIT, RagError, UsageError
from rag.ingest.article import is_url
from rag.store import library
from rag.text.dates import QueryFilters

if TYPE_CHECKING:
    from rag.ingest.run import IngestReport
    from rag.ingest.web.sources import WebSource

LISTED_CHANGES = 10


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {
        name: value
        for name in ("data_dir", "collection", "retrieval_mode", "top_k", "host", "port")
        if (value := getattr(args, name, None)) is not None
    }
    if "top_k" in overrides:  # --top-k sets the passages for either answerer
        overrides["llm_top_k"] = overrides["top_k"]
    if getattr(args, "share", False):  # a flag: absent leaves RAG_SHARE as it is
        overrides["share"] = True
    return Settings(**overrides)


def _setting_help(field: str) -> str:
    """Help for an option that overrides a Settings field: its description, default and variable."""
    description = (Settings.model_fields[field].description or "").rstrip(".")
    return f"{description} (default {default_text(field)}, env {env_name(field)})".replace("%", "%%")


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", type=Path, help=_setting_help("data_dir"))
    parser.add_argument("--collection", help=_setting_help("collection"))


def _retrieval_options(parser: argparse.ArgumentParser) -> None:
    chat_model = f"; for a chat model: default {default_text('llm_top_k')}, env {env_name('llm_top_k')}"
    parser.add_argument("--top-k", dest="top_k", type=int, help=_setting_help("top_k") + chat_model)
    parser.add_argument(
        "--retrieval", dest="retrieval_mode", choices=retrieval_modes(), help=_setting_help("retrieval_mode")
    )


def _print_report(report: IngestReport) -> None:
    changes = (("added", report.added), ("updated", report.updated), ("moved", report.relocated))
    for label, ids in (*changes, ("removed", report.removed)):
        for article_id in ids[:LISTED_CHANGES]:
            print(f"  {label}: {article_id}")
        if len(ids) > LISTED_CHANGES:
            print(f"  … and {len(ids) - LISTED_CHANGES} more {label}")
    for origin, stored in report.duplicates[:LISTED_CHANGES]:
        print(f"  same text as stored {stored}: {origin}")
    for copy, story in report.promoted:
        print(f"  {copy}: stored in place of the removed {story}, which it re-published")
    if report.swept:
        print(f"  cleaned up {report.swept} chunks left by an interrupted run")
    for kept in (*report.fallbacks, *report.notes):
        print(f"  {kept.path}: {kept.reason}", file=sys.stderr)
    for failure in report.failures:
        print(f"  skipped {failure.path}: {failure.reason}", file=sys.stderr)
    print(report.summary())


def _to_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _web_sources(args: argparse.Namespace) -> tuple[list[WebSource], str]:
    """The pages, feeds and sitemaps asked for, with the default limits; and the key of the sources or
    OPML file(s) they came from ('' when none), whose dropped lines --sync removes."""
    from rag.ingest.web.lists import duration, read_opml, read_sources_file
    from rag.ingest.web.sources import WebSource

    web = [WebSource(arg, "page") for arg in args.paths if is_url(arg)]
    web += [WebSource(url, "feed") for url in args.feed or []]
    web += [WebSource(url, "sitemap") for url in args.sitemap or []]
    files = [path for path in (args.sources, args.opml) if path is not None]
    if args.sources is not None:
        web += read_sources_file(args.sources)
    if args.opml is not None:
        web += read_opml(args.opml)
    age = duration(args.max_age) / 86400 if args.max_age else None
    web = [
        replace(
            source,
            max_entries=source.max_entries or args.max_entries,
            max_age_days=source.max_age_days if source.max_age_days is not None else age,
        )
        for source in web
    ]
    return web, ";".join(sorted(str(path.resolve()) for path in files))


def cmd_ingest(args: argparse.Namespace) -> int:
    from rag.pipeline import Pipeline

    web, sources_file = _web_sources(args)
    paths = [Path(arg) for arg in args.paths if not is_url(arg)]
    if not paths and not web:
        raise UsageError(
            "Nothing to ingest: give files, folders or URLs, or --feed URL, --sitemap URL, --sources FILE "
            "or --opml FILE."
        )
    pipeline = Pipeline.open(_settings(args))
    report = pipeline.ingest(
        paths, sync=args.sync, progress=not args.quiet, web_sources=web, sources_file=sources_file, notice=_to_stderr
    )
    _print_report(report)
    return 1 if report.failures or report.fallbacks else 0


def cmd_watch(args: argparse.Namespace) -> int:
    import time

    from rag.ingest.web.lists import duration
    from rag.ingest.web.watch import Watcher
    from rag.pipeline import Pipeline

    args.paths, args.feed, args.sitemap, args.opml = [], [], [], None
    _web_sources(args)  # the file is readable before anything starts
    pipeline = Pipeline.open(_settings(args))

    def refresh(source: WebSource, listed: list[WebSource]) -> IngestReport:
        key = str(args.sources.resolve())
        return pipeline.ingest([], True, False, [source], sources_file=key, notice=_log, listed=listed)

    interval = duration(args.every, "m")
    print(f"watching the sources in {args.sources} (every {args.every} unless a line says every=…); Ctrl-C stops")
    watcher = Watcher(lambda: _web_sources(args)[0], refresh, _log, time.time, time.sleep, interval)
    watcher.max_backoff = max(duration(args.max_backoff, "h"), interval)
    watcher.run(args.rounds)
    return 0


def _log(line: str) -> None:
    print(line, flush=True)


def cmd_list(args: argparse.Namespace) -> int:
    filters = QueryFilters.parse(args.date_from, args.date_to, args.source)
    store = library.open_collection(_settings(args))
    if filters.sources:
        filters = filters.named_as(library.source_names(library.articles(store)), store.name)
    found = library.articles(store, filters)
    if args.json:
        print(json.dumps([article.as_json() for article in found], ensure_ascii=False, indent=2))
        return 0
    if not found:
        print(library.empty_notice(store.name) if store.article_count() == 0 else filters.nothing_matches())
        return 0
    for article in found:
        meta = " · ".join(part for part in (article.date, article.source, f"{article.chunks} chunks") if part)
        print(f"{article.id}\n    {article.title} ({meta})" + (f"\n    {article.url}" if article.url else ""))
    print(plural(len(found), "article"))
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    store = library.open_collection(_settings(args))
    article, text = library.show(store, args.id)
    if args.json:
        print(json.dumps({**article.as_json(), "text": text}, ensure_ascii=False, indent=2))
        return 0
    print(article.title)
    for label, value in (
        ("id", article.id),
        ("date", article.date),
        ("source", article.source),
        ("url", article.url),
        ("also published by", ", ".join(article.also_published_by)),
        ("fetched from" if is_url(article.origin) else "file", article.origin),
        ("chunks", str(article.chunks)),
    ):
        if value:
            print(f"  {label}: {value}")
    print("\n" + text)
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    from rag.pipeline import lexical_index

    settings = _settings(args)
    store = library.open_collection(settings)
    ids = library.select_for_removal(store, args.ids, args.source, args.before)
    if not ids:
        print("Nothing to remove.")
        return 0
    if args.dry_run:
        print("\n".join(ids) + f"\nwould remove {plural(len(ids), 'article')}")
        return 0
    lexical = lexical_index(settings)
    copies = library.remove(
        store, ids, lambda generation: lexical.prepare(store, generation), settings.write_wait, _to_stderr
    )
    print(f"removed {plural(len(ids), 'article')} from '{store.name}'")
    for copy in copies:
        where = copy.url or copy.origin
        print(f"  {copy.source or copy.id} also published it ({where}): the next `rag ingest` of that source stores it")
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    settings = _settings(args)
    store = library.open_collection(settings)
    stats = library.stats(store, None if settings.uses_server else settings.data_dir)
    if args.json:
        print(json.dumps(stats.as_json(), ensure_ascii=False, indent=2))
        return 0
    if stats.articles == 0:
        print(library.empty_notice(store.name))
    span = f"{stats.first_date} to {stats.last_date}" if stats.first_date else "no dates"
    disk = f"{stats.disk_bytes / 1e6:.1f} MB (all of {settings.data_dir})" if stats.disk_bytes is not None else "n/a"
    print(
        f"collection: {stats.collection}\narticles: {stats.articles}\nchunks: {stats.chunks}\n"
        f"sources: {len(stats.sources)}\ndates: {span}\nembedder: {stats.embedder}\ndisk: {disk}"
    )
    for source, count in list(stats.sources.items())[:LISTED_CHANGES]:
        print(f"  {count:6d}  {source}")
    return 0


def cmd_collections(args: argparse.Namespace) -> int:
    from rag.store.chroma import collection_names, connect

    settings = _settings(args)
    client = connect(settings).client
    names = collection_names(client)
    if not names:
        print(f"No collections in {settings.data_dir}; create one with `rag ingest`.")
    for name in names:
        chunks = client.get_collection(name).count()
        embedder = (client.get_collection(name).metadata or {}).get("embedder", "?")
        marker = "*" if name == settings.collection else " "
        print(f"{marker} {name}  ({chunks} chunks, embedder {embedder})")
    return 0


def at_least_one(text: str) -> int:
    """An option's count: a whole number of 1 or more (argparse reports anything else with the option's name)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number of 1 or more")
    return value


def plural(count: int, noun: str) -> str:
    """`1 article`, `2 articles`."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def format_sources(answer: Answer) -> str:
    lines = [f"note: {notice}" for notice in answer.notices]
    for claim in answer.claims:
        if not claim.supported:
            verdict = f" (model: {claim.verdict})" if claim.verdict else ""
            lines.append(f"⚠ {claim.reason or 'unsupported'}{verdict}: {claim.text}")
    for citation in answer.citations:
        passage = citation.passage
        meta = " · ".join(part for part in (passage.date, passage.source, passage.url) if part)
        lines.append(f"[{citation.number}] {passage.title}" + (f" ({meta})" if meta else ""))
        lines.append(f"    “{citation.quote}”")
    if answer.usage is not None:
        lines.append(f"model: {answer.usage.model}, {answer.usage.line()}")
    return "\n".join(lines)


def cmd_ask(args: argparse.Namespace) -> int:
    """Print the answer once (a chat model's as it streams), then its sources; exit 3 when the
    configured chat model failed and the local extractive answer stood in."""
    from rag.pipeline import Pipeline

    filters = QueryFilters.parse(args.date_from, args.date_to, args.source)
    pipeline = Pipeline.open(_settings(args), create=False)
    if pipeline.store.article_count() == 0:
        print(library.empty_notice(pipeline.store.name), file=sys.stderr)
        return 1
    if filters.sources:
        pipeline.lexical.refresh(pipeline.store)
        filters = filters.named_as(pipeline.lexical.sources, pipeline.store.name)
    streamed = ""
    live = pipeline.engine.llm is not None and not args.json  # the extractive answer comes whole
    for update in pipeline.engine.ask(args.question, filters=filters):
        if update.answer is None and live:  # a chat model's answer, markers already renumbered, as it arrives
            print(update.text[len(streamed) :], end="", flush=True)
            streamed = update.text
    assert update.answer is not None
    answer = update.answer
    if filters and not answer.passages:
        answer = replace(answer, notices=[*answer.notices, filters.nothing_matches()])
    if args.json:
        print(json.dumps(answer_json(answer, update.searched), ensure_ascii=False, indent=2))
    else:
        if not streamed:
            print(answer.text, end="")
        elif answer.fallback:  # the model broke off: what it wrote stays above, the local answer follows
            print(f"\n\n[the model stopped; the local extractive answer:]\n{answer.text}", end="")
        print("\n\n" + format_sources(answer) if answer.citations or answer.notices or answer.claims else "")
    return FALLBACK_EXIT if answer.fallback else 0


def cmd_eval(args: argparse.Namespace) -> int:
    from rag.eval.run import run_cli

    return run_cli(args, _settings(args))


def cmd_serve(args: argparse.Namespace) -> int:
    from rag.web.app import serve

    serve(_settings(args))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rag", description="Ask questions about news articles; answers cite passages."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    _ingest_commands(commands)

    _ask_and_eval_commands(commands)
    _library_commands(commands)

    serve = commands.add_parser("serve", help="start the web chat (same as python app.py)")
    serve.add_argument("--host", help=_setting_help("host"))
    serve.add_argument("--port", type=int, help=_setting_help("port"))
    serve.add_argument("--share", action="store_true", help=_setting_help("share"))
    _common(serve)
    serve.set_defaults(run=cmd_serve)
    return parser


def _ask_and_eval_commands(commands: Any) -> None:
    ask = commands.add_parser("ask", help="answer one question with cited passages")
    ask.add_argument("question")
    ask.add_argument("--from", dest="date_from", help="only articles on or after this date (YYYY[-MM[-DD]])")
    ask.add_argument("--to", dest="date_to", help="only articles on or before this date")
    ask.add_argument("--source", action="append", help="only articles from this source (repeatable)")
    ask.add_argument("--json", action="store_true", help="print the answer as JSON")
    _retrieval_options(ask)
    _common(ask)
    ask.set_defaults(run=cmd_ask)

    evaluate = commands.add_parser("eval", help="score the system against a test set and write a report")
    evaluate.add_argument("testset", type=Path, help="JSON/JSONL test set, or MultiHop-RAG's queries file")
    evaluate.add_argument("--limit", type=at_least_one, help="only the first N questions (after --sample)")
    evaluate.add_argument("--sample", type=at_least_one, metavar="N", help="a random sample of N questions (seeded)")
    evaluate.add_argument("--seed", type=int, default=0)
    evaluate.add_argument(
        "--split", choices=["dev", "test"], help="only this split of a set that has one (demo/natural-questions.jsonl)"
    )
    evaluate.add_argument("--out", type=Path, default=Path("reports"), help="report folder (default reports/)")
    evaluate.add_argument("--retrieval-only", action="store_true", help="score retrieval only (skip answering)")
    evaluate.add_argument(
        "--judge", action="store_true", help="also score answers with the chat model (judged correctness, faithfulness)"
    )
    evaluate.add_argument(
        "--strict",
        action="store_true",
        help="exit 3 when any answer fell back from the chat model to the local extractive answerer",
    )
    evaluate.add_argument("--quiet", action="store_true", help="no progress bar")
    _retrieval_options(evaluate)
    _common(evaluate)
    evaluate.set_defaults(run=cmd_eval)


def _ingest_commands(commands: Any) -> None:
    ingest = commands.add_parser(
        "ingest",
        help="add or update articles in the store",
        description=(
            "Read .txt .md .html .pdf .json .jsonl .csv articles from files or folders, and web pages, RSS/Atom/JSON "
            "feeds and news sitemaps, and store them. Unchanged articles are skipped (an unchanged page or feed "
            "costs one conditional request); changed ones replaced. Exit code 1 if any file or URL was skipped."
        ),
    )
    ingest.add_argument("paths", nargs="*", help="files, folders, or page URLs (https://…)")
    ingest.add_argument(
        "--feed", action="append", metavar="URL", help="an RSS, Atom or JSON feed, or a site that announces one"
    )
    ingest.add_argument("--sitemap", action="append", metavar="URL", help="a (news) sitemap: its pages (repeatable)")
    ingest.add_argument("--opml", type=Path, metavar="FILE", help="an OPML subscription list (a feed reader's export)")
    _sources_options(ingest)
    ingest.add_argument(
        "--sync",
        action="store_true",
        help="remove stored articles whose files are gone from these folders, whose entries are gone from "
        "these feeds (only feeds read successfully), or whose lines were dropped from the sources file",
    )
    ingest.add_argument("--quiet", action="store_true", help="no progress bar")
    _common(ingest)
    ingest.set_defaults(run=cmd_ingest)

    watch = commands.add_parser(
        "watch",
        help="keep the collection current from a sources file (each source on its own interval)",
        description="Refresh each source of a sources file when due (every=… on its line, else --every), "
        "back off failing ones, and log one line per change. Runs until interrupted.",
    )
    _sources_options(watch, required=True)
    watch.add_argument("--every", default="30m", help="default refresh interval (e.g. 30m, 2h; default 30m)")
    watch.add_argument("--max-backoff", default="6h", help="longest wait after repeated failures (default 6h)")
    watch.add_argument(
        "--rounds", type=at_least_one, help="stop after this many rounds (default: run until interrupted)"
    )
    _common(watch)
    watch.set_defaults(run=cmd_watch)


def _sources_options(parser: argparse.ArgumentParser, required: bool = False) -> None:
    parser.add_argument(
        "--sources",
        type=Path,
        metavar="FILE",
        required=required,
        help="a list of sources: lines `feed|page|sitemap URL [source name] [max=N] [age=7d] [every=30m]`",
    )
    parser.add_argument(
        "--max-entries", type=at_least_one, metavar="N", help="newest entries taken from each feed or sitemap"
    )
    parser.add_argument("--max-age", metavar="AGE", help="skip feed and sitemap entries older than this (e.g. 7d, 12h)")


def _library_commands(commands: Any) -> None:
    listing = commands.add_parser("list", help="list stored articles, newest first")
    listing.add_argument("--source", action="append", help="only this source (repeatable)")
    listing.add_argument("--from", dest="date_from", help="only articles on or after this date (YYYY[-MM[-DD]])")
    listing.add_argument("--to", dest="date_to", help="only articles on or before this date")
    listing.add_argument("--json", action="store_true", help="a JSON list of {id, title, date, source, url, chunks}")
    listing.set_defaults(run=cmd_list)

    show = commands.add_parser("show", help="show one stored article: metadata and text")
    show.add_argument("id", help="article id, as `rag list` prints it")
    show.add_argument("--json", action="store_true")
    show.set_defaults(run=cmd_show)

    remove = commands.add_parser("remove", help="remove articles: by id, by source, or older than a date")
    remove.add_argument("ids", nargs="*", help="article ids, as `rag list` prints them")
    remove.add_argument("--source", help="remove every article of this source")
    remove.add_argument("--before", help="remove every article dated before this date (YYYY[-MM[-DD]])")
    remove.add_argument("--dry-run", action="store_true", help="only print what would be removed")
    remove.set_defaults(run=cmd_remove)

    stats = commands.add_parser("stats", help="articles, chunks, sources, date span, embedder, disk use")
    stats.add_argument("--json", action="store_true")
    stats.set_defaults(run=cmd_stats)

    collections = commands.add_parser("collections", help="the collections in the store")
    collections.set_defaults(run=cmd_collections)
    for parser in (listing, show, remove, stats, collections):
        _common(parser)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "quiet", True) is False and not sys.stderr.isatty():
        args.quiet = True  # progress bars are for a terminal; a log or a pipe gets the summary lines only
    try:
        return int(args.run(args))
    except ValidationError as error:  # a setting from the environment, .env or a flag
        for problem in error.errors():
            name = ".".join(map(str, problem["loc"]))
            print(f"error: setting {name}: {problem['msg'].removeprefix('Value error, ')}", file=sys.stderr)
        return 2
    except RagError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("interrupted; the store is consistent, re-run to finish", file=sys.stderr)
        return 130
