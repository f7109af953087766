"""Web chat (Gradio): streamed, cited answers with follow-up questions.

Layout: the conversation on the left; on the right the cited passages (title, date,
source, score, the passage with the supporting sentence highlighted) and the query that
was actually searched. Settings: collection, top-k, date range. Every piece of article
text or model output is HTML-escaped before it reaches the page. Each browser session
has its own history (gr.State); the queue bounds concurrent answers. `ask` is also
exposed as an API endpoint for gradio_client.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gradio as gr

from rag.answering import Answer, Citation, answer_json
from rag.chat import Exchange, TurnUpdate
from rag.citations import MARKER
from rag.config import Settings
from rag.dates import QueryFilters
from rag.errors import RagError
from rag.pipeline import Pipeline, Pipelines

log = logging.getLogger("rag.web")
DEMO_ARTICLES = Path(__file__).resolve().parent.parent / "demo" / "articles"

CSS = """
.source-card {
    border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 6px 10px; margin-bottom: 8px;
}
.source-card summary { cursor: pointer; font-weight: 600; }
.source-card .meta { color: var(--body-text-color-subdued); font-size: 0.85em; }
.source-card blockquote { margin: 6px 0; white-space: pre-wrap; }
.source-card mark { background: #fde68a; color: inherit; }
"""


def ensure_demo(pipelines: Pipelines) -> str:
    """Ingest the bundled demo article when the default collection is empty; say what happened."""
    pipeline = pipelines.get()
    if pipeline.store.article_count() > 0 or not DEMO_ARTICLES.is_dir():
        return ""
    report = pipeline.ingest([DEMO_ARTICLES], progress=False)
    return f"The collection was empty, so the demo article was ingested ({report.summary()})."


def status_line(pipeline: Pipeline) -> str:
    store = pipeline.store
    return (
        f"Collection **{html.escape(store.name)}**: {_count(store.article_count(), 'article')}, "
        f"{_count(store.chunk_count(), 'chunk')} · answerer: **{html.escape(pipeline.engine.answerer_name)}**"
    )


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def linked_markers(text: str) -> str:
    """Escape answer text and turn each number of its [n] / [n, m] markers into a link to its source card."""

    def link(marker: re.Match[str]) -> str:
        numbers = re.split(r"\s*[,;]\s*", marker.group(1))
        return ", ".join(f'<a href="#cite-{n}">[{n}]</a>' for n in numbers)

    return MARKER.sub(link, html.escape(text))


def source_card(citation: Citation) -> str:
    p = citation.passage
    title = html.escape(p.title or p.article_id)
    if p.url.startswith(("http://", "https://")):
        title = f'<a href="{html.escape(p.url, quote=True)}" target="_blank" rel="noopener noreferrer">{title}</a>'
    meta = " · ".join(html.escape(part) for part in (p.date, p.source) if part)
    text = p.text
    body = (
        html.escape(text[: citation.quote_start])
        + f"<mark>{html.escape(citation.quote)}</mark>"
        + html.escape(text[citation.quote_end :])
    )
    return (
        f'<details class="source-card" id="cite-{citation.number}" open>'
        f"<summary>[{citation.number}] {title}</summary>"
        f'<div class="meta">{meta} · score {p.similarity:.2f}</div>'
        f"<blockquote>{body}</blockquote></details>"
    )


def sources_html(answer: Answer | None) -> str:
    if answer is None or not answer.citations:
        return "<p class='meta'>No passages cited.</p>" if answer is not None else ""
    return "".join(source_card(citation) for citation in answer.citations)


def render_turn(update: TurnUpdate) -> str:
    if update.answer is None:
        return html.escape(update.text) or "…"
    notes = "".join(f"\n\n> ⚠️ {html.escape(notice)}" for notice in update.answer.notices)
    return linked_markers(update.answer.text) + notes


def build_app(settings: Settings) -> gr.Blocks:
    pipelines = Pipelines(settings)
    startup_note = ensure_demo(pipelines)

    def respond(
        message: str,
        chat: list[dict[str, Any]],
        exchanges: list[Exchange],
        collection: str,
        top_k: float,
        date_from: str,
        date_to: str,
    ) -> Iterator[tuple[Any, ...]]:
        chat = [*chat, {"role": "user", "content": html.escape(message)}]
        searched, sources = "", ""
        try:
            pipeline = pipelines.get(collection)
            filters = QueryFilters.parse(date_from, date_to)
            for update in pipeline.engine.ask(message, exchanges, filters, int(top_k)):
                searched = f"Searched for: *{html.escape(update.searched)}*"
                if update.answer is not None:
                    sources = sources_html(update.answer)
                    exchanges = [*exchanges, Exchange(message, update.searched, update.answer.text)]
                reply = {"role": "assistant", "content": render_turn(update)}
                yield [*chat, reply], sources, searched, exchanges, ""
        except RagError as error:
            yield (
                [*chat, {"role": "assistant", "content": html.escape(str(error))}],
                sources,
                searched,
                exchanges,
                message,
            )
        except Exception as error:  # never show a traceback in the page; it goes to the server log
            log.exception("answering failed")
            text = f"Sorry, answering failed ({type(error).__name__}). The details are in the server log."
            yield [*chat, {"role": "assistant", "content": text}], sources, searched, exchanges, message

    def api_ask(question: str, collection: str = "", top_k: int = 0) -> dict[str, Any]:
        """Answer one question; returns the answer, the searched query and the cited passages."""
        pipeline = pipelines.get(collection or None)
        try:
            final = pipeline.engine.answer(question, top_k=top_k or None)
        except RagError as error:
            return {"error": str(error)}
        assert final.answer is not None
        return answer_json(final.answer, final.searched)

    app = gr.Blocks(title="News RAG chat")
    with app:
        gr.Markdown("## Ask the news articles\nAnswers cite numbered passages; the cited passages appear on the right.")
        status = gr.Markdown(
            status_line(pipelines.get()) + (f"\n\n{startup_note}" if startup_note else ""), elem_id="status"
        )
        exchanges = gr.State([])
        with gr.Row():
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(
                    label="Chat", height=480, elem_id="chat", sanitize_html=True, feedback_options=None
                )
                with gr.Row():
                    question = gr.Textbox(
                        placeholder="e.g. What guarantees does Kyiv want?",
                        show_label=False,
                        scale=5,
                        elem_id="question",
                        max_lines=4,
                    )
                    send = gr.Button("Ask", variant="primary", scale=1, elem_id="ask")
                searched = gr.Markdown(elem_id="searched")
                clear = gr.Button("Clear chat", elem_id="clear")
            with gr.Column(scale=2):
                gr.Markdown("### Cited passages")
                sources = gr.HTML(elem_id="sources")
                with gr.Accordion("Settings", open=False):
                    collection = gr.Dropdown(
                        pipelines.collections(), value=settings.collection, label="Collection", allow_custom_value=True
                    )
                    top_k = gr.Slider(
                        1, 20, value=pipelines.get().engine.top_k, step=1, label="Passages to retrieve (top-k)"
                    )
                    date_from = gr.Textbox(label="From date (YYYY-MM-DD)", elem_id="date-from")
                    date_to = gr.Textbox(label="To date (YYYY-MM-DD)", elem_id="date-to")
        inputs = [question, chatbot, exchanges, collection, top_k, date_from, date_to]
        outputs = [chatbot, sources, searched, exchanges, question]

        def refresh_status(name: str) -> str:
            return status_line(pipelines.get(name))

        for trigger in (question.submit, send.click):
            trigger(respond, inputs, outputs, api_visibility="private").then(
                refresh_status, collection, status, api_visibility="private"
            )
        clear.click(lambda: ([], "", "", []), None, [chatbot, sources, searched, exchanges], api_visibility="private")
        collection.change(refresh_status, collection, status, api_visibility="private")
        gr.api(api_ask, api_name="ask")
    app.queue(default_concurrency_limit=settings.concurrency, max_size=64)
    return app


def serve(settings: Settings) -> None:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    log.setLevel(logging.INFO)
    app = build_app(settings)
    auth = None
    if settings.auth_user and settings.auth_password is not None:
        auth = (settings.auth_user, settings.auth_password.get_secret_value())
    app.launch(
        server_name=settings.host,
        server_port=settings.port,
        share=settings.share,
        auth=auth,
        css=CSS,
        footer_links=["api"],
    )
