"""Web chat rendering: answers, source cards, articles and exports as HTML, plain text and Markdown.

Pure functions of a `Turn` (one question and its answer). Every piece of article text or
model output is HTML-escaped here, and the HTML has no newlines (the chat renders
Markdown around it, and a blank line would end an HTML block). Ids are unique per turn:
the answer of turn t is `answer-t`, its cited cards `cite-t-n`, so markers in an old
answer open that answer's own cards.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from rag.answer.citations import MARKER, located_claims
from rag.answer.model import Answer, Citation, Claim
from rag.search.retrieval import Passage
from rag.store.chroma import ChunkRecord


@dataclass(frozen=True)
class Turn:
    """One question of a conversation and its answer, as the web chat keeps it."""

    number: int  # 1-based position in the conversation
    id: str  # unique: feedback is keyed by it
    question: str
    searched: str
    answer: Answer
    filters: str = ""  # QueryFilters.describe() of the filters in force
    seconds: dict[str, float] = field(default_factory=dict)  # per stage: search, answer


def _escape(text: str) -> str:
    """HTML-escaped text with newlines as <br> (no raw newline may reach the chat's Markdown)."""
    return html.escape(text).replace("\r", "").replace("\n", "<br>")


def linked_markers(text: str, turn: int) -> str:
    """Escape answer text and turn each number of its [n] / [n, m] markers into a link to turn's card n."""

    def link(marker: re.Match[str]) -> str:
        numbers = re.split(r"\s*[,;]\s*", marker.group(1))
        return ", ".join(f'<a class="marker" href="#cite-{turn}-{n}">[{n}]</a>' for n in numbers)

    return MARKER.sub(link, _escape(text))


def _claim_note(claim: Claim) -> str:
    if not claim.markers:
        return ""
    found = {support.number for support in claim.support}
    missing = [n for n in claim.markers if n not in found] or list(claim.markers)
    where = ", ".join(f"[{n}]" for n in missing)
    return f' <span class="unsupported" title="The cited passage does not state this">⚠ not found in {where}</span>'


def answer_body(answer: Answer, turn: int) -> str:
    """The answer text with links; unsupported claims flagged, uncited sentences marked (chat model only)."""
    if not answer.claims:
        return linked_markers(answer.text, turn)
    parts: list[str] = []
    position = 0
    for claim, (_, _, (start, end)) in zip(answer.claims, located_claims(answer.text), strict=False):
        parts.append(linked_markers(answer.text[position:start], turn))
        body = linked_markers(answer.text[start:end].rstrip(), turn)
        if not claim.markers and not answer.declined and answer.citations:
            body = f'<span class="uncited" title="No source cited for this sentence">{body}</span>'
        elif not claim.supported:
            body += _claim_note(claim)
        parts.append(body)
        position = start + len(answer.text[start:end].rstrip())
    parts.append(linked_markers(answer.text[position:], turn))
    return "".join(parts)


def highlighted(text: str, spans: Sequence[tuple[int, int]]) -> str:
    """Escape `text`, wrapping every (start, end) span in <mark>; overlapping spans are merged."""
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        start, end = max(0, start), min(len(text), end)
        if start >= end:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    out, position = [], 0
    for start, end in merged:
        out.append(_escape(text[position:start]) + f"<mark>{_escape(text[start:end])}</mark>")
        position = end
    return "".join(out) + _escape(text[position:])


def _title(passage: Passage) -> str:
    title = html.escape(passage.title or passage.article_id)
    if passage.url.startswith(("http://", "https://")):
        url = html.escape(passage.url, quote=True)
        return f'<a href="{url}" target="_blank" rel="noopener noreferrer">{title}</a>'
    return title


def _meta(passage: Passage) -> str:
    also = "also published by " + ", ".join(passage.also_published_by) if passage.also_published_by else ""
    return " · ".join(html.escape(part) for part in (passage.date, passage.source, also) if part)


def source_card(citation: Citation, turn: int) -> str:
    p = citation.passage
    return (
        f'<div class="source-card" id="cite-{turn}-{citation.number}">'
        f'<div class="card-title">[{citation.number}] {_title(p)}</div>'
        f'<div class="meta">{_meta(p)} · relevance {p.similarity:.2f}</div>'
        f"<blockquote>{highlighted(p.text, citation.highlights)}</blockquote>"
        f'<div class="card-links"><a href="#read-{turn}-{citation.number}" class="open-article">'
        f'Read the whole article</a> · <a href="#answer-{turn}">↑ Back to the answer</a></div></div>'
    )


def retrieved_list(passages: Sequence[Passage], cited: dict[str, int], turn: int) -> str:
    """Every retrieved passage, in rank order, with its ranking score and similarity."""
    rows = []
    for rank, p in enumerate(passages, 1):
        number = cited.get(p.chunk_id)
        tag = f" · cited as [{number}]" if number else ""
        rows.append(
            f'<li class="retrieved-passage"><div class="card-title">{_title(p)}</div>'
            f'<div class="meta">#{rank} · score {p.score:.3f} · relevance {p.similarity:.2f}{tag}'
            f"{' · ' + _meta(p) if _meta(p) else ''}</div>"
            f'<div class="passage-text">{_escape(p.text)}</div></li>'
        )
    return f'<ol class="retrieved" id="retrieved-{turn}">{"".join(rows)}</ol>'


def _retrieved_label(count: int) -> str:
    return f"All {count} retrieved passages" if count > 1 else "The retrieved passage"


def answer_html(turn: Turn) -> str:
    """The chat message of a turn: the answer, notices, its sources and every retrieved passage."""
    answer, t = turn.answer, turn.number
    if not answer.passages and turn.filters:
        body = html.escape(f"No articles {turn.filters} in this collection: widen the dates or choose other sources.")
    else:
        body = answer_body(answer, t)
    notices = "".join(f'<div class="notice">⚠️ {_escape(notice)}</div>' for notice in answer.notices)
    cited = {c.passage.chunk_id: c.number for c in answer.citations}
    sources = ""
    if answer.citations:
        cards = "".join(source_card(citation, t) for citation in answer.citations)
        sources = (
            f'<details class="sources" id="sources-{t}"><summary>Sources ({len(answer.citations)})</summary>'
            f"{cards}</details>"
        )
    retrieved = ""
    if answer.passages:
        retrieved = (
            f'<details class="retrieved-block"><summary>{_retrieved_label(len(answer.passages))}</summary>'
            f"{retrieved_list(answer.passages, cited, t)}</details>"
        )
    return (
        f'<div class="answer" id="answer-{t}"><div class="answer-text">{body}</div>{notices}{sources}{retrieved}'
        f'<div class="answer-tools"><button type="button" class="copy-answer">Copy answer</button></div>'
        f'<div class="copy-text" hidden>{html.escape(plain_answer(answer)).replace(chr(10), "&#10;")}</div></div>'
    )


def stage_html(stage: str) -> str:
    return f'<div class="stage">{html.escape(stage)}</div>'


def references(citations: Sequence[Citation]) -> list[str]:
    """One line per cited passage: '[n] Title (date · source) url'."""
    lines = []
    for c in citations:
        p = c.passage
        meta = " · ".join(part for part in (p.date, p.source) if part)
        lines.append(
            " ".join(
                part for part in (f"[{c.number}] {p.title or p.article_id}", f"({meta})" if meta else "", p.url) if part
            )
        )
    return lines


def plain_answer(answer: Answer) -> str:
    """The answer as plain text with its [n] markers and a reference list (what "Copy" gives)."""
    refs = references(answer.citations)
    return answer.text + ("\n\nReferences:\n" + "\n".join(refs) if refs else "")


def plain_conversation(turns: Sequence[Turn]) -> str:
    return "\n\n".join(f"Q: {turn.question}\n\nA: {plain_answer(turn.answer)}" for turn in turns)


def _md_escape(text: str) -> str:
    return re.sub(r"([\\`*_{}\[\]<>#|])", r"\\\1", text)


def conversation_markdown(turns: Sequence[Turn], collection: str) -> str:
    """The conversation as a Markdown document: each question, its answer and its references with quotes."""
    parts = [f"# Conversation with the news articles ({collection})\n"]
    for turn in turns:
        parts.append(f"## {turn.number}. {_md_escape(turn.question)}\n")
        if turn.searched != turn.question:
            parts.append(f"*Searched for: {_md_escape(turn.searched)}*\n")
        parts.append(_md_escape_keep_markers(turn.answer.text) + "\n")
        if turn.answer.citations:
            parts.append("**References**\n")
            for citation in turn.answer.citations:
                p = citation.passage
                title = _md_escape(p.title or p.article_id)
                link = f"[{title}](<{p.url}>)" if p.url.startswith(("http://", "https://")) else title
                meta = " · ".join(_md_escape(part) for part in (p.date, p.source) if part)
                quotes = " … ".join(f"“{_md_escape(p.text[s:e].strip())}”" for s, e in citation.highlights)
                parts.append(f"{citation.number}. {link}{' — ' + meta if meta else ''}  \n   > {quotes}\n")
    return "\n".join(parts)


def _md_escape_keep_markers(text: str) -> str:
    """Escape Markdown in answer text but keep its [n] markers readable."""
    pieces, position = [], 0
    for marker in MARKER.finditer(text):
        pieces.append(_md_escape(text[position : marker.start()]) + marker.group(0))
        position = marker.end()
    return "".join(pieces) + _md_escape(text[position:])


def article_text(chunks: Sequence[ChunkRecord]) -> str:
    """An article's text rebuilt from its (overlapping) chunks by their offsets."""
    text = ""
    for chunk in chunks:
        start = int(chunk.metadata["start"])
        if start > len(text):
            text += " " * (start - len(text))
        text = text[:start] + chunk.text if start + len(chunk.text) > len(text) else text
    return text


def article_html(turn: Turn, number: int, chunks: Sequence[ChunkRecord]) -> str:
    """The whole article of turn's citation `number`, every span the answer cited from it highlighted."""
    citation = next((c for c in turn.answer.citations if c.number == number), None)
    if citation is None or not chunks:
        return '<p class="meta">That article is no longer in the collection.</p>'
    article_id = citation.passage.article_id
    spans = [
        (c.passage.start + start, c.passage.start + end)
        for c in turn.answer.citations
        if c.passage.article_id == article_id
        for start, end in c.highlights
    ]
    p = citation.passage
    numbers = ", ".join(f"[{c.number}]" for c in turn.answer.citations if c.passage.article_id == article_id)
    return (
        f'<div class="article-view" id="article-view"><div class="article-nav"><a href="#answer-{turn.number}">'
        f"← Back to answer {turn.number}</a></div><h3>{_title(p)}</h3>"
        f'<div class="meta">{_meta(p)} · cited as {numbers} in answer {turn.number}</div>'
        f'<div class="article-body">{highlighted(article_text(chunks), spans)}</div></div>'
    )
