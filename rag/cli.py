"""Command line: `rag ingest | ask | eval | serve | list | show | remove | stats | collections` (each with --help).

Parses arguments, builds `Settings` (flags override environment and `.env`), runs the
stage, prints results. Errors that a user can fix are printed as one line, exit 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from rag.answer.model import Answer, answer_json
from rag.config import Settings, default_text, env_name, retrieval_modes
from rag.errors import FALLBACK_EXIT, RagError, UsageError
from rag.ingest.run import IngestReport
from rag.store import library
from rag.text.dates import QueryFilters

if TYPE_CHECKING:
    from rag.store.chroma import ChunkStore

LISTED_CHANGES = 10


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {
        name: value
        for name in ("data_dir", "collection", "retrieval_mode", "top_k")
        if (value := getattr(args, name, None)) is not None
    }
    if "top_k" in overrides:  # --top-k sets the passages for either answerer
        overrides["llm_top_k"] = overrides["top_k"]
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
    if report.swept:
        print(f"  cleaned up {report.swept} chunks left by an interrupted run")
    for failure in report.failures:
        print(f"  skipped {failure.path}: {failure.reason}", file=sys.stderr)
    print(report.summary())


def cmd_ingest(args: argparse.Namespace) -> int:
    from rag.ingest.web.sources import WebSource, read_sources_file
    from rag.pipeline import Pipeline

    is_url = [arg.startswith(("http://", "https://")) for arg in args.paths]
    web = [WebSource(arg, "page") for arg, url in zip(args.paths, is_url, strict=True) if url]
    web += [WebSource(url, "feed") for url in args.feed or []]
    if args.sources is not None:
        web += read_sources_file(args.sources)
    paths = [Path(arg) for arg, url in zip(args.paths, is_url, strict=True) if not url]
    if not paths and not web:
        raise UsageError("Nothing to ingest: give files, folders or URLs, or --feed URL, or --sources FILE.")
    pipeline = Pipeline.open(_settings(args))
    report = pipeline.ingest(paths, sync=args.sync, progress=not args.quiet, web_sources=web)
    _print_report(report)
    return 1 if report.failures else 0


def _open_store(settings: Settings) -> ChunkStore:
    """The configured collection, which must exist (read commands never create one)."""
    from rag.models.embedding import make_embedder
    from rag.store.chroma import ChunkStore, connect, require_collection

    require_collection(connect(settings), settings.collection)  # before the model loads
    return ChunkStore.open(settings, make_embedder(settings))


def cmd_list(args: argparse.Namespace) -> int:
    filters = QueryFilters.parse(args.date_from, args.date_to, args.source)
    store = _open_store(_settings(args))
    found = library.articles(store, filters)
    if args.json:
        print(json.dumps([article.as_json() for article in found], ensure_ascii=False, indent=2))
        return 0
    if not found:
        print(library.empty_notice(store.name) if store.article_count() == 0 else "No article matches the filters.")
        return 0
    for article in found:
        meta = " · ".join(part for part in (article.date, article.source, f"{article.chunks} chunks") if part)
        print(f"{article.id}\n    {article.title} ({meta})" + (f"\n    {article.url}" if article.url else ""))
    print(f"{len(found)} articles")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    store = _open_store(_settings(args))
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
        ("file", article.origin),
        ("chunks", str(article.chunks)),
    ):
        if value:
            print(f"  {label}: {value}")
    print("\n" + text)
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    from rag.pipeline import Pipeline

    pipeline = Pipeline.open(_settings(args))
    ids = library.select_for_removal(pipeline.store, args.ids, args.source, args.before)
    if not ids:
        print("Nothing to remove.")
        return 0
    if args.dry_run:
        print("\n".join(ids) + f"\nwould remove {len(ids)} articles")
        return 0
    library.remove(pipeline.store, ids, before_publish=pipeline.prepare_lexical)
    print(f"removed {len(ids)} articles from '{pipeline.store.name}'")
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    settings = _settings(args)
    store = _open_store(settings)
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
    pipeline = Pipeline.open(_settings(args))
    if pipeline.store.article_count() == 0:
        print(library.empty_notice(pipeline.store.name), file=sys.stderr)
        return 1
    streamed = ""
    live = pipeline.engine.llm is not None and not args.json  # the extractive answer comes whole
    for update in pipeline.engine.ask(args.question, filters=filters):
        if update.answer is None and live:  # a chat model's answer, markers already renumbered, as it arrives
            print(update.text[len(streamed) :], end="", flush=True)
            streamed = update.text
    assert update.answer is not None
    answer = update.answer
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

    settings = _settings(args)
    overrides = {key: value for key, value in (("host", args.host), ("port", args.port)) if value is not None}
    serve(settings.model_copy(update={**overrides, "share": args.share or settings.share}))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rag", description="Ask questions about news articles; answers cite passages."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    ingest = commands.add_parser(
        "ingest",
        help="add or update articles in the store",
        description=(
            "Read .txt .md .html .json .jsonl .csv articles from files or folders, and web pages and "
            "RSS/Atom feeds, and store them. Unchanged articles are skipped (an unchanged page or feed costs "
            "one conditional request); changed ones replaced. Exit code 1 if any file or URL was skipped."
        ),
    )
    ingest.add_argument("paths", nargs="*", help="files, folders, or page URLs (https://…)")
    ingest.add_argument("--feed", action="append", metavar="URL", help="an RSS or Atom feed (repeatable)")
    ingest.add_argument(
        "--sources", type=Path, metavar="FILE", help="a list of feeds and pages: lines `feed|page URL [source name]`"
    )
    ingest.add_argument(
        "--sync",
        action="store_true",
        help="remove stored articles whose files are gone from these folders, or whose entries are gone from "
        "these feeds (only feeds read successfully)",
    )
    ingest.add_argument("--quiet", action="store_true", help="no progress bar")
    _common(ingest)
    ingest.set_defaults(run=cmd_ingest)

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
    evaluate.add_argument("--limit", type=int, help="only the first N questions (after --sample)")
    evaluate.add_argument("--sample", type=int, metavar="N", help="a random sample of N questions (seeded)")
    evaluate.add_argument("--seed", type=int, default=0)
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

    _library_commands(commands)

    serve = commands.add_parser("serve", help="start the web chat (same as python app.py)")
    serve.add_argument("--host", help=_setting_help("host"))
    serve.add_argument("--port", type=int, help=_setting_help("port"))
    serve.add_argument("--share", action="store_true", help=_setting_help("share"))
    _common(serve)
    serve.set_defaults(run=cmd_serve)
    return parser


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
