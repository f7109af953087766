"""Web chat (Gradio): streamed, cited answers with follow-up questions.

Layout: settings in a sidebar (collection, sources, dates, top-k, exports); a "Chat"
tab (`build_app(settings, extra_tabs)` adds one tab per function in `extra_tabs`) with the
collection's overview and example questions, the conversation, the active filters next
to the question box, and an article reader. Each answer carries its own sources
(rag.web.render), all retrieved passages, 👍/👎 feedback (rag.web.feedback) and its
per-stage timings. Each browser session has its own history (gr.State); the queue
bounds concurrent answers. `/ask` is an API endpoint for gradio_client.
"""

from __future__ import annotations

import hashlib
import html
import logging
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import gradio as gr

from rag.answer.model import answer_json
from rag.chat import Exchange, check_question
from rag.config import Settings
from rag.errors import RagError, UsageError
from rag.pipeline import Pipeline, Pipelines
from rag.text.dates import QueryFilters
from rag.web.feedback import Feedback, FeedbackStore, Rating, evidence_of
from rag.web.library_tab import build_library_tab
from rag.web.overview import Overview, Overviews
from rag.web.render import Turn, answer_html, article_html, conversation_markdown, plain_conversation, stage_html

log = logging.getLogger("rag.web.app")
DEMO_ARTICLES = Path(__file__).resolve().parents[2] / "demo" / "articles"

CSS = """
.answer .source-card { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 6px 10px; }
.answer .source-card { margin: 6px 0; }
.answer .card-title { font-weight: 600; }
.answer .meta, .article-view .meta { color: var(--body-text-color-subdued); font-size: 0.85em; }
.answer blockquote { margin: 6px 0; }
.answer mark, .article-view mark { background: #fde68a; color: #111; }
.answer details > summary { cursor: pointer; font-weight: 600; margin-top: 6px; }
.answer .unsupported { color: #b45309; font-size: 0.85em; white-space: nowrap; }
.answer .uncited { text-decoration: underline dotted #b45309; }
.answer .notice { color: #b45309; margin-top: 4px; }
.answer .answer-tools { margin-top: 6px; }
.answer .copy-answer { font-size: 0.8em; border: 1px solid var(--border-color-primary); border-radius: 6px; }
.answer .copy-answer { padding: 1px 8px; }
.answer ol.retrieved { padding-left: 1.2em; }
.answer .passage-text { font-size: 0.9em; }
.stage { color: var(--body-text-color-subdued); font-style: italic; }
#chat .bubble-wrap { margin-top: 40px; height: calc(100% - 40px); }
#article .article-body { line-height: 1.5; }
#notice p { color: #b91c1c; margin: 0; }
#filters p { margin: 0; font-size: 0.9em; }
@media (max-width: 767px) { #title { padding-left: 24px; } }
"""

# Plain-text copies and markup-free aria-labels (the chat's own copy would copy the HTML of a message),
# and the bridge from a card's "Read the whole article" link to the app's article reader.
HEAD = """<script>
(() => {
  const plain = (message) => {
    const copy = message.querySelector('.copy-text');
    return copy ? copy.textContent : message.innerText;
  };
  document.addEventListener('click', async (event) => {
    const copyButton = event.target.closest('.copy-answer');
    if (copyButton) {
      event.preventDefault();
      const text = copyButton.closest('.answer').querySelector('.copy-text').textContent;
      await navigator.clipboard.writeText(text);
      copyButton.textContent = 'Copied';
      setTimeout(() => { copyButton.textContent = 'Copy answer'; }, 1500);
      return;
    }
    const open = event.target.closest('a.open-article');
    if (open) {
      event.preventDefault();
      const box = document.querySelector('#article-request textarea');
      const [turn, number] = open.getAttribute('href').split('-').slice(1);  // #read-<turn>-<number>
      box.value = `${turn}:${number}:${Date.now()}`;
      box.dispatchEvent(new Event('input', { bubbles: true }));
      setTimeout(() => {
        document.querySelector('#article-open').click();
        document.querySelector('#article').scrollIntoView({ behavior: 'smooth', block: 'start' });
      }, 100);
    }
  });
  const relabel = () => {
    for (const message of document.querySelectorAll('#chat [data-testid="bot"], #chat [data-testid="user"]')) {
      const who = message.getAttribute('data-testid') === 'bot' ? 'Answer' : 'Question';
      const label = `${who}: ${plain(message).trim()}`;
      if (message.getAttribute('aria-label') !== label) message.setAttribute('aria-label', label);
    }
  };
  new MutationObserver(relabel).observe(document.documentElement, {
    subtree: true, childList: true, characterData: true, attributes: true, attributeFilter: ['aria-label'],
  });
})();
</script>"""


ARTICLE_PLACEHOLDER = (
    '<p class="meta">Open an article from an answer\'s sources ("Read the whole article") to read it here '
    "with the cited passages highlighted.</p>"
)


# The settings sidebar starts open on wide screens only (run once the page is ready).
CLOSE_SIDEBAR_ON_PHONE = """() => {
  const toggle = document.querySelector('#settings.open .toggle-button');
  if (toggle && window.innerWidth < 768) toggle.click();
}"""

TOGGLE_SIDEBAR = "() => document.querySelector('#settings .toggle-button').click()"


def ensure_demo(pipelines: Pipelines) -> str:
    """Ingest the bundled demo article when the default collection is empty; say what happened."""
    pipeline = pipelines.get()
    if pipeline.store.article_count() > 0 or not DEMO_ARTICLES.is_dir():
        return ""
    report = pipeline.ingest([DEMO_ARTICLES], progress=False)
    return f"The collection was empty, so the demo article was ingested ({report.summary()})."


def status_line(pipeline: Pipeline, overview: Overview) -> str:
    return f"{overview.line()} · answerer: **{html.escape(pipeline.engine.answerer_name)}**"


def filters_line(filters: QueryFilters) -> str:
    return f"Filters: {html.escape(filters.describe())}" if filters else "Filters: none (all articles)"


def timings_line(turn: Turn) -> str:
    stages = " · ".join(f"{stage} {seconds:.2f} s" for stage, seconds in turn.seconds.items())
    return f"Searched for: *{html.escape(turn.searched)}* · {len(turn.answer.passages)} passages · {stages}"


def export_file(folder: Path, stem: str, suffix: str, text: str) -> str:
    """Write a download into the app's export folder, named by its content (sessions never clash)."""
    path = folder / f"{stem}-{hashlib.sha256(text.encode('utf-8')).hexdigest()[:16]}{suffix}"
    if not path.exists():
        staging = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
        staging.write_text(text, encoding="utf-8")
        staging.replace(path)
    return str(path)


def build_app(settings: Settings, extra_tabs: Sequence[Callable[[Pipelines], None]] = ()) -> gr.Blocks:
    """The app: a "Chat" tab, then one tab per `extra_tabs` function (each builds its own `gr.Tab`)."""
    pipelines, overviews = Pipelines(settings), Overviews()
    startup_note = ensure_demo(pipelines)
    # Downloads go here; the closures below hold the folder, which is removed when the app is.
    exports = tempfile.TemporaryDirectory(prefix="rag-exports-")

    def existing(collection: str | None) -> Pipeline:
        """An existing collection's pipeline: asking never creates a collection."""
        return pipelines.get(collection or None, create=False)

    first_overview = overviews.of(existing(None).store)

    def respond(
        message: str,
        chat: list[dict[str, Any]],
        turns: list[Turn],
        collection: str,
        top_k: float,
        date_from: str,
        date_to: str,
        sources: list[str] | None,
    ) -> Iterator[tuple[Any, ...]]:
        """Stream one turn: (chat, turns, question box, notice, searched line, transcript, markdown file)."""
        unchanged = gr.skip()
        try:
            question = check_question(message)
            filters = QueryFilters.parse(date_from, date_to, sources)
            pipeline = existing(collection)
        except RagError as error:  # rejected before anything is asked: no bubble, the text stays in the box
            yield chat, turns, message, f"⚠️ {html.escape(str(error))}", unchanged, unchanged, unchanged
            return
        number = len(turns) + 1
        asked = [*chat, {"role": "user", "content": html.escape(question).replace("\n", "<br>")}]
        yield (
            [*asked, {"role": "assistant", "content": stage_html("Searching the articles…")}],
            turns,
            "",
            "",
            unchanged,
            unchanged,
            unchanged,
        )
        history = [Exchange(t.question, t.searched, t.answer.text) for t in turns]
        started = time.perf_counter()
        seconds: dict[str, float] = {}
        answering = "Answering…"
        try:
            for update in pipeline.engine.ask(question, history, filters, int(top_k)):
                if "search" not in seconds:
                    seconds["search"] = time.perf_counter() - started
                    answering = f"Answering from {len(update.passages)} passages…"
                if update.answer is None:
                    text = html.escape(update.text) if update.text else ""
                    reply = stage_html(answering) + (f"<div>{text}</div>" if text else "")
                    yield [*asked, {"role": "assistant", "content": reply}], turns, "", "", *(unchanged,) * 3
                    continue
                seconds["answer"] = time.perf_counter() - started - seconds["search"]
                turn = Turn(
                    number, uuid.uuid4().hex, question, update.searched, update.answer, filters.describe(), seconds
                )
                turns = [*turns, turn]
                yield (
                    [*asked, {"role": "assistant", "content": answer_html(turn)}],
                    turns,
                    "",
                    "",
                    timings_line(turn),
                    plain_conversation(turns),
                    export_file(
                        Path(exports.name), "conversation", ".md", conversation_markdown(turns, pipeline.store.name)
                    ),
                )
        except RagError as error:  # nothing was answered: the conversation is as before, the text back in the box
            yield chat, turns, message, f"⚠️ {html.escape(str(error))}", unchanged, unchanged, unchanged

    def pick_example(event: gr.SelectData) -> str:
        return str(event.value["text"])

    def reset() -> tuple[Any, ...]:
        """One reset for the Clear button and the chat's trash icon: messages, sources, searched line, memory."""
        return [], [], "", "", "", None, ARTICLE_PLACEHOLDER, gr.update(visible=False)

    def open_article(request: str, turns: list[Turn], collection: str) -> str:
        try:
            turn_number, number, _ = request.split(":")
            turn = turns[int(turn_number) - 1]
            citation = next(c for c in turn.answer.citations if c.number == int(number))
            chunks = existing(collection).store.article_chunks(citation.passage.article_id)
        except (ValueError, IndexError, StopIteration):
            return '<p class="meta">That answer is no longer in this conversation.</p>'
        except RagError as error:
            return f'<p class="meta">{html.escape(str(error))}</p>'
        return article_html(turn, int(number), chunks)

    def rate(event: gr.LikeData, turns: list[Turn], collection: str) -> tuple[Any, ...]:
        index = event.index if isinstance(event.index, int) else event.index[0]
        position = index // 2  # every turn is one question and one answer
        if not 0 <= position < len(turns) or event.liked is None:
            return gr.skip(), "", gr.update(visible=False), gr.skip()
        turn = turns[position]
        rating: Rating = "up" if event.liked else "down"
        store = FeedbackStore.for_collection(settings.data_dir, collection or settings.collection)
        store.save(
            Feedback(
                turn.id,
                turn.question,
                turn.searched,
                turn.answer.text,
                rating,
                "",
                turn.answer.declined,
                evidence_of(turn.answer),
            )
        )
        thanks = f"Thanks: answer {turn.number} rated {'👍' if rating == 'up' else '👎'}. Add a comment (optional):"
        return turn.id, thanks, gr.update(visible=True), export_feedback(collection)

    def save_comment(answer_id: str, comment: str, collection: str) -> tuple[Any, ...]:
        store = FeedbackStore.for_collection(settings.data_dir, collection or settings.collection)
        if not comment.strip() or not store.comment(answer_id, comment.strip()):
            return "Type a comment first.", gr.skip(), gr.skip()
        return "Comment saved. Thank you.", "", export_feedback(collection)

    def export_feedback(collection: str) -> str | None:
        store = FeedbackStore.for_collection(settings.data_dir, collection or settings.collection)
        return export_file(Path(exports.name), f"{store.path.stem}-feedback-testset", ".jsonl", store.testset_jsonl())

    def show_filters(date_from: str, date_to: str, sources: list[str] | None) -> str:
        try:
            return filters_line(QueryFilters.parse(date_from, date_to, sources))
        except UsageError as error:
            return f"⚠️ {html.escape(str(error))}"

    def switch_collection(collection: str) -> tuple[Any, ...]:
        try:
            pipeline = existing(collection)
            overview = overviews.of(pipeline.store)
            status = status_line(pipeline, overview)
        except RagError as error:
            return f"⚠️ {html.escape(str(error))}", gr.skip(), gr.skip(), *reset()[1:]
        examples = [{"text": q} for q in overview.examples()]
        return (
            status,
            gr.update(choices=overview.sources, value=[]),
            gr.update(value=[], examples=examples),
            *reset()[1:],
        )

    def api_ask(question: str, collection: str = "", top_k: int = 0) -> dict[str, Any]:
        """Answer one question; returns the answer, the searched query and the cited passages."""
        try:
            pipeline = existing(collection)
            final = pipeline.engine.answer(question, top_k=top_k or None)
        except RagError as error:
            return {"error": str(error)}
        assert final.answer is not None
        return answer_json(final.answer, final.searched)

    with gr.Blocks(title="News RAG chat") as app:
        turns = gr.State([])
        rated = gr.State("")
        with gr.Sidebar(label="Settings", elem_id="settings", open=True):
            gr.Markdown("### Settings")
            collection = gr.Dropdown(
                pipelines.collections(), value=settings.collection, label="Collection", elem_id="collection"
            )
            sources = gr.Dropdown(
                first_overview.sources,
                value=[],
                multiselect=True,
                label="Sources (none = all)",
                elem_id="source-filter",
            )
            with gr.Row():
                date_from = gr.Textbox(label="From date", placeholder="YYYY-MM-DD", elem_id="date-from", min_width=100)
                date_to = gr.Textbox(label="To date", placeholder="YYYY-MM-DD", elem_id="date-to", min_width=100)
            top_k = gr.Slider(1, 20, value=existing(None).engine.top_k, step=1, label="Passages per answer (top-k)")
            gr.Markdown("### Export")
            export_md = gr.DownloadButton("Conversation (Markdown)", value=None, elem_id="export-md", size="sm")
            export_tests = gr.DownloadButton("Feedback as test set (JSONL)", elem_id="export-feedback", size="sm")
        gr.Markdown("## Ask the news articles", elem_id="title")
        status = gr.Markdown(
            status_line(existing(None), first_overview) + (f"\n\n{startup_note}" if startup_note else ""),
            elem_id="status",
        )
        with gr.Tabs(elem_id="tabs"):
            with gr.Tab("Chat", id="chat-tab"), gr.Row(equal_height=False):
                with gr.Column(scale=3, min_width=320):
                    copy_all = gr.Button("Copy conversation", size="sm", elem_id="copy-conversation")
                    chatbot = gr.Chatbot(
                        label="Chat",
                        height="62vh",
                        elem_id="chat",
                        sanitize_html=True,
                        buttons=[copy_all],
                        latex_delimiters=[],
                        examples=[{"text": q} for q in first_overview.examples()],
                        placeholder="Answers cite numbered passages; each answer lists its sources below it.",
                    )
                    notice = gr.Markdown(elem_id="notice")
                    with gr.Row(equal_height=True):
                        active_filters = gr.Markdown(filters_line(QueryFilters()), elem_id="filters")
                        show_settings = gr.Button(
                            "⚙ Settings", size="sm", scale=0, min_width=90, elem_id="settings-button"
                        )
                    with gr.Row():
                        question = gr.Textbox(
                            placeholder="Ask a question about the articles",
                            show_label=False,
                            scale=5,
                            elem_id="question",
                            max_lines=4,
                        )
                        send = gr.Button("Ask", variant="primary", scale=0, min_width=64, elem_id="ask")
                        clear = gr.Button("Clear", scale=0, min_width=64, elem_id="clear")
                    searched = gr.Markdown(elem_id="searched")
                    with gr.Row(visible=False, elem_id="feedback") as feedback_row:
                        thanks = gr.Markdown(elem_id="feedback-thanks")
                        comment = gr.Textbox(
                            show_label=False, placeholder="What was good or wrong?", elem_id="comment", scale=4
                        )
                        save = gr.Button("Save comment", size="sm", scale=1, elem_id="save-comment")
                with gr.Column(scale=2, min_width=300):
                    article = gr.HTML(ARTICLE_PLACEHOLDER, elem_id="article")
            build_library_tab(pipelines.get, collection, settings.data_dir)
            for add_tab in extra_tabs:  # one more tab: one more function here
                add_tab(pipelines)
        transcript = gr.Textbox(visible="hidden", elem_id="transcript")
        article_request = gr.Textbox(visible="hidden", elem_id="article-request")
        article_open = gr.Button(visible="hidden", elem_id="article-open")

        inputs = [question, chatbot, turns, collection, top_k, date_from, date_to, sources]
        outputs = [chatbot, turns, question, notice, searched, transcript, export_md]
        for trigger in (question.submit, send.click):
            trigger(respond, inputs, outputs, api_visibility="private", show_progress="hidden")
        chatbot.example_select(pick_example, None, question, api_visibility="private", show_progress="hidden").then(
            respond, inputs, outputs, api_visibility="private", show_progress="hidden"
        )
        resets = [chatbot, turns, searched, notice, transcript, export_md, article, feedback_row]
        clear.click(reset, None, resets, api_visibility="private", show_progress="hidden")
        chatbot.clear(reset, None, resets, api_visibility="private", show_progress="hidden")
        copy_all.click(
            None, transcript, None, js="(text) => navigator.clipboard.writeText(text)", api_visibility="private"
        )
        article_open.click(open_article, [article_request, turns, collection], article, api_visibility="private")
        chatbot.like(rate, [turns, collection], [rated, thanks, feedback_row, export_tests], api_visibility="private")
        save.click(
            save_comment, [rated, comment, collection], [thanks, comment, export_tests], api_visibility="private"
        )
        app.load(export_feedback, collection, export_tests, api_visibility="private")
        for box in (date_from, date_to, sources):
            box.change(show_filters, [date_from, date_to, sources], active_filters, api_visibility="private")
        collection.change(
            switch_collection,
            collection,
            [status, sources, chatbot, turns, searched, notice, transcript, export_md, article, feedback_row],
            api_visibility="private",
        ).then(export_feedback, collection, export_tests, api_visibility="private")
        app.load(None, js=CLOSE_SIDEBAR_ON_PHONE, api_visibility="private")
        show_settings.click(None, js=TOGGLE_SIDEBAR, api_visibility="private")
        gr.api(api_ask, api_name="ask")
    app.queue(default_concurrency_limit=settings.concurrency, max_size=64)
    return app  # type: ignore[no-any-return]


def launch_options(settings: Settings) -> dict[str, Any]:
    """What `Blocks.launch` needs besides the app: CSS, script, auth, address."""
    auth = None
    if settings.auth_user and settings.auth_password is not None:
        auth = (settings.auth_user, settings.auth_password.get_secret_value())
    return {
        "server_name": settings.host,
        "server_port": settings.port,
        "share": settings.share,
        "auth": auth,
        "css": CSS,
        "head": HEAD,
        "footer_links": ["api"],
    }


def serve(settings: Settings) -> None:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    log.setLevel(logging.INFO)
    build_app(settings).launch(**launch_options(settings))
