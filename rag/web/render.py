"""Web chat rendering: answers, source cards, articles and exports as HTML, plain text and Markdown.

Pure functions of a `Turn` (one question and its answer). Every piece of article text or
model output is HTML-escaped here, and the HTML has no newlines (the chat renders
Markdown around it, and a blank line would end an HTML block). Ids are unique per turn:
the answer of turn t is `answer-t`, its cited cards `cite-t-n`, so markers in an old
answer open that answer's own cards.

An answer's first paragraph is its lead (emphasised when more follows); following lines
that start with "- " (the extractive answerer's supporting quotes) are a list. Under the
text: what was searched, the filters and the timings; the chat shows exactly the text that
"Copy answer" and the Markdown export carry.
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
from rag.text.dates import no_articles_notice

SCORE_HELP = {
    "hybrid": "Ranking score: the BM25 (word) and embedding rankings fused, each adding weight/(k + rank), "
    "plus boosts for sources and dates the question names. Only the order it gives matters.",
    "dense": "Ranking score: the embedding ranking, each ranking adding weight/(k + rank), plus boosts "
    "for sources and dates the question names. Only the order it gives matters.",
    "bm25": "Ranking score: the BM25 (word) ranking, each ranking adding weight/(k + rank), plus boosts "
    "for sources and dates the question names. Only the order it gives matters.",
}
RELEVANCE_HELP = (
    "Relevance: cosine similarity of the question's and the passage's embeddings (0 = unrelated, 1 = same)."
)
RANK_HELP = "Rank: the order the retriever returned the passages in."


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
    retrieved: tuple[Passage, ...] = ()  # every retrieved passage, in retrieval order (default: answer.passages)
    retrieval: str = "hybrid"  # the retrieval mode that ranked them

    @property
    def ranked(self) -> Sequence[Passage]:
        return self.retrieved or self.answer.passages

    @property
    def shown_text(self) -> str:
        """The answer's text as the chat shows it (and copies and exports carry)."""
        if not self.answer.passages and self.filters:
            return no_articles_notice(self.filters)
        return self.answer.text

    def details(self) -> list[str]:
        """What was searched, the filters and the timings (with a chat model's tokens and estimated cost):
        one plain line each."""
        stages = " · ".join(f"{stage} {seconds:.2f} s" for stage, seconds in self.seconds.items())
        timings = f"{len(self.ranked)} passages retrieved" + (f" · {stages}" if stages else "")
        if self.answer.usage is not None:
            timings += f" · {self.answer.usage.model}: {self.answer.usage.line()}"
        return [f"Searched for: {self.searched}", f"Filters: {self.filters or 'none'}", f"Timings: {timings}"]


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


class _Body:
    """Renders ranges of an answer's text: markers linked, unsupported claims flagged, uncited sentences marked."""

    def __init__(self, answer: Answer, turn: int) -> None:
        self.answer, self.turn = answer, turn
        located = located_claims(answer.text) if answer.claims else []
        self.claims = [(claim, span) for claim, (_, _, span) in zip(answer.claims, located, strict=False)]

    def range(self, start: int, end: int) -> str:
        text, parts, position = self.answer.text, [], start
        for claim, (claim_start, claim_end) in self.claims:
            claim_start, claim_end = max(claim_start, start), min(claim_end, end)
            if claim_start < position or claim_start >= claim_end:
                continue
            parts.append(linked_markers(text[position:claim_start], self.turn))
            sentence = text[claim_start:claim_end].rstrip()
            body = linked_markers(sentence, self.turn)
            if not claim.markers and not self.answer.declined and self.answer.citations:
                body = f'<span class="uncited" title="No source cited for this sentence">{body}</span>'
            elif not claim.supported:
                body += _claim_note(claim)
            parts.append(body)
            position = claim_start + len(sentence)
        parts.append(linked_markers(text[position:end], self.turn))
        return "".join(parts)


def _paragraphs(text: str) -> list[tuple[int, int]]:
    """(start, end) of each paragraph (blocks separated by blank lines), stripped."""
    spans = []
    for match in re.finditer(r"\S(?:.|\n(?!\s*\n))*", text):
        spans.append((match.start(), match.start() + len(match.group().rstrip())))
    return spans


def _lines(text: str, start: int, end: int) -> list[tuple[int, int]]:
    spans, position = [], start
    for line in text[start:end].split("\n"):
        if line.strip():
            offset = position + len(line) - len(line.lstrip())
            spans.append((offset, position + len(line.rstrip())))
        position += len(line) + 1
    return spans


def answer_body(answer: Answer, turn: int) -> str:
    """The answer text as HTML: the lead paragraph, then paragraphs or a list of "- " quote lines."""
    body, text = _Body(answer, turn), answer.text
    paragraphs = _paragraphs(text)
    if len(paragraphs) <= 1:
        return body.range(0, len(text))
    parts = [f'<p class="lead">{body.range(*paragraphs[0])}</p>']
    for start, end in paragraphs[1:]:
        lines = _lines(text, start, end)
        if all(text.startswith("- ", line_start) for line_start, _ in lines):
            items = "".join(f"<li>{body.range(line_start + 2, line_end)}</li>" for line_start, line_end in lines)
            parts.append(f'<ul class="quotes">{items}</ul>')
        else:
            parts.append(f"<p>{body.range(start, end)}</p>")
    return "".join(parts)


def merged_spans(text: str, spans: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """The (start, end) spans clipped to `text`, sorted, overlapping ones merged; empty ones dropped."""
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        start, end = max(0, start), min(len(text), end)
        if start >= end:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(start, end) for start, end in merged]


def highlighted(text: str, spans: Sequence[tuple[int, int]], ids: str = "") -> str:
    """Escape `text`, wrapping every (start, end) span in <mark>; overlapping spans are merged.
    With `ids`, the marks are numbered `ids-0`, `ids-1`, … (the reader steps through them)."""
    return _marked(text, merged_spans(text, spans), ids)


def _marked(text: str, marks: Sequence[tuple[int, int]], ids: str) -> str:
    """`text` escaped, each of the sorted, disjoint `marks` wrapped in <mark> (numbered with `ids`)."""
    out, position = [], 0
    for number, (start, end) in enumerate(marks):
        mark = f'<mark id="{ids}-{number}">' if ids else "<mark>"
        out.append(_escape(text[position:start]) + f"{mark}{_escape(text[start:end])}</mark>")
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
        f'<div class="meta">{_meta(p)} · <span title="{RELEVANCE_HELP}">relevance {p.similarity:.2f}</span></div>'
        f"<blockquote>{highlighted(p.text, citation.highlights)}</blockquote>"
        f'<div class="card-links"><a href="#read-{turn}-{citation.number}" class="open-article">'
        f'Read the whole article</a> · <a href="#answer-{turn}" class="back-to-answer">↑ Back to the answer</a>'
        "</div></div>"
    )


def retrieved_list(turn: Turn) -> str:
    """Every retrieved passage in retrieval order: rank, ranking score and relevance (each explained), and
    which were cited."""
    cited = {c.passage.chunk_id: c.number for c in turn.answer.citations}
    score_help = SCORE_HELP.get(turn.retrieval, SCORE_HELP["hybrid"])
    legend = f'<p class="legend">{RANK_HELP} {score_help} {RELEVANCE_HELP}</p>'
    rows = []
    for rank, p in enumerate(turn.ranked, 1):
        number = cited.get(p.chunk_id)
        tag = f" · <strong>cited as [{number}]</strong>" if number else ""
        rows.append(
            f'<li class="retrieved-passage"><div class="card-title">{_title(p)}</div>'
            f'<div class="meta"><span class="rank" title="{RANK_HELP}">#{rank}</span> · '
            f'<span class="score" title="{score_help}">score {p.score:.3f}</span> · '
            f'<span class="relevance" title="{RELEVANCE_HELP}">relevance {p.similarity:.2f}</span>{tag}'
            f"{' · ' + _meta(p) if _meta(p) else ''}</div>"
            f'<div class="passage-text">{_escape(p.text)}</div></li>'
        )
    return f'{legend}<ol class="retrieved" id="retrieved-{turn.number}">{"".join(rows)}</ol>'


def _retrieved_label(count: int) -> str:
    return f"All {count} retrieved passages, in retrieval order" if count > 1 else "The retrieved passage"


def details_html(turn: Turn) -> str:
    searched, filters, timings = turn.details()
    return (
        f'<div class="answer-details" id="details-{turn.number}">'
        f"<div>{html.escape(searched.split(': ', 1)[0])}: <em>{html.escape(turn.searched)}</em></div>"
        f"<div>{html.escape(filters)}</div><div>{html.escape(timings)}</div></div>"
    )


def comment_box(turn: Turn) -> str:
    """Opened by the page script beside the answer when it is rated (👍/👎)."""
    return (
        f'<div class="comment-box" id="comment-box-{turn.number}" hidden>'
        f"<div>Thanks for rating answer {turn.number}. Add a comment (optional):</div>"
        '<div class="comment-text" contenteditable="true" role="textbox" aria-multiline="true" '
        'aria-label="Your comment" title="What was good or wrong?"></div>'
        '<button type="button" class="comment-save">Save comment</button> '
        '<span class="comment-status"></span></div>'
    )


def answer_html(turn: Turn) -> str:
    """The chat message of a turn: the answer, notices, what was searched, its sources and every
    retrieved passage, the copy button and the comment box."""
    answer, t = turn.answer, turn.number
    body = html.escape(turn.shown_text) if turn.shown_text != answer.text else answer_body(answer, t)
    notices = "".join(f'<div class="notice">⚠️ {_escape(notice)}</div>' for notice in answer.notices)
    sources = ""
    if answer.citations:
        cards = "".join(source_card(citation, t) for citation in answer.citations)
        sources = (
            f'<details class="sources" id="sources-{t}"><summary>Sources ({len(answer.citations)})</summary>'
            f"{cards}</details>"
        )
    retrieved = ""
    if turn.ranked:
        retrieved = (
            f'<details class="retrieved-block"><summary>{_retrieved_label(len(turn.ranked))}</summary>'
            f"{retrieved_list(turn)}</details>"
        )
    return (
        f'<div class="answer" id="answer-{t}"><div class="answer-text">{body}</div>{notices}{details_html(turn)}'
        f"{sources}{retrieved}"
        f'<div class="answer-tools"><button type="button" class="copy-answer">Copy answer</button></div>'
        f"{comment_box(turn)}"
        f'<div class="copy-text" hidden>{html.escape(plain_answer(turn)).replace(chr(10), "&#10;")}</div></div>'
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


def plain_answer(turn: Turn) -> str:
    """The answer as plain text, as the chat shows it: its [n] markers, what was searched, the filters,
    the timings and a reference list (what "Copy answer" gives)."""
    refs = references(turn.answer.citations)
    text = turn.shown_text + "\n\n" + "\n".join(turn.details())
    return text + ("\n\nReferences:\n" + "\n".join(refs) if refs else "")


def plain_conversation(turns: Sequence[Turn]) -> str:
    return "\n\n".join(f"Q: {turn.question}\n\nA: {plain_answer(turn)}" for turn in turns)


def _md_escape(text: str) -> str:
    return re.sub(r"([\\`*_{}\[\]<>#|])", r"\\\1", text)


def conversation_markdown(turns: Sequence[Turn], collection: str) -> str:
    """The conversation as a Markdown document: each question, its answer (as the chat shows it), what was
    searched, the filters and timings, and its references with quotes."""
    parts = [f"# Conversation with the news articles ({collection})\n"]
    for turn in turns:
        parts.append(f"## {turn.number}. {_md_escape(turn.question)}\n")
        parts.append(_md_escape_keep_markers(turn.shown_text) + "\n")
        parts.append("  \n".join(f"*{_md_escape(line)}*" for line in turn.details()) + "\n")
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
    """Escape Markdown in answer text but keep its [n] markers readable (and "- " list items as a list)."""
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


def article_html(turn: Turn, number: int, chunks: Sequence[ChunkRecord], nonce: str = "") -> str:
    """The whole article of turn's citation `number`, every span the answer cited from it highlighted and
    numbered (the page script opens the reader at the clicked citation's quote, `data-first`, and steps
    with the previous/next buttons)."""
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
    text = article_text(chunks)
    marks = merged_spans(text, spans)
    body = _marked(text, marks, f"hl-{turn.number}-{number}")
    # the reader opens at the clicked citation's quote (the span of the first claim citing it, so the
    # lead's when the lead cites it), not at the article's first highlight nor the citation's first in the text
    quote = citation.passage.start + citation.quote_start
    first = next((i for i, (start, end) in enumerate(marks) if start <= quote < end), 0)
    count = len(marks)
    p = citation.passage
    numbers = ", ".join(f"[{c.number}]" for c in turn.answer.citations if c.passage.article_id == article_id)
    steps = (
        '<button type="button" class="hl-prev" title="Previous highlight">↑ Previous</button>'
        f'<span class="hl-position">highlight {first + 1} of {count}</span>'
        '<button type="button" class="hl-next" title="Next highlight">↓ Next</button>'
        if count
        else ""
    )
    return (
        f'<div class="article-view" id="article-view-{turn.number}-{number}{"-" + nonce if nonce else ""}"'
        f' data-first="{first}">'
        f'<div class="article-nav"><a href="#answer-{turn.number}" class="back-to-answer">← Back to answer '
        f"{turn.number}</a>{steps}</div><h3>{_title(p)}</h3>"
        f'<div class="meta">{_meta(p)} · cited as {numbers} in answer {turn.number}</div>'
        f'<div class="article-body">{body}</div></div>'
    )
