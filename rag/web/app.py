"""Web chat (Gradio): the layout, and events wired to `ChatController` (rag.web.controller).

Layout: settings in a sidebar (collection, sources, dates, top-k, exports); a "Chat"
tab (`build_app(settings, extra_tabs)` adds one tab per function in `extra_tabs`) with the
collection's overview and example questions, the conversation, the active filters next
to the question box, and an article reader; the Library tab (rag.web.library_tab). Each
browser session has its own history (gr.State); the queue bounds concurrent answers.
`/ask` is an API endpoint for gradio_client. Styles and the page script are files:
rag/web/static/app.css and app.js.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import gradio as gr

from rag.config import Settings
from rag.errors import ConfigurationError
from rag.pipeline import Pipelines
from rag.text.dates import QueryFilters
from rag.web.controller import ARTICLE_PLACEHOLDER, ChatController, filters_line
from rag.web.library_tab import build_library_tab, wire_library_tab
from rag.web.limits import is_loopback, read_only_notice, writes_allowed
from rag.web.wiring import Ui, Updates, client_of

log = logging.getLogger("rag.web.app")
STATIC = Path(__file__).resolve().parent / "static"
TURN_INPUTS = ["question", "chat", "turns", "collection", "top_k", "date_from", "date_to", "sources"]
TURN_OUTPUTS = ["chat", "turns", "question", "notice", "transcript", "export_md", "status", "sources"]
RESET = ["chat", "turns", "notice", "transcript", "export_md", "article", "reader"]


def build_sidebar(ui: Ui) -> None:
    controller, overview = ui.controller, ui.controller.overview()
    with gr.Sidebar(label="Settings", elem_id="settings", open=True):
        gr.Markdown("### Settings")
        ui["collection"] = gr.Dropdown(
            controller.pipelines.collections(),
            value=controller.settings.collection,
            label="Collection",
            elem_id="collection",
        )
        ui["sources"] = gr.Dropdown(
            overview.sources, value=[], multiselect=True, label="Sources (none = all)", elem_id="source-filter"
        )
        with gr.Row():
            ui["date_from"] = gr.Textbox(
                label="From date", placeholder="YYYY-MM-DD", elem_id="date-from", min_width=100
            )
            ui["date_to"] = gr.Textbox(label="To date", placeholder="YYYY-MM-DD", elem_id="date-to", min_width=100)
        top_k = controller.existing(None).engine.top_k
        ui["top_k"] = gr.Slider(1, 20, value=top_k, step=1, label="Passages per answer (top-k)")
        gr.Markdown("### Export")
        ui["export_md"] = gr.DownloadButton("Conversation (Markdown)", value=None, elem_id="export-md", size="sm")
        ui["export_tests"] = gr.DownloadButton("Feedback as test set (JSONL)", elem_id="export-feedback", size="sm")


def build_conversation(ui: Ui) -> None:
    """The chat column: messages (each answer with what was searched, its sources and its comment box),
    notices, the filters in force and the question box."""
    ui["copy_all"] = gr.Button("Copy conversation", size="sm", elem_id="copy-conversation")
    ui["chat"] = gr.Chatbot(
        label="Chat",
        height="62vh",
        elem_id="chat",
        sanitize_html=True,
        buttons=[ui["copy_all"]],
        latex_delimiters=[],
        autoscroll=False,  # the page script brings each new question into view and follows its answer
        examples=[{"text": q} for q in ui.controller.overview().examples()],
        placeholder="Answers cite numbered passages; each answer lists its sources below it.",
    )
    ui["notice"] = gr.Markdown(elem_id="notice")
    with gr.Row(equal_height=True, elem_id="filters-row"):
        ui["filters"] = gr.Markdown(filters_line(QueryFilters()), elem_id="filters")
        ui["show_settings"] = gr.Button("⚙ Settings", size="sm", scale=0, min_width=90, elem_id="settings-button")
    with gr.Row(elem_id="question-row"):
        ui["question"] = gr.Textbox(
            placeholder="Ask a question about the articles", show_label=False, scale=5, elem_id="question", max_lines=4
        )
        ui["ask"] = gr.Button("Ask", variant="primary", scale=0, min_width=64, elem_id="ask")
        ui["clear"] = gr.Button("Clear", scale=0, min_width=64, elem_id="clear")


def build_reader(ui: Ui) -> None:
    """The article reader: hidden (no width taken) until an article is opened; its own scroll panel."""
    with gr.Column(scale=2, min_width=300, visible=False, elem_id="reader") as ui["reader"]:
        ui["close_reader"] = gr.Button("✕ Close the article", size="sm", elem_id="close-reader")
        ui["article"] = gr.HTML(ARTICLE_PLACEHOLDER, elem_id="article")


def build_hidden(ui: Ui) -> None:
    """State per session, and the bridges the page script uses (rag/web/static/app.js)."""
    ui["turns"] = gr.State([])
    for name in ("transcript", "article_request", "comment_request", "comment_status"):
        ui[name] = gr.Textbox(visible="hidden", elem_id=name.replace("_", "-"))


def wire_chat(ui: Ui, app: gr.Blocks) -> None:
    controller = ui.controller
    asked = [ui["question"].submit, ui["ask"].click]
    ui.on(asked, controller.turn, TURN_INPUTS, TURN_OUTPUTS, stream=True, client=True, concurrency_limit=None)

    def pick_example(event: gr.SelectData) -> str:
        return str(event.value["text"])

    picked = ui["chat"].example_select(pick_example, None, ui["question"], api_visibility="private")
    ui.on(
        None, controller.turn, TURN_INPUTS, TURN_OUTPUTS, stream=True, then=picked, client=True, concurrency_limit=None
    )
    ui.on([ui["clear"].click, ui["chat"].clear], controller.reset, ["collection"], RESET)
    copy = "(text) => window.ragApp.copy(text)"
    ui["copy_all"].click(None, ui["transcript"], None, js=copy, api_visibility="private")
    opened = ui.on(
        ui["article_request"].change, controller.open_article, ["article_request", "turns", "collection"], RESET[-2:]
    )
    opened.then(None, js="() => window.ragApp.readerOpened()", api_visibility="private")
    ui.on(ui["close_reader"].click, controller.close_reader, [], ["reader", "article"])
    filters = ["date_from", "date_to", "sources"]
    ui.on([ui[name].change for name in filters], controller.show_filters, filters, ["filters"])
    switch = controller.switch_collection
    switched = ui.on(ui["collection"].change, switch, ["collection"], ["status", "sources", *RESET])
    ui.on(None, controller.export_feedback, ["collection"], ["export_tests"], then=switched)
    ui.on(app.load, controller.first_screen, ["collection"], ["status", "sources", "chat"])
    ui["show_settings"].click(None, js="() => window.ragApp.toggleSidebar()", api_visibility="private")


def wire_feedback(ui: Ui, app: gr.Blocks) -> None:
    controller = ui.controller

    def rate(event: gr.LikeData, turns: list[Any], collection: str) -> Updates:
        index = event.index if isinstance(event.index, int) else event.index[0]
        liked = event.liked if isinstance(event.liked, bool) else None
        return ui.updates(controller.rate(index, liked, turns, collection))

    ui["chat"].like(rate, ui.components(["turns", "collection"]), ui["export_tests"], api_visibility="private")
    inputs = ["comment_request", "turns", "collection"]
    saved = ui.on(ui["comment_request"].change, controller.comment, inputs, ["comment_status", "export_tests"])
    saved.then(None, ui["comment_status"], js="(s) => window.ragApp.commentSaved(s)", api_visibility="private")
    ui.on(app.load, controller.export_feedback, ["collection"], ["export_tests"])


def build_app(settings: Settings, extra_tabs: Sequence[Callable[[Pipelines], None]] = ()) -> gr.Blocks:
    """The app: a "Chat" tab, the Library, then one tab per `extra_tabs` function (each builds its own `gr.Tab`)."""
    pipelines = Pipelines(settings)
    controller = ChatController(settings, pipelines)
    controller.ensure_demo()
    ui = Ui(controller)
    with gr.Blocks(title="News RAG chat") as app:
        build_hidden(ui)
        build_sidebar(ui)
        gr.Markdown("## Ask the news articles", elem_id="title")
        ui["status"] = gr.Markdown(controller.status(), elem_id="status")
        with gr.Tabs(elem_id="tabs"):
            with gr.Tab("Chat", id="chat-tab"), gr.Row(equal_height=False, elem_id="chat-row"):
                with gr.Column(scale=3, min_width=320, elem_id="conversation"):
                    build_conversation(ui)
                build_reader(ui)
            build_library_tab(ui)
            for add_tab in extra_tabs:  # one more tab: one more function here
                add_tab(pipelines)
        wire_chat(ui, app)
        wire_feedback(ui, app)
        wire_library_tab(ui, app)
        app.load(None, js="() => window.ragApp.closeSidebarOnPhone()", api_visibility="private")
        gr.api(api_endpoint(controller), api_name="ask", concurrency_limit=None)
    app.queue(default_concurrency_limit=settings.concurrency, max_size=64)
    return app  # type: ignore[no-any-return]


def api_endpoint(controller: ChatController) -> Callable[..., Iterator[dict[str, Any]]]:
    def ask(
        question: str,
        collection: str = "",
        top_k: int = 0,
        history: list[Any] | None = None,
        request: gr.Request = None,  # type: ignore[assignment]  # Gradio passes it
    ) -> Iterator[dict[str, Any]]:
        """Answer a question about the articles, streamed: {"answer": text so far, "done": false} while a chat
        model writes, then {"answer", "searched", "declined", "answerer", "notices", "citations", "claims",
        "done": true}. collection: "" = the default; top_k: 0 = the default; history: the conversation so far,
        [{"question": …, "answer": …}, …], for follow-up questions."""
        yield from controller.api_ask(question, collection, top_k, history, client_of(request))

    return ask


def launch_options(settings: Settings) -> dict[str, Any]:
    """What `Blocks.launch` needs besides the app: styles, script, auth, address."""
    auth = None
    if settings.auth_user and settings.auth_password is not None:
        auth = (settings.auth_user, settings.auth_password.get_secret_value())
    script = (STATIC / "app.js").read_text(encoding="utf-8")
    return {
        "server_name": settings.host,
        "server_port": settings.port,
        "share": settings.share,
        "auth": auth,
        "css_paths": [STATIC / "app.css"],
        "max_file_size": settings.max_upload_bytes,
        "head": f"<script>{script}</script>",
        "footer_links": ["api"],
    }


def serve(settings: Settings) -> None:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    log.setLevel(logging.INFO)
    if not writes_allowed(settings):
        log.warning(read_only_notice(settings))
    elif not is_loopback(settings.host) and not (settings.auth_user and settings.auth_password):
        log.warning(
            "RAG_ALLOW_ANONYMOUS_WRITES=true: anyone who can reach %s may add and remove articles.", settings.host
        )
    ensure_can_listen(settings.host, settings.port)  # before the models load, not after
    build_app(settings).launch(**launch_options(settings))


def ensure_can_listen(host: str, port: int) -> None:
    """A `ConfigurationError` saying what to do when `host:port` cannot be listened on (in use, or an
    address this machine does not have), where Gradio would raise after loading everything."""
    try:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server itself will
            probe.bind((host, port))
    except OSError as error:
        raise ConfigurationError(
            f"Cannot listen on {host}:{port} ({error.strerror or error}): another program may be using the port; "
            "choose another with --port or RAG_PORT, or an address of this machine with --host or RAG_HOST."
        ) from None
