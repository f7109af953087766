"""The chat model's review of an answer's claims (`RAG_VERIFY=model`): one batched request listing
every cited claim with the passages it cites, one verdict line per claim back.

A claim stays supported only when the local checks (rag.answer.claims) and the model both say so;
the model's verdict ("supported", "contradicted: why", "not found: why") is kept on the claim and
shown. A verdict line that cannot be read leaves the claim as the local checks left it, with a
notice. Pure text and data; rag.answer.llm makes the call (one prompt instead of llama-index's
FaithfulnessEvaluator, which would cost one call per claim).
"""

from __future__ import annotations

import dataclasses
import re

from llama_index.core.llms import ChatMessage, MessageRole

from rag.answer.model import Answer
from rag.answer.prompts import REVIEW_PROMPT, format_passages

_VERDICT_LINE = re.compile(
    r"^[^\w\n]*(?:claim[ \t]*)?(\d+)[ \t]*[:.)\-–][ \t]*\**[ \t]*(supported|contradicted|not[ \t]+found|unsupported)\b"
    r"\**[ \t]*[-–:—]?[ \t]*(.*)$",
    re.IGNORECASE | re.MULTILINE,
)


def review_messages(answer: Answer) -> list[ChatMessage]:
    """The request: the cited passages (numbered as in the answer) and the cited claims, numbered."""
    cited = [claim for claim in answer.claims if claim.markers]
    passages = format_passages(answer.passages[: len(answer.citations)])
    lines = [
        f"{number}. {claim.text} (cites {', '.join(f'[{n}]' for n in claim.markers)})"
        for number, claim in enumerate(cited, 1)
    ]
    return [
        ChatMessage(role=MessageRole.SYSTEM, content=REVIEW_PROMPT),
        ChatMessage(role=MessageRole.USER, content=f"Passages:\n\n{passages}\n\nClaims:\n" + "\n".join(lines)),
    ]


def parse_verdicts(reply: str) -> dict[int, str]:
    """Claim number -> "supported" / "contradicted: why" / "not found: why", from the model's reply."""
    verdicts: dict[int, str] = {}
    for number, word, why in _VERDICT_LINE.findall(reply):
        verdict = "not found" if word.lower() in ("unsupported",) else " ".join(word.lower().split())
        why = why.strip()
        verdicts.setdefault(int(number), verdict + (f": {why}" if why and verdict != "supported" else ""))
    return verdicts


def apply_verdicts(answer: Answer, reply: str) -> Answer:
    """`answer` with each cited claim's verdict; a claim the model does not find supported is not."""
    verdicts = parse_verdicts(reply)
    claims, unread, number = [], [], 0
    for claim in answer.claims:
        if not claim.markers:
            claims.append(claim)
            continue
        number += 1
        verdict = verdicts.get(number)
        if verdict is None:
            unread.append(number)
            claims.append(claim)
            continue
        agrees = verdict == "supported"
        reason = claim.reason or ("" if agrees else f"the model found it {verdict}")
        claims.append(dataclasses.replace(claim, supported=claim.supported and agrees, verdict=verdict, reason=reason))
    notices = list(answer.notices)
    if unread:
        notices.append(
            f"The model's review gave no readable verdict for claim {', '.join(map(str, unread))}; "
            "the local checks stand for it."
        )
    return dataclasses.replace(answer, claims=claims, notices=notices)
