"""What the polarity and speaker checks (rag/answer/polarity.py) catch on real news sentences.

From the MultiHop-RAG corpus (shared/data/multihop-rag/corpus.json), sentences of at most
300 characters are taken in a seeded random order and turned into claims their own sentence
contradicts:
- **opposite verb**: one verb of a family the check knows is swapped for its opposite
  ("approved" -> "rejected", "rose" -> "fell", ...): caught when `contradiction` flags it;
- **negated verb**: "did not" / "will not" put before the verb after "did" / "will" is absent;
- **other speaker**: in "X said ...", X is replaced by a speaker of another article: caught
  when `misattribution` flags it.
Each unchanged sentence is also checked against itself: a flag there is a false alarm of the
rules. Paraphrases that keep the meaning cannot be made without a model, so the false-alarm
rate on real paraphrases is not measured here.

    python -m bench.claims [--sentences 2000] [--seed 1]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from rag.answer.polarity import contradiction, misattribution, speakers  # noqa: E402
from rag.text.sentences import split_sentences  # noqa: E402

CORPUS = ROOT.parent / "shared" / "data" / "multihop-rag" / "corpus.json"
OPPOSITES = {  # past-tense forms, both ways
    "approved": "rejected",
    "accepted": "refused",
    "supported": "opposed",
    "welcomed": "rejected",
    "allowed": "banned",
    "confirmed": "denied",
    "admitted": "denied",
    "rose": "fell",
    "increased": "decreased",
    "raised": "cut",
    "gained": "lost",
    "grew": "shrank",
    "jumped": "dropped",
    "hired": "fired",
    "convicted": "acquitted",
}
OPPOSITES |= {b: a for a, b in OPPOSITES.items() if b not in OPPOSITES}
_SWAPPABLE = re.compile(r"\b(" + "|".join(OPPOSITES) + r")\b")
_NEGATABLE = re.compile(r"\b(will|would|can|could|should)\s+(?!not\b|never\b|be\b|have\b)([a-z]{4,})\b")
_SAID = re.compile(r"^([A-Z][\w’'-]+(?:\s+[A-Z][\w’'-]+)?)\s+said\b")


def sentences(path: Path, limit: int, seed: int) -> list[str]:
    articles = json.loads(path.read_text(encoding="utf-8"))
    found = []
    for article in articles:
        body = str(article.get("body", ""))
        found += [" ".join(body[s:e].split()) for s, e in split_sentences(body) if 40 <= e - s <= 300]
    random.Random(seed).shuffle(found)
    return found[:limit]


def rate(hits: int, total: int) -> str:
    return f"{hits}/{total} = {hits / total:.3f}" if total else "0/0"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--sentences", type=int, default=20000, help="sentences sampled from the corpus")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    sample = sentences(args.corpus, args.sentences, args.seed)
    said = [m.group(1) for s in sample if (m := _SAID.match(s)) and speakers(s)]
    rng = random.Random(args.seed)
    counts = {name: [0, 0] for name in ("opposite verb", "negated verb", "other speaker", "self (false alarms)")}
    missed: dict[str, list[str]] = {name: [] for name in counts}
    missed_swaps: Counter[str] = Counter()
    for sentence in sample:
        cases = []
        if swap := _SWAPPABLE.search(sentence):
            flipped = sentence[: swap.start()] + OPPOSITES[swap.group(1)] + sentence[swap.end() :]
            caught = bool(contradiction(flipped, sentence))
            cases.append(("opposite verb", caught, flipped))
            missed_swaps.update([] if caught else [f"{swap.group(1)} -> {OPPOSITES[swap.group(1)]}"])
        if negate := _NEGATABLE.search(sentence):
            negated = sentence[: negate.end(1)] + " not" + sentence[negate.end(1) :]
            cases.append(("negated verb", bool(contradiction(negated, sentence)), negated))
        if (speaker := _SAID.match(sentence)) and speakers(sentence):
            other = rng.choice([name for name in said if not set(name.split()) & set(speaker.group(1).split())])
            moved = other + sentence[speaker.end(1) :]
            cases.append(("other speaker", bool(misattribution(moved, sentence)), moved))
        alarm = bool(contradiction(sentence, sentence) or misattribution(sentence, sentence))
        cases.append(("self (false alarms)", alarm, sentence))
        for name, flagged, claim in cases:
            counts[name][0] += flagged
            counts[name][1] += 1
            if (not flagged) != (name.startswith("self")) and len(missed[name]) < 3:
                missed[name].append(claim)
    print(f"{len(sample)} sentences from {args.corpus.name} (seed {args.seed})\n")
    print("| claim made from a corpus sentence | flagged |\n|---|---:|")
    for name, (hits, total) in counts.items():
        print(f"| {name} | {rate(hits, total)} |")
    print("\nmissed swaps: " + ", ".join(f"{swap} {count}" for swap, count in missed_swaps.most_common(8)))
    for name, examples in missed.items():
        for example in examples:
            print(f"{'false alarm' if name.startswith('self') else 'missed'} ({name}): {example[:160]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
