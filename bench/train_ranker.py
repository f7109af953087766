"""Train the offline answerer's ranker and calibrated decline (rag/answer/ranker.json).

Training data, all of it "dev" (never the natural set's test split, never MultiHop's held-out half):
- the natural-question set's dev split (demo/natural-questions.jsonl, split "dev") and the 866
  training questions written the same way from other articles (bench/data/ranker-questions.jsonl,
  none from an article of the natural test split nor a near-copy of a test question): a candidate
  sentence is a positive when it holds an answer key and shares most of its words with the
  answering sentence or the question (for yes/no questions: it shares most of its words with the
  answering sentence);
- MultiHop-RAG dev inference and null questions, the seeded "train half" (bench.answers.halves,
  seed 1): a candidate answers an inference question when it holds the answer (a name); null
  queries count as questions to decline.

Each question is retrieved as the chat would retrieve it (a follow-up with the previous question as
history), its candidates described by rag.answer.features and scored by the cross-encoder
(rag.answer.cross_encoder: out of fold from --cross-scores, written by bench/train_cross_encoder.py
fit, so the reranker learns how far to trust it on questions it has not seen; the shipped model
scores what the file lacks), and four logistic regressions fitted (scikit-learn, at training time
only): the linear ranker (pairwise: answering candidate minus another candidate of the same
question); the reranker (pairwise too, over the linear ranker's logit, cross-fitted over 5 folds of
questions, and the cross-encoder's score of its RERANK best); the decline model (question-level
features under both, so they are as good as on new questions; the label: the lead answers); and
the relevance model (the same features; the label: the question is answerable).
Thresholds are chosen on those cross-fitted figures: `answer_threshold` (on the decline model) keeps
false declines of answerable questions at most --max-false-declines on each training set;
`gate_threshold` (on relevance) lets --gate-pass of them through to a chat model.

    python -m bench.train_ranker --natural-store /work/stores/natural --multihop-store /work/stores/multihop \
        --cross-scores cross-scores.jsonl
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from rag.answer.cross_encoder import RERANK, CrossEncoder, pair_text  # noqa: E402
from rag.answer.features import (  # noqa: E402
    CANDIDATE_FEATURES,
    QUESTION_FEATURES,
    RANK_FEATURES,
    RERANK_FEATURES,
    Candidate,
    Question,
    candidate_features,
    candidates,
    question_features,
    rank_rows,
    reread,
)
from rag.answer.ranker import WEIGHTS, Linear, RankerModel  # noqa: E402
from rag.chat import Exchange, heuristic_standalone  # noqa: E402
from rag.config import Settings  # noqa: E402
from rag.eval import metrics  # noqa: E402
from rag.pipeline import Pipeline  # noqa: E402
from rag.search.retrieval import Passage  # noqa: E402

NATURAL = ROOT / "demo" / "natural-questions.jsonl"
TRAINING = ROOT / "bench" / "data" / "ranker-questions.jsonl"
RANK_C = 0.03  # the pairwise ranker's regularisation (chosen by cross-validation on the dev questions)
RERANK_C = 1.0  # the reranker's (two features: hardly needed)
QUERIES = ROOT.parent / "shared" / "data" / "multihop-rag" / "queries-dev.json"
TOP_K = 5  # passages the extractive answerer reads (RAG_TOP_K)
FOLDS = 5
OVERLAP = 0.5  # share of words a positive candidate shares with the evidence
Label = Callable[[dict[str, Any], str, Candidate], bool]  # (record, searched, candidate) -> answers it


@dataclass
class Example:
    """One training question: its retrieved passages' candidates, features and labels."""

    source: str  # "natural" or "multihop"
    searched: str
    answerable: bool
    question: Question
    passages: list[Passage]
    found: list[Candidate]
    rows: np.ndarray  # the ranker's features (rank_rows), one row per candidate
    labels: np.ndarray  # 1 where the candidate answers
    cross: np.ndarray = field(
        default_factory=lambda: np.zeros(0)
    )  # the cross-encoder's score per candidate (read_cross)


def _tokens(text: str) -> set[str]:
    return set(metrics.normalize_answer(text).split())


def _shares(candidate: str, evidence: str) -> float:
    """The larger of: share of the candidate's words in the evidence, share of the evidence's in the candidate."""
    a, b = _tokens(candidate), _tokens(evidence)
    if not a or not b:
        return 0.0
    return max(len(a & b) / len(a), len(a & b) / len(b))


def _holds(candidate: str, keys: Sequence[str]) -> bool:
    return any(metrics.contains_answer(candidate, key) for key in keys)


def natural_label(record: dict[str, Any], question: str, candidate: Candidate) -> bool:
    evidence = [e["text"] for e in record.get("evidence", [])]
    keys = [k for k in record.get("answers", []) if k.lower() not in ("yes", "no")]
    near = max((_shares(candidate.text, e) for e in evidence), default=0.0)
    if record["type"] == "yes-no":
        return near >= OVERLAP
    return _holds(candidate.text, keys) and (near >= OVERLAP or _shares(candidate.text, question) >= OVERLAP)


def multihop_label(record: dict[str, Any], question: str, candidate: Candidate) -> bool:
    facts = [e["fact"] for e in record.get("evidence_list", [])]
    near = max((_shares(candidate.text, fact) for fact in facts), default=0.0)
    if record.get("question_type") == "inference_query":  # the answer is a name: the sentence that holds it
        return _holds(candidate.text, [str(record.get("answer", ""))])
    return near >= OVERLAP


def natural_questions(path: Path, split: str, corpora: Sequence[str]) -> list[tuple[dict[str, Any], str]]:
    """(record, query searched) of the natural set's `split`, follow-ups searched as the chat would."""
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    by_id = {r["id"]: r for r in records}
    picked = []
    for record in records:
        if record["split"] != split or record["corpus"] not in corpora:
            continue
        searched = record["question"]
        if record.get("follows"):
            first = by_id[record["follows"]]["question"]
            searched = heuristic_standalone(searched, [Exchange(first, first, "")])
        picked.append((record, searched))
    return picked


def multihop_questions(
    path: Path, half: str, seed: int, types: Sequence[str], limit: int | None
) -> list[dict[str, Any]]:
    from bench.answers import halves
    from rag.eval.run import load_testset

    cases = load_testset(path)
    records = json.loads(path.read_text(encoding="utf-8"))
    index = {case.id: records[int(case.id.split("-")[1]) - 1] for case in cases}
    picked = [index[case.id] for case in halves(cases, seed)[half] if case.type in types]
    return picked[:limit] if limit else picked


def collect(pipeline: Pipeline, items: Sequence[tuple[str, str, bool, Any]], label: Label) -> list[Example]:
    """Retrieve, describe and label each (source, searched, answerable, record)."""
    examples = []
    for source, searched, answerable, record in items:
        passages = pipeline.retriever.retrieve(searched, TOP_K)
        asked = Question.read(searched, pipeline.lexical.document_frequency, pipeline.lexical.sources)
        found = candidates(passages)
        rows = rank_rows(asked, candidate_features(asked, passages, found))
        labels = np.array([answerable and label(record, searched, c) for c in found], dtype=np.int8)
        examples.append(Example(source, searched, answerable, asked, passages, found, rows, labels))
    return examples


def training_examples(
    natural_store: Path | None,
    multihop_store: Path | None,
    queries: Path = QUERIES,
    multihop_types: Sequence[str] = ("inference_query", "null_query"),
    multihop_limit: int | None = None,
    corpora: Sequence[str] = ("multihop", "ukraine", "demo"),
    natural: Path = NATURAL,
    training: Path = TRAINING,
    collection: str = "news",
) -> list[Example]:
    """The training questions (see the module's docstring), retrieved, described and labelled."""
    examples: list[Example] = []
    if natural_store is not None:
        chosen = natural_questions(natural, "dev", corpora) + natural_questions(training, "train", corpora)
        print(f"natural dev and training questions: {len(chosen)}", flush=True)
        items = [("natural", searched, bool(r["answerable"]), r) for r, searched in chosen]
        examples += collect(open_pipeline(natural_store, collection), items, natural_label)
    if multihop_store is not None:
        records = multihop_questions(queries, "tune", 1, multihop_types, multihop_limit)
        print(f"MultiHop train half: {len(records)} questions", flush=True)
        items = [("multihop", r["query"], r["question_type"] != "null_query", r) for r in records]
        examples += collect(open_pipeline(multihop_store, collection), items, multihop_label)
    return examples


def read_cross(examples: Sequence[Example], scores: Path | None) -> int:
    """Each example's cross-encoder score per candidate: out of fold from `scores` (what
    bench/train_cross_encoder.py fit wrote) where it has the question and candidate, else from the
    shipped model. Returns how many candidates the shipped model scored."""
    known: dict[tuple[str, str], float] = {}
    if scores is not None:
        for line in scores.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            known.update(((record["question"], t), s) for t, s in zip(record["texts"], record["scores"], strict=True))
    model, shipped = CrossEncoder(), 0
    for e in examples:
        texts = [pair_text(c.text, e.passages[c.number - 1].title) for c in e.found]
        missing = [t for t in texts if (e.searched, t) not in known]
        shipped += len(missing)
        known.update(zip(((e.searched, t) for t in missing), model.scores(e.searched, missing), strict=True))
        e.cross = np.array([known[e.searched, t] for t in texts], dtype=np.float64)
    return shipped


def fit_question_model(summaries: np.ndarray, labels: np.ndarray) -> Linear:
    """A logistic regression from question-level features to `labels`: "the lead answers" (the decline
    model) or "the question is answerable" (the relevance model behind the chat model's gate)."""
    from sklearn.linear_model import LogisticRegression

    mean, scale = summaries.mean(axis=0), summaries.std(axis=0)
    scale[scale == 0] = 1.0
    model = LogisticRegression(C=1.0, max_iter=2000, class_weight="balanced")
    model.fit((summaries - mean) / scale, labels)
    return Linear(QUESTION_FEATURES, mean, scale, model.coef_[0], float(model.intercept_[0]))


def fit_pairwise(
    groups: Sequence[tuple[str, np.ndarray, np.ndarray]], features: tuple[str, ...], regularisation: float
) -> Linear:
    """A pairwise ranker over (source, rows, labels) groups: a logistic regression on the differences
    between each answering row and each other row of the same group. Each group weighs the same
    (however many pairs it has), and each source (natural, MultiHop) weighs the same in all."""
    from sklearn.linear_model import LogisticRegression

    usable = [(source, rows, labels) for source, rows, labels in groups if labels.any() and not labels.all()]
    scale = np.vstack([rows for _, rows, _ in usable]).astype(np.float64).std(axis=0)
    scale[scale == 0] = 1.0
    per_source = Counter(source for source, _, _ in usable)
    pairs, weights = [], []
    for source, rows, labels in usable:
        scaled = rows / scale
        good, bad = scaled[labels == 1], scaled[labels == 0]
        differences = (good[:, None, :] - bad[None, :, :]).reshape(-1, scaled.shape[1])
        pairs.append(differences)
        weights.append(np.full(len(differences), 1.0 / len(differences) / per_source[source]))
    x, weight = np.vstack(pairs), np.concatenate(weights)
    weight /= weight.mean()
    model = LogisticRegression(C=regularisation, max_iter=5000, fit_intercept=False)
    model.fit(np.vstack([x, -x]), np.r_[np.ones(len(x)), np.zeros(len(x))], sample_weight=np.r_[weight, weight])
    return Linear(features, np.zeros(len(scale)), scale, model.coef_[0], 0.0)


def fit_rank(examples: Sequence[Example], regularisation: float = RANK_C) -> Linear:
    """The linear ranker over each candidate's RANK_FEATURES."""
    return fit_pairwise([(e.source, e.rows, e.labels) for e in examples], RANK_FEATURES, regularisation)


def rerank_rows(example: Example, linear: np.ndarray) -> np.ndarray:
    """RERANK_FEATURES per candidate, under these linear logits (the cross-encoder reads their best)."""
    return np.column_stack([linear, reread(linear, lambda best: example.cross[best], RERANK)])


def summarise(example: Example, linear: np.ndarray, rerank: Linear) -> tuple[np.ndarray, bool]:
    """The question-level features under these linear logits and this reranker, and whether the lead answers."""
    rows = rerank_rows(example, linear)
    logits = rerank.logits(rows)
    lead_answers = bool(len(logits) and example.labels[int(np.argmax(logits))])
    base = example.rows[:, : len(CANDIDATE_FEATURES)]
    return question_features(example.question, example.passages, base, logits, rows[:, 1])[0], lead_answers


def cross_fitted(examples: Sequence[Example], folds: int) -> tuple[Linear, np.ndarray, np.ndarray]:
    """The reranker, fitted on linear logits from rankers that did not see the question (and the
    cross-encoder's out-of-fold scores); the question-level features under both, and lead-answers labels."""
    order = np.arange(len(examples)) % folds
    linear: list[np.ndarray] = [np.zeros(0)] * len(examples)
    for fold in range(folds):
        rank = fit_rank([e for e, f in zip(examples, order, strict=True) if f != fold])
        for i in np.flatnonzero(order == fold):
            linear[i] = rank.logits(examples[i].rows) if len(examples[i].rows) else np.zeros(0)
    groups = [(e.source, rerank_rows(e, logits), e.labels) for e, logits in zip(examples, linear, strict=True)]
    rerank = fit_pairwise(groups, RERANK_FEATURES, RERANK_C)
    summaries, leads = zip(
        *(summarise(e, logits, rerank) for e, logits in zip(examples, linear, strict=True)), strict=True
    )
    return rerank, np.vstack(summaries), np.array(leads, dtype=np.int8)


def threshold_for(probabilities: np.ndarray, answerable: np.ndarray, max_declined: float) -> float:
    """The highest threshold that declines at most `max_declined` of the answerable questions."""
    scores = np.sort(probabilities[answerable.astype(bool)])
    if not len(scores):
        return 0.5
    allowed = math.floor(max_declined * len(scores))
    return float(scores[allowed]) - 1e-6 if allowed < len(scores) else float(scores[-1])


def decline_cuts(
    probabilities: np.ndarray, relevance: np.ndarray, answerable: np.ndarray, sources: np.ndarray, max_declined: float
) -> tuple[float, float]:
    """The offline decline's two thresholds (on the decline probability, on relevance): of the pairs that
    decline at most `max_declined` of each source's answerable questions, the one that declines the
    most of its unanswerable ones (on average over the sources)."""
    names = sorted(set(sources))
    best: tuple[float, float, float] = (-1.0, 0.0, 0.0)
    for share in np.linspace(0.0, max_declined, 9):
        relevance_cut = min(threshold_for(relevance[sources == s], answerable[sources == s], share) for s in names)
        cuts = []
        for s in names:
            mine = (sources == s) & answerable
            allowed = math.floor(max_declined * mine.sum()) - int((relevance[mine] < relevance_cut).sum())
            left = np.sort(probabilities[mine & (relevance >= relevance_cut)])
            if allowed < 0 or not len(left):
                break
            cuts.append(float(left[allowed]) - 1e-6 if allowed < len(left) else float(left[-1]))
        else:
            cut = min(cuts)
            declined = (probabilities < cut) | (relevance < relevance_cut)
            caught = float(np.mean([declined[(sources == s) & ~answerable].mean() for s in names]))
            best = max(best, (caught, cut, relevance_cut))
    return best[1], best[2]


def report(name: str, declined: np.ndarray, examples: Sequence[Example], leads: np.ndarray) -> str:
    answerable = np.array([e.answerable for e in examples])
    answered = ~declined
    lines = [f"{name}: {len(examples)} questions ({int(answerable.sum())} answerable)"]
    if answerable.any():
        lines.append(f"  lead answers (cross-fitted): {float((leads & answered)[answerable].mean()):.3f}")
        lines.append(f"  false declines: {float((~answered)[answerable].mean()):.3f}")
    if (~answerable).any():
        lines.append(f"  unanswerable declined: {float((~answered)[~answerable].mean()):.3f}")
    return "\n".join(lines)


def train(
    examples: Sequence[Example], max_false_declines: float, gate_pass: float, folds: int = FOLDS
) -> tuple[RankerModel, str]:
    """The ranker and decline model on `examples`, with thresholds from cross-fitting."""
    rerank, summaries, leads = cross_fitted(examples, folds)
    answerable = np.array([e.answerable for e in examples])
    decline = fit_question_model(summaries, leads)
    relevance_model = fit_question_model(summaries, answerable)
    probabilities, relevance = decline.probabilities(summaries), relevance_model.probabilities(summaries)
    sources = sorted({e.source for e in examples})
    source = np.array([e.source for e in examples])
    answer_threshold, relevance_threshold = decline_cuts(
        probabilities, relevance, answerable, source, max_false_declines
    )
    declined = (probabilities < answer_threshold) | (relevance < relevance_threshold)
    gate_threshold = threshold_for(relevance, answerable, 1 - gate_pass)
    rank = fit_rank(examples)
    lines = [
        report(f"{s} (dev)", declined[source == s], [e for e in examples if e.source == s], leads[source == s] == 1)
        for s in sources
    ]
    gated = relevance < gate_threshold
    lines.append(
        f"gate: answerable kept from a chat model {float(gated[answerable].mean()):.3f}, "
        f"unanswerable kept {float(gated[~answerable].mean()):.3f}"
    )
    about = {
        "trained_on": {s: sum(e.source == s for e in examples) for s in sources},
        "max_false_declines": max_false_declines,
        "gate_pass": gate_pass,
        "command": "python -m bench.train_ranker",
    }
    small_threshold = min(
        threshold_for(probabilities[source == s], answerable[source == s], max_false_declines) for s in sources
    )
    thresholds = (answer_threshold, relevance_threshold, small_threshold, gate_threshold)
    model = RankerModel(rank, rerank, decline, relevance_model, *thresholds, about)
    return model, "\n".join(lines)


def open_pipeline(store: Path, collection: str) -> Pipeline:
    return Pipeline.open(Settings(data_dir=store, collection=collection, llm="none"), create=False)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--natural", type=Path, default=NATURAL, help="the natural-question set")
    parser.add_argument("--natural-store", type=Path, help="RAG_DATA_DIR holding its corpora")
    parser.add_argument("--corpora", nargs="+", default=["multihop", "ukraine", "demo"])
    parser.add_argument("--multihop-store", type=Path, help="RAG_DATA_DIR holding the MultiHop corpus")
    parser.add_argument("--queries", type=Path, default=QUERIES, help="MultiHop-RAG query file")
    parser.add_argument("--multihop-limit", type=int, help="at most this many MultiHop questions")
    parser.add_argument("--multihop-types", nargs="+", default=["inference_query", "null_query"])
    parser.add_argument("--collection", default="news")
    parser.add_argument("--max-false-declines", type=float, default=0.04)
    parser.add_argument("--gate-pass", type=float, default=0.995)
    parser.add_argument("--folds", type=int, default=FOLDS)
    parser.add_argument("--training", type=Path, default=TRAINING, help="more natural-style questions, for training")
    parser.add_argument("--out", type=Path, default=WEIGHTS)
    parser.add_argument(
        "--cross-scores", type=Path, help="out-of-fold cross-encoder scores (bench/train_cross_encoder.py fit --scores)"
    )
    args = parser.parse_args(argv)

    if args.natural_store is None and args.multihop_store is None:
        parser.error("give --natural-store, --multihop-store or both")
    examples = training_examples(
        args.natural_store,
        args.multihop_store,
        args.queries,
        args.multihop_types,
        args.multihop_limit,
        args.corpora,
        args.natural,
        args.training,
        args.collection,
    )
    shipped = read_cross(examples, args.cross_scores)
    total = sum(len(e.found) for e in examples)
    print(f"cross-encoder scores: {total - shipped} of {total} candidates out of fold, the rest by the shipped model")
    model, text = train(examples, args.max_false_declines, args.gate_pass, args.folds)
    model.save(args.out)
    print(text)
    print(
        f"thresholds: answer {model.answer_threshold:.3f} (relevance {model.relevance_threshold:.3f}; "
        f"in a small collection {model.small_threshold:.3f}), "
        f"gate {model.gate_threshold:.3f}"
    )
    print(f"weights: {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
