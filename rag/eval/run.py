"""Evaluation: run a test set through the configured pipeline and report the scores.

Test sets are JSON or JSONL records `{"question", "answer", "evidence": [{"article", "text"}],
"answerable", "type"}`; MultiHop-RAG's query file (`query`, `evidence_list[].fact`,
`question_type`, null_query = unanswerable) is read as is. Every question is retrieved
(top 10 for the retrieval metrics) and answered from the top-k passages, exactly as in the
chat. The report: a table in the terminal, `results.json` (every question), and
`report.md` with `metrics.svg` (key metrics per question type).
"""

from __future__ import annotations

import argparse
import html
import json
import random
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tqdm import tqdm

from rag.answer.citations import claims, drop_markers, parse_markers
from rag.answer.extractive import VERDICT, ExtractiveAnswerer
from rag.answer.model import Answer
from rag.chat import ChatEngine, Exchange
from rag.config import Settings
from rag.errors import FALLBACK_EXIT, ConfigurationError, UsageError
from rag.eval import metrics

if TYPE_CHECKING:  # llama-index's evaluators load only for rag eval --judge
    from rag.eval.judge import Judge

RETRIEVAL_DEPTH = 10
_QUOTED = r"[“\"]([^”\"]{12,})[”\"]"


@dataclass(frozen=True)
class TestCase:
    id: str
    question: str
    answer: str
    evidence: tuple[str, ...]
    answerable: bool = True
    type: str = "all"
    keys: tuple[str, ...] = ()  # answer keys: a correct answer's first sentence holds one ("answers")
    follows: str = ""  # the id of the question this one follows up (asked first, as history)
    context_needed: bool | None = None  # a follow-up that needs the previous question's topic
    search_terms: tuple[str, ...] = ()  # words of that topic the search must (not) include
    split: str = ""  # "dev" or "test" (the natural-question set)


@dataclass
class CaseResult:
    id: str
    type: str
    question: str
    reference: str
    answerable: bool
    answer: str = ""
    declined: bool = False
    searched: str = ""
    answerer: str = ""  # who actually answered (the local extractive answerer when a chat model fell back)
    fallback: bool = False  # a chat model was configured but failed on this question
    notices: list[str] = field(default_factory=list)  # the answer's notices, then the judge's
    usage: dict[str, Any] | None = None  # the chat model's tokens and estimated cost (Usage.as_json)
    scores: dict[str, float] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def _record_to_case(record: dict[str, Any], number: int) -> TestCase:
    if "query" in record:  # MultiHop-RAG
        kind = str(record.get("question_type", "all"))
        return TestCase(
            id=f"mh-{number:04d}",
            question=record["query"],
            answer=str(record.get("answer", "")),
            evidence=tuple(e["fact"] for e in record.get("evidence_list", [])),
            answerable=kind != "null_query",
            type=kind,
        )
    evidence = tuple(e["text"] if isinstance(e, dict) else str(e) for e in record.get("evidence", []))
    keys = tuple(str(key) for key in record.get("answers") or ())
    return TestCase(
        id=str(record.get("id", f"q{number:04d}")),
        question=record["question"],
        answer=str(record.get("answer", keys[0] if keys else "")),
        evidence=evidence,
        answerable=bool(record.get("answerable", True)),
        type=str(record.get("type", "all")),
        keys=keys,
        follows=str(record.get("follows") or ""),
        context_needed=record.get("context_needed"),
        search_terms=tuple(record.get("search_terms") or ()),
        split=str(record.get("split") or ""),
    )


def load_testset(path: Path) -> list[TestCase]:
    """Read a JSON list or JSONL file of test records; raises UsageError naming the bad record (or why
    the file cannot be read)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        raise UsageError(
            f"Cannot read the test set {path} ({reason}); give a JSON or JSONL file of questions "
            "(e.g. demo/testset.jsonl)."
        ) from error
    try:
        records = (
            json.loads(text)
            if text.lstrip().startswith("[")
            else [json.loads(line) for line in text.splitlines() if line.strip()]
        )
    except json.JSONDecodeError as error:
        raise UsageError(f"{path} is not valid JSON/JSONL ({error}).") from error
    cases = []
    for number, record in enumerate(records, 1):
        try:
            cases.append(_record_to_case(record, number))
        except (KeyError, TypeError) as error:
            raise UsageError(f"{path}: record {number} lacks a question field ({error}).") from error
    return cases


def select(
    cases: list[TestCase], sample: int | None, limit: int | None, seed: int = 0, split: str | None = None
) -> list[TestCase]:
    """The cases to run: one split of a set that has them, a seeded sample, the first `limit`. A split
    the set does not have is a `UsageError`, never an empty run."""
    if split is not None:
        splits = sorted({case.split for case in cases if case.split})
        if split not in splits:
            has = f"its splits are {', '.join(splits)}" if splits else "it has no 'split' field"
            raise UsageError(f"The test set has no '{split}' split ({has}); drop --split or give a set that has it.")
        cases = [case for case in cases if case.split == split]
    if sample is not None:
        cases = random.Random(seed).sample(cases, min(sample, len(cases)))
    return cases[:limit] if limit is not None else cases


def answer_quotes(answer: Answer) -> list[tuple[str, str]]:
    """(quote, passage) pairs: quoted text in a claim (or the whole claim, for extractive answers,
    except a verdict the extractive answerer states from the articles' dates); a quote may
    come from the passage's text or its article's headline."""
    pairs = []
    for claim, numbers in claims(answer.text):
        if not numbers or VERDICT.match(claim):  # a verdict from the articles' dates is not a quote
            continue
        quotes = [claim] if answer.answerer == ExtractiveAnswerer.name else re.findall(_QUOTED, claim)
        cited = [
            f"{p.title}\n{p.text}" for p in (answer.passages[n - 1] for n in numbers if 1 <= n <= len(answer.passages))
        ]
        for quote in quotes:
            pairs.append((quote, " ".join(cited)))
    return pairs


def spoken_text(text: str) -> str:
    """An answer's words without its [n] markers (a marker's number is no part of what it says: "[1]"
    would otherwise match a reference "1", and split a reference quoted across two claims); the spaces a
    marker leaves between two sentences are closed up."""
    dropped = drop_markers(text, set(parse_markers(text)))
    return "\n".join(re.sub(r"[ \t]{2,}", " ", line).strip() for line in dropped.split("\n"))


def score_answer(case: TestCase, answer: Answer) -> dict[str, float]:
    scores: dict[str, float] = {"declined": float(answer.declined)}
    if case.answerable:
        said = spoken_text(answer.text)
        scores |= {
            "exact_match": metrics.exact_match(said, case.answer),
            "token_f1": metrics.token_f1(said, case.answer),
            "contains_answer": metrics.contains_answer(said, case.answer),
        }
        if metrics.is_yes_no_reference(case.answer):
            scores["yes_no_accuracy"] = float(metrics.yes_no(said) == metrics.normalize_answer(case.answer))
        if case.keys:
            scores["lead_answers"] = float(not answer.declined and metrics.lead_answers(answer.text, case.keys))
    cited_texts = [c.passage.text for c in answer.citations]
    precision = metrics.citation_precision(cited_texts, case.evidence) if case.evidence else None
    if precision is not None:
        scores["citation_precision"] = precision
    scores["citations_valid"] = float(not answer.dropped_markers)
    fidelity = metrics.quote_fidelity(answer_quotes(answer))
    if fidelity is not None:
        scores["quote_fidelity"] = fidelity
    support = metrics.claim_support_rate([claim.supported for claim in answer.claims])
    if support is not None:
        scores["claim_support"] = support
    return scores


def score_retrieval(case: TestCase, ranked: Sequence[str]) -> dict[str, float]:
    if not (case.answerable and case.evidence):
        return {}
    return {
        "hit@1": metrics.hit_at_k(ranked, case.evidence, 1),
        "hit@4": metrics.hit_at_k(ranked, case.evidence, 4),
        "hit@10": metrics.hit_at_k(ranked, case.evidence, 10),
        "mrr@10": metrics.reciprocal_rank(ranked, case.evidence, 10),
        "recall@10": metrics.recall_at_k(ranked, case.evidence, 10),
    }


def evaluate_case(
    engine: ChatEngine,
    case: TestCase,
    top_k: int,
    answer: bool = True,
    judge: Judge | None = None,
    history: Sequence[Exchange] = (),
) -> CaseResult:
    """Retrieve and answer one case as the chat would (a follow-up with its `history`) and score it."""
    result = CaseResult(case.id, case.type, case.question, case.answer, case.answerable)
    started = time.perf_counter()
    searched, _ = engine.standalone(case.question, history)
    result.searched = searched
    passages = engine.retriever.retrieve(searched, max(RETRIEVAL_DEPTH, top_k))
    result.seconds["retrieve"] = time.perf_counter() - started
    result.scores = score_retrieval(case, [p.text for p in passages[:RETRIEVAL_DEPTH]])
    if case.follows and case.context_needed is not None:
        result.scores["follow_up_searched"] = metrics.searched_right(searched, case.search_terms, case.context_needed)
    if answer:
        started = time.perf_counter()
        final = engine.finish(searched, passages[:top_k])
        result.seconds["answer"] = time.perf_counter() - started
        assert final.answer is not None
        _record_answer(result, final.answer)
        result.scores |= score_answer(case, final.answer)
        if judge is not None:
            started = time.perf_counter()
            texts = [p.text for p in final.answer.passages]
            scores, notes = judge.score(
                case.question, final.answer.text, case.answer, texts, case.answerable, final.answer.declined
            )
            result.scores |= scores
            result.notices += notes
            result.seconds["judge"] = time.perf_counter() - started
    result.seconds["total"] = sum(seconds for stage, seconds in result.seconds.items() if stage != "judge")
    return result


def _record_answer(result: CaseResult, answer: Answer) -> None:
    result.answer, result.declined = answer.text, answer.declined
    result.answerer, result.fallback, result.notices = answer.answerer, answer.fallback, list(answer.notices)
    result.usage = answer.usage.as_json() if answer.usage else None


def summarize(results: Sequence[CaseResult]) -> dict[str, dict[str, float]]:
    """Mean of every score per question type and overall, refusal rates, latency percentiles."""
    groups: dict[str, list[CaseResult]] = {"all": list(results)}
    for result in results:
        groups.setdefault(result.type, []).append(result)
    summary: dict[str, dict[str, float]] = {}
    for name, members in groups.items():
        row: dict[str, float] = {"questions": float(len(members))}
        names = sorted({key for r in members for key in r.scores if key != "declined"})
        for key in names:
            row[key] = metrics.mean([r.scores[key] for r in members if key in r.scores])
        answered = [r for r in members if "declined" in r.scores]
        unanswerable = [r for r in answered if not r.answerable]
        answerable = [r for r in answered if r.answerable]
        if unanswerable:
            row["refusal_rate"] = metrics.mean([float(r.declined) for r in unanswerable])
        if answerable:
            row["false_declines"] = metrics.mean([float(r.declined) for r in answerable])
        _usage_rows(row, members)
        for stage in ("retrieve", "answer", "total"):
            values = [r.seconds[stage] * 1000 for r in members if stage in r.seconds]
            if values:
                row[f"{stage}_ms_p50"] = metrics.percentile(values, 50)
                row[f"{stage}_ms_p95"] = metrics.percentile(values, 95)
        summary[name] = row
    return summary


def _usage_rows(row: dict[str, float], members: Sequence[CaseResult]) -> None:
    """Fallbacks (count) and the chat model's tokens and estimated cost (sums), when a model was used."""
    answered = [r for r in members if r.answerer]
    if any(r.fallback or r.usage for r in answered):
        row["fallbacks"] = float(sum(r.fallback for r in answered))
    used = [r.usage for r in answered if r.usage]
    if used:
        row["tokens_in"] = float(sum(u["input_tokens"] for u in used))
        row["tokens_out"] = float(sum(u["output_tokens"] for u in used))
        costs = [u["cost_usd"] for u in used]
        if all(cost is not None for cost in costs):
            row["cost_usd"] = float(sum(costs))


def answered_by(results: Sequence[CaseResult]) -> dict[str, Any]:
    """Who answered how many questions, and how many fell back, per configured answerer."""
    answered = [r for r in results if r.answerer]
    return {
        "answers": dict(Counter(r.answerer for r in answered)),
        "fallbacks": sum(r.fallback for r in answered),
        "judge_notices": sum(1 for r in results for n in r.notices if n.startswith("Judge:")),
    }


def honesty_lines(results: Sequence[CaseResult], answerer: str) -> list[str]:
    """Warnings for a report whose figures are not all the configured answerer's."""
    counts = answered_by(results)
    lines = []
    if counts["fallbacks"]:
        lines.append(
            f"⚠ {counts['fallbacks']} of {len(results)} answers fell back from {answerer} to the local extractive "
            "answerer (the model failed: see each case's notices in results.json); the answer figures mix the two."
        )
    if counts["judge_notices"]:
        lines.append(f"⚠ {counts['judge_notices']} judge replies could not be used (not scored; see results.json).")
    return lines


def format_table(summary: dict[str, dict[str, float]]) -> str:
    groups = list(summary)
    keys = list(dict.fromkeys(key for row in summary.values() for key in row))
    width = max(len(key) for key in keys) + 2
    columns = [max(len(g), 8) + 2 for g in groups]
    lines = ["metric".ljust(width) + "".join(g.rjust(c) for g, c in zip(groups, columns, strict=False))]
    for key in keys:
        cells = []
        for group, column in zip(groups, columns, strict=False):
            value = summary[group].get(key)
            text = (
                ""
                if value is None
                else f"{value:.4f}"
                if key == "cost_usd"
                else f"{value:.0f}"
                if key in _COUNTS or "_ms_" in key
                else f"{value:.3f}"
            )
            cells.append(text.rjust(column))
        lines.append(key.ljust(width) + "".join(cells))
    return "\n".join(lines)


_COUNTS = ("questions", "fallbacks", "tokens_in", "tokens_out")
PLOTTED = ("hit@10", "mrr@10", "token_f1", "contains_answer", "citation_precision", "refusal_rate")
COLOURS = ("#2563eb", "#16a34a", "#d97706", "#9333ea", "#dc2626", "#0891b2")


def metrics_svg(summary: dict[str, dict[str, float]]) -> str:
    """A grouped bar chart (0..1) of the key metrics per question type, as SVG text."""
    groups = list(summary)
    bar, gap, height, top, left = 14, 28, 220, 30, 40
    group_width = len(PLOTTED) * bar + gap
    width = left + len(groups) * group_width + 180
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height + top + 60}" '
        'font-family="sans-serif" font-size="11">'
    ]
    for tick in (0, 0.25, 0.5, 0.75, 1.0):
        y = top + height * (1 - tick)
        parts.append(
            f'<line x1="{left}" x2="{width - 170}" y1="{y}" y2="{y}" stroke="#ddd"/><text x="5" '
            f'y="{y + 4}">{tick:.2f}</text>'
        )
    for g, group in enumerate(groups):
        x0 = left + g * group_width + gap / 2
        for m, (name, colour) in enumerate(zip(PLOTTED, COLOURS, strict=False)):
            value = summary[group].get(name)
            if value is None or value != value:
                continue
            h = height * max(0.0, min(1.0, value))
            parts.append(
                f'<rect x="{x0 + m * bar}" y="{top + height - h}" width="{bar - 2}" height="{h}" '
                f'fill="{colour}"><title>{name}: {value:.3f}</title></rect>'
            )
        parts.append(f'<text x="{x0}" y="{top + height + 16}">{html.escape(group)}</text>')
    for m, (name, colour) in enumerate(zip(PLOTTED, COLOURS, strict=False)):
        y = top + m * 18
        parts.append(
            f'<rect x="{width - 160}" y="{y}" width="12" height="12" fill="{colour}"/><text x="{width - 142}" '
            f'y="{y + 10}">{name}</text>'
        )
    parts.append("</svg>")
    return "\n".join(parts)


def write_report(
    out: Path, summary: dict[str, dict[str, float]], results: Sequence[CaseResult], config: dict[str, Any]
) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(
        json.dumps(
            {
                "config": config,
                "answered_by": answered_by(results),
                "summary": summary,
                "cases": [asdict(r) for r in results],
            },
            indent=2,
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    (out / "metrics.svg").write_text(metrics_svg(summary), encoding="utf-8")
    failures = [r for r in results if r.scores.get("hit@10") == 0.0 or (r.answerable and r.declined)][:20]
    lines = [
        "# Evaluation report",
        "",
        "Configuration: " + ", ".join(f"{k}={v}" for k, v in config.items()),
        "",
        *(f"**{line}**\n" for line in honesty_lines(results, str(config.get("answerer", "the chat model")))),
        "```",
        format_table(summary),
        "```",
        "",
        "![metrics per question type](metrics.svg)",
        "",
        "## Misses (first 20: no gold evidence in the top 10, or a wrong refusal)",
        "",
    ]
    lines += [f"- `{r.id}` ({r.type}): {r.question} → {r.answer[:160]!r}" for r in failures] or ["None."]
    report = out / "report.md"
    report.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return report


def evaluate(
    engine: ChatEngine,
    cases: Sequence[TestCase],
    top_k: int,
    answer: bool = True,
    progress: bool = True,
    on_result: Callable[[CaseResult], None] | None = None,
    judge: Judge | None = None,
) -> list[CaseResult]:
    results = []
    asked: dict[str, CaseResult] = {}
    for case in tqdm(cases, desc="eval", unit="q", disable=not progress):
        first = asked.get(case.follows)
        history = [Exchange(first.question, first.searched, first.answer)] if first is not None else []
        result = evaluate_case(engine, case, top_k, answer, judge, history)
        asked[case.id] = result
        results.append(result)
        if on_result is not None:
            on_result(result)
    return results


def _judge(settings: Settings) -> Judge:
    if not settings.uses_llm:
        raise ConfigurationError(
            "rag eval --judge needs a chat model to judge with: set RAG_LLM=provider:model or OPENAI_API_KEY."
        )
    from rag.answer.llm import make_llm
    from rag.eval.judge import Judge

    return Judge(make_llm(settings))


def run_cli(args: argparse.Namespace, settings: Settings) -> int:
    from rag.pipeline import Pipeline

    cases = select(load_testset(args.testset), args.sample, args.limit, args.seed, args.split)
    try:  # before the questions are asked, not after
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UsageError(
            f"Cannot write the report to {args.out} ({error.strerror or error}); give a folder you can write (--out)."
        ) from error
    judge = _judge(settings) if args.judge else None
    if judge is not None and args.retrieval_only:
        raise UsageError("--judge scores answers; drop --retrieval-only to judge them.")
    pipeline = Pipeline.open(settings, create=False)  # a misspelt collection is an error, never created
    if pipeline.store.chunk_count() == 0:
        raise UsageError(f"Collection '{settings.collection}' is empty: ingest the articles first (rag ingest PATH).")
    top_k = pipeline.engine.top_k  # llm_top_k with a chat model
    results = evaluate(
        pipeline.engine, cases, top_k, answer=not args.retrieval_only, progress=not args.quiet, judge=judge
    )
    summary = summarize(results)
    config = {
        "testset": str(args.testset),
        "questions": len(cases),
        "collection": settings.collection,
        "retrieval": settings.retrieval_mode,
        "top_k": top_k,
        "answerer": pipeline.engine.answerer_name,
        "embedder": pipeline.embedder.model_id,
        "judge": judge.name if judge is not None else "none",
    }
    report = write_report(args.out, summary, results, config)
    print(format_table(summary))
    for line in honesty_lines(results, pipeline.engine.answerer_name):
        print(line, file=sys.stderr)
    print(f"report: {report}  (results.json and metrics.svg beside it)")
    if args.strict and answered_by(results)["fallbacks"]:
        print("error: --strict: some answers fell back to the local extractive answerer.", file=sys.stderr)
        return FALLBACK_EXIT
    return 0
