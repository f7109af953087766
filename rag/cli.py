"""Command line: `rag ingest`, `rag ask`, `rag eval`, `rag serve` (each with --help).

Parses arguments, builds `Settings` (flags override environment and `.env`), runs the
stage, prints results. Errors that a user can fix are printed as one line, exit 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from rag.answering import Answer, answer_json
from rag.config import Settings, default_text, env_name, retrieval_modes
from rag.dates import QueryFilters
from rag.errors import RagError
from rag.ingest import IngestReport

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
    for label, ids in (("added", report.added), ("updated", report.updated), ("removed", report.removed)):
        for article_id in ids[:LISTED_CHANGES]:
            print(f"  {label}: {article_id}")
        if len(ids) > LISTED_CHANGES:
            print(f"  … and {len(ids) - LISTED_CHANGES} more {label}")
    if report.swept:
        print(f"  cleaned up {report.swept} chunks left by an interrupted run")
    for failure in report.failures:
        print(f"  skipped {failure.path}: {failure.reason}", file=sys.stderr)
    print(report.summary())


def cmd_ingest(args: argparse.Namespace) -> int:
    from rag.pipeline import Pipeline

    pipeline = Pipeline.open(_settings(args))
    report = pipeline.ingest(args.paths, sync=args.sync, progress=not args.quiet)
    _print_report(report)
    return 1 if report.failures else 0


def format_sources(answer: Answer) -> str:
    lines = [f"note: {notice}" for notice in answer.notices]
    for claim in answer.claims:
        if not claim.supported:
            where = "not found in " + " ".join(f"[{n}]" for n in claim.markers) if claim.markers else "uncited"
            lines.append(f"⚠ {where}: {claim.text}")
    for citation in answer.citations:
        passage = citation.passage
        meta = " · ".join(part for part in (passage.date, passage.source, passage.url) if part)
        lines.append(f"[{citation.number}] {passage.title}" + (f" ({meta})" if meta else ""))
        lines.append(f"    “{citation.quote}”")
    return "\n".join(lines)


def cmd_ask(args: argparse.Namespace) -> int:
    from rag.pipeline import Pipeline

    pipeline = Pipeline.open(_settings(args))
    filters = QueryFilters.parse(args.date_from, args.date_to, args.source)
    streamed = ""
    live = pipeline.engine.llm is not None and not args.json  # the extractive answer comes whole, renumbered
    for update in pipeline.engine.ask(args.question, filters=filters):
        if update.answer is None and live:  # a chat model's answer, as it arrives
            print(update.text[len(streamed) :], end="", flush=True)
            streamed = update.text
    assert update.answer is not None
    if args.json:
        print(json.dumps(answer_json(update.answer, update.searched), ensure_ascii=False, indent=2))
        return 0
    answer = update.answer
    if not streamed or answer.text != streamed.strip():  # extractive, or the model's text was corrected
        print(("\n\n" if streamed else "") + answer.text, end="")
    print("\n\n" + format_sources(answer) if answer.citations or answer.notices or answer.claims else "")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from rag.evaluation import run_cli

    return run_cli(args, _settings(args))


def cmd_serve(args: argparse.Namespace) -> int:
    from rag.web import serve

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
            "Read .txt .md .html .json .jsonl .csv articles from files or folders and store them. "
            "Unchanged articles are skipped; changed ones replaced. Exit code 1 if any file was skipped."
        ),
    )
    ingest.add_argument("paths", nargs="+", type=Path, help="files or folders")
    ingest.add_argument(
        "--sync", action="store_true", help="remove stored articles whose files are gone from these folders"
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
    evaluate.add_argument("--quiet", action="store_true", help="no progress bar")
    _retrieval_options(evaluate)
    _common(evaluate)
    evaluate.set_defaults(run=cmd_eval)

    serve = commands.add_parser("serve", help="start the web chat (same as python app.py)")
    serve.add_argument("--host", help=_setting_help("host"))
    serve.add_argument("--port", type=int, help=_setting_help("port"))
    serve.add_argument("--share", action="store_true", help=_setting_help("share"))
    _common(serve)
    serve.set_defaults(run=cmd_serve)
    return parser


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
