"""The Library tab's layout: the collection's articles (searchable, newest first) and an
"Add articles" panel (upload files, or paste page and feed URLs). Its actions are
`ChatController` methods (rag.web.controller, rag.web.library).
"""

from __future__ import annotations

import gradio as gr

from rag.web.library import COLUMNS
from rag.web.wiring import Ui


def build_library_tab(ui: Ui) -> None:
    """The Library tab's components, added to `ui` (inside the caller's `gr.Tabs`)."""
    controller = ui.controller
    with gr.Tab("Library", id="library", elem_id="library-tab"):
        with gr.Row():
            ui["library_search"] = gr.Textbox(
                placeholder="Search titles, sources, URLs", show_label=False, elem_id="library-search"
            )
            ui["library_refresh"] = gr.Button("Refresh", elem_id="library-refresh", scale=0)
        ui["library_summary"] = gr.Markdown(
            lambda: controller.library_rows(None, "")["library_summary"], elem_id="library-summary"
        )
        ui["library_table"] = gr.Dataframe(
            lambda: controller.library_rows(None, "")["library_table"],
            headers=COLUMNS,
            interactive=False,
            wrap=True,
            elem_id="library-table",
        )
        with gr.Accordion("Add articles", open=True, elem_id="add-articles"):
            ui["add_files"] = gr.File(
                label="Article files (.txt .md .html .json .jsonl .csv)",
                file_count="multiple",
                type="filepath",
                elem_id="add-files",
            )
            ui["add_urls"] = gr.Textbox(
                label="Page or feed URLs, one a line (prefix feeds with 'feed ')", lines=3, elem_id="add-urls"
            )
            ui["add_button"] = gr.Button("Add articles", variant="primary", elem_id="add-button")
            ui["add_result"] = gr.Markdown(elem_id="add-result")


def wire_library_tab(ui: Ui) -> None:
    controller = ui.controller
    ui.on(
        [ui["library_search"].change, ui["library_refresh"].click, ui["collection"].change],
        controller.library_rows,
        ["collection", "library_search"],
        ["library_table", "library_summary"],
    )

    def add(
        collection: str,
        files: list[str] | None,
        urls: str,
        progress: gr.Progress = gr.Progress(),  # noqa: B008 (Gradio's way to ask for a tracker)
    ) -> dict[gr.components.Component, object]:
        progress(0.1, desc="Fetching and reading articles")
        return ui.updates(controller.add_articles(collection, files, urls))

    ui["add_button"].click(
        add,
        ui.components(["collection", "add_files", "add_urls"]),
        ui.components(["add_result", "library_table", "library_summary", "add_files", "add_urls"]),
        api_visibility="private",
        concurrency_limit=1,  # one writer at a time
        concurrency_id="library-ingest",
    )
