"""The Library tab's layout: the collection's articles (searchable, newest first; each with a
Remove button), removal by source, and an "Add articles" panel (upload files, or paste page
and feed URLs). Removals ask for a confirmation first. Its actions are `ChatController`
methods (rag.web.controller, rag.web.library).
"""

from __future__ import annotations

import gradio as gr

from rag.ingest.files import SUPPORTED_SUFFIXES
from rag.web.wiring import Ui

LIBRARY_VIEW = ["library_table", "library_summary", "remove_source"]
CONFIRM = ["pending", "confirm_text", "confirm_row", "library_result"]


def build_library_tab(ui: Ui) -> None:
    """The Library tab's components, added to `ui` (inside the caller's `gr.Tabs`)."""
    with gr.Tab("Library", id="library", elem_id="library-tab"):
        with gr.Row():
            ui["library_search"] = gr.Textbox(
                placeholder="Search titles, sources, URLs", show_label=False, elem_id="library-search", scale=4
            )
            ui["library_refresh"] = gr.Button("Refresh", elem_id="library-refresh", scale=0, min_width=80)
        ui["library_summary"] = gr.Markdown(elem_id="library-summary")
        ui["library_result"] = gr.Markdown(elem_id="library-result")
        if not ui.controller.writable:  # read-only: the table only (rag.web.limits)
            ui["library_table"] = gr.HTML(elem_id="library-table")
            return
        with gr.Row(visible=False, elem_id="confirm-removal") as ui["confirm_row"]:
            ui["confirm_text"] = gr.Markdown(elem_id="confirm-text")
            ui["confirm"] = gr.Button("Remove", variant="stop", size="sm", scale=0, min_width=90, elem_id="confirm")
            ui["cancel"] = gr.Button("Cancel", size="sm", scale=0, min_width=90, elem_id="cancel")
        ui["library_table"] = gr.HTML(elem_id="library-table")
        with gr.Accordion("Remove all articles of a source", open=False, elem_id="remove-by-source"), gr.Row():
            ui["remove_source"] = gr.Dropdown([], label="Source", elem_id="remove-source", scale=3)
            ui["remove_source_button"] = gr.Button("Remove…", scale=0, min_width=90, elem_id="remove-source-button")
        with gr.Accordion("Add articles", open=True, elem_id="add-articles"):
            ui["add_files"] = gr.File(
                label="Article files (.txt .md .html .json .jsonl .csv)",
                file_count="multiple",
                file_types=list(SUPPORTED_SUFFIXES),
                type="filepath",
                elem_id="add-files",
            )
            ui["add_urls"] = gr.Textbox(
                label="Page or feed URLs, one a line (prefix feeds with 'feed ')", lines=3, elem_id="add-urls"
            )
            ui["add_button"] = gr.Button("Add articles", variant="primary", elem_id="add-button")
            ui["add_result"] = gr.Markdown(elem_id="add-result")
        ui["remove_request"] = gr.Textbox(visible="hidden", elem_id="remove-request")
        ui["pending"] = gr.State([])


def wire_library_tab(ui: Ui, app: gr.Blocks) -> None:
    """The Library's events; after every change the chat's overview and source filter follow."""
    controller = ui.controller
    triggers = [ui["library_search"].change, ui["library_refresh"].click, ui["collection"].change, app.load]
    if not controller.writable:  # nothing to write with: no write events at all
        ui.on(triggers, controller.library_view, ["collection", "library_search"], LIBRARY_VIEW[:2])
        return
    ui.on(triggers, controller.library_view, ["collection", "library_search"], LIBRARY_VIEW)
    refresh = (controller.refresh_overview, ["collection", "sources"], ["status", "sources"])
    added = ui.on(
        ui["add_button"].click,
        controller.add_articles,
        ["collection", "add_files", "add_urls"],
        ["add_result", "add_files", "add_urls", *LIBRARY_VIEW],
        stream=True,
        concurrency_limit=1,  # one writer at a time
        concurrency_id="library-write",
    )
    ui.on(None, *refresh, then=added)
    confirm = "() => window.ragApp.showConfirmation()"
    asked = ui.on(ui["remove_request"].change, controller.ask_removal, ["remove_request", "collection"], CONFIRM)
    asked.then(None, js=confirm, api_visibility="private")
    inputs = ["remove_source", "collection"]
    asked = ui.on(ui["remove_source_button"].click, controller.ask_source_removal, inputs, CONFIRM)
    asked.then(None, js=confirm, api_visibility="private")
    removed = ui.on(
        ui["confirm"].click,
        controller.remove_pending,
        ["pending", "collection", "library_search"],
        [*CONFIRM, *LIBRARY_VIEW],
        concurrency_limit=1,
        concurrency_id="library-write",
    )
    ui.on(None, *refresh, then=removed)
    ui.on(ui["cancel"].click, controller.cancel_removal, [], CONFIRM[:3])
