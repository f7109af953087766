"""The web app's handlers, without Gradio: `ChatController`.

Every user action of the app is a method here: a chat turn (streamed), the filters line,
reset, opening a cited article, feedback (rate, comment, export), switching collections,
the `/ask` API and the Library's actions. A method takes the values of the components it
reads and returns (or yields, while an answer streams) a `Change`: the new values of the
components it changes, by name (`"chat"`, `"turns"`, `"notice"`, …); a name left out keeps
its value. `rag.web.app` lays out the components and maps names to them, so these methods
run in-process in unit tests with fake pipelines (tests/web/test_controller.py).

A value is a component's plain value, or `Options` (a dropdown's choices), `Examples`
(the chat's example questions) or `Shown` (a component's visibility).
"""

from __future__ import annotations

import hashlib
import html
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from rag.answer.model import answer_json
from rag.chat import Exchange, check_question
from rag.config import Settings
from rag.errors import RagError, UsageError
from rag.pipeline import Pipeline
from rag.text.dates import QueryFilters
from rag.web import library
from rag.web.feedback import Feedback, FeedbackStore, Rating, evidence_of
from rag.web.overview import Overview, Overviews
from rag.web.render import Turn, answer_html, article_html, conversation_markdown, plain_conversation, stage_html

Change = dict[str, Any]
DEMO_ARTICLES = Path(__file__).resolve().parents[2] / "demo" / "articles"
ARTICLE_PLACEHOLDER = (
    '<p class="meta">Open an article from an answer\'s sources ("Read the whole article") to read it here '
    "with the cited passages highlighted.</p>"
)


@dataclass(frozen=True)
class Options:
    """A dropdown's choices and its selected values."""

    choices: list[str]
    value: list[str]


@dataclass(frozen=True)
class Examples:
    """The chat's example questions (the conversation itself is emptied)."""

    questions: list[str]


@dataclass(frozen=True)
class Shown:
    """A component shown or hidden."""

    visible: bool


class PipelineSource(Protocol):
    """Where the controller gets a collection's pipeline (rag.pipeline.Pipelines, or a fake in tests)."""

    def get(self, collection: str | None = None, create: bool = True) -> Pipeline: ...

    def collections(self) -> list[str]: ...


def status_line(pipeline: Pipeline, overview: Overview) -> str:
    return f"{overview.line()} · answerer: **{html.escape(pipeline.engine.answerer_name)}**"


def filters_line(filters: QueryFilters) -> str:
    return f"Filters: {html.escape(filters.describe())}" if filters else "Filters: none (all articles)"


def timings_line(turn: Turn) -> str:
    stages = " · ".join(f"{stage} {seconds:.2f} s" for stage, seconds in turn.seconds.items())
    return f"Searched for: *{html.escape(turn.searched)}* · {len(turn.answer.passages)} passages · {stages}"


def warning(error: BaseException) -> str:
    return f"⚠️ {html.escape(str(error), quote=False)}"


class ChatController:
    """The app's handlers over one set of pipelines; one controller serves every browser session."""

    def __init__(self, settings: Settings, pipelines: PipelineSource) -> None:
        self.settings, self.pipelines = settings, pipelines
        self.overviews = Overviews()
        # Downloads go here; the folder is removed when the controller is.
        self._exports = tempfile.TemporaryDirectory(prefix="rag-exports-")
        self.exports = Path(self._exports.name)

    # --- collections and the first screen --------------------------------------------------------
    def existing(self, collection: str | None) -> Pipeline:
        """An existing collection's pipeline: asking never creates a collection."""
        return self.pipelines.get(collection or None, create=False)

    def ensure_demo(self) -> str:
        """Ingest the bundled demo article when the default collection is empty; say what happened."""
        pipeline = self.pipelines.get()
        if pipeline.store.article_count() > 0 or not DEMO_ARTICLES.is_dir():
            return ""
        report = pipeline.ingest([DEMO_ARTICLES], progress=False)
        return f"The collection was empty, so the demo article was ingested ({report.summary()})."

    def overview(self, collection: str | None = None) -> Overview:
        return self.overviews.of(self.existing(collection).store)

    def status(self, collection: str | None = None) -> str:
        pipeline = self.existing(collection)
        return status_line(pipeline, self.overviews.of(pipeline.store))

    def switch_collection(self, collection: str) -> Change:
        """Another collection: its overview, sources and examples; the conversation starts over."""
        try:
            pipeline = self.existing(collection)
            overview = self.overviews.of(pipeline.store)
        except RagError as error:
            return {"status": warning(error), **{k: v for k, v in self.reset().items() if k != "chat"}}
        return {
            "status": status_line(pipeline, overview),
            "sources": Options(overview.sources, []),
            **self.reset(),
            "chat": Examples(overview.examples()),
        }

    # --- a turn ---------------------------------------------------------------------------------
    def turn(
        self,
        message: str,
        chat: list[dict[str, Any]],
        turns: list[Turn],
        collection: str,
        top_k: float,
        date_from: str,
        date_to: str,
        sources: list[str] | None,
    ) -> Iterator[Change]:
        """Stream one turn: the stage, the answer as it grows, then the answer with its sources."""
        try:
            question = check_question(message)
            filters = QueryFilters.parse(date_from, date_to, sources)
            pipeline = self.existing(collection)
        except RagError as error:  # rejected before anything is asked: no bubble, the text stays in the box
            yield {"chat": chat, "turns": turns, "question": message, "notice": warning(error)}
            return
        asked = [*chat, {"role": "user", "content": html.escape(question).replace("\n", "<br>")}]
        yield {"chat": [*asked, _reply(stage_html("Searching the articles…"))], "question": "", "notice": ""}
        try:
            yield from self._answer(pipeline, question, asked, turns, filters, int(top_k))
        except RagError as error:  # nothing was answered: the conversation is as before, the text back in the box
            yield {"chat": chat, "turns": turns, "question": message, "notice": warning(error)}

    def _answer(
        self,
        pipeline: Pipeline,
        question: str,
        asked: list[dict[str, Any]],
        turns: list[Turn],
        filters: QueryFilters,
        top_k: int,
    ) -> Iterator[Change]:
        history = [Exchange(t.question, t.searched, t.answer.text) for t in turns]
        started = time.perf_counter()
        seconds: dict[str, float] = {}
        stage = "Answering…"
        for update in pipeline.engine.ask(question, history, filters, top_k):
            if "search" not in seconds:
                seconds["search"] = time.perf_counter() - started
                stage = f"Answering from {len(update.passages)} passages…"
            if update.answer is None:
                text = f"<div>{html.escape(update.text)}</div>" if update.text else ""
                yield {"chat": [*asked, _reply(stage_html(stage) + text)]}
                continue
            seconds["answer"] = time.perf_counter() - started - seconds["search"]
            turn = Turn(
                len(turns) + 1, uuid.uuid4().hex, question, update.searched, update.answer, filters.describe(), seconds
            )
            done = [*turns, turn]
            markdown = conversation_markdown(done, pipeline.store.name)
            yield {
                "chat": [*asked, _reply(answer_html(turn))],
                "turns": done,
                "searched": timings_line(turn),
                "transcript": plain_conversation(done),
                "export_md": self.export_file("conversation", ".md", markdown),
            }

    def reset(self) -> Change:
        """One reset for the Clear button and the chat's trash icon: messages, sources, searched line, memory."""
        return {
            "chat": [],
            "turns": [],
            "searched": "",
            "notice": "",
            "transcript": "",
            "export_md": None,
            "article": ARTICLE_PLACEHOLDER,
            "feedback_row": Shown(False),
        }

    def show_filters(self, date_from: str, date_to: str, sources: list[str] | None) -> Change:
        try:
            return {"filters": filters_line(QueryFilters.parse(date_from, date_to, sources))}
        except UsageError as error:
            return {"filters": warning(error)}

    # --- the article reader ---------------------------------------------------------------------------
    def open_article(self, request: str, turns: list[Turn], collection: str) -> Change:
        """`request` is 'turn:number:nonce' (set by the page's script when a card's link is clicked)."""
        try:
            turn_number, number, _ = request.split(":")
            turn = turns[int(turn_number) - 1]
            citation = next(c for c in turn.answer.citations if c.number == int(number))
            chunks = self.existing(collection).store.article_chunks(citation.passage.article_id)
        except (ValueError, IndexError, StopIteration):
            return {"article": '<p class="meta">That answer is no longer in this conversation.</p>'}
        except RagError as error:
            return {"article": f'<p class="meta">{html.escape(str(error))}</p>'}
        return {"article": article_html(turn, int(number), chunks)}

    # --- feedback ----------------------------------------------------------------------------------------
    def feedback_store(self, collection: str | None) -> FeedbackStore:
        return FeedbackStore.for_collection(self.settings.data_dir, collection or self.settings.collection)

    def rate(self, index: int, liked: bool | None, turns: list[Turn], collection: str) -> Change:
        """👍/👎 on the chat's message `index` (every turn is one question and one answer)."""
        position = index // 2
        if not 0 <= position < len(turns) or liked is None:
            return {"thanks": "", "feedback_row": Shown(False)}
        turn = turns[position]
        rating: Rating = "up" if liked else "down"
        answer = turn.answer
        self.feedback_store(collection).save(
            Feedback(
                turn.id, turn.question, turn.searched, answer.text, rating, "", answer.declined, evidence_of(answer)
            )
        )
        thanks = f"Thanks: answer {turn.number} rated {'👍' if rating == 'up' else '👎'}. Add a comment (optional):"
        return {"rated": turn.id, "thanks": thanks, "feedback_row": Shown(True), **self.export_feedback(collection)}

    def comment(self, answer_id: str, comment: str, collection: str) -> Change:
        if not comment.strip() or not self.feedback_store(collection).comment(answer_id, comment.strip()):
            return {"thanks": "Type a comment first."}
        return {"thanks": "Comment saved. Thank you.", "comment": "", **self.export_feedback(collection)}

    def export_feedback(self, collection: str | None) -> Change:
        store = self.feedback_store(collection)
        return {
            "export_tests": self.export_file(f"{store.path.stem}-feedback-testset", ".jsonl", store.testset_jsonl())
        }

    def export_file(self, stem: str, suffix: str, text: str) -> str:
        """Write a download into the export folder, named by its content (sessions never clash)."""
        path = self.exports / f"{stem}-{hashlib.sha256(text.encode('utf-8')).hexdigest()[:16]}{suffix}"
        if not path.exists():
            staging = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
            staging.write_text(text, encoding="utf-8")
            staging.replace(path)
        return str(path)

    # --- the API ---------------------------------------------------------------------------------------------
    def api_ask(self, question: str, collection: str = "", top_k: int = 0) -> dict[str, Any]:
        """Answer one question; returns the answer, the searched query and the cited passages."""
        try:
            final = self.existing(collection).engine.answer(question, top_k=top_k or None)
        except RagError as error:
            return {"error": str(error)}
        assert final.answer is not None
        return answer_json(final.answer, final.searched)

    # --- the Library -------------------------------------------------------------------------------------------
    def library_rows(self, collection: str | None, query: str) -> Change:
        try:
            rows, summary = library.rows(self.pipelines.get(collection or None), query)
        except RagError as error:
            return {"library_table": [], "library_summary": html.escape(str(error))}
        return {"library_table": rows, "library_summary": summary}

    def add_articles(self, collection: str, files: list[str] | None, urls: str) -> Change:
        """Ingest uploaded files and pasted URLs; the report, the table, and the boxes emptied on success."""
        try:
            report = library.add(self.pipelines.get(collection or None), files or [], urls or "", self.uploads)
            change: Change = {"add_result": report, "add_urls": ""}
        except RagError as error:
            change = {"add_result": f"**Nothing added:** {html.escape(str(error), quote=False)}"}
        return {**change, "add_files": None, **self.library_rows(collection, "")}

    @property
    def uploads(self) -> Path:
        return self.settings.data_dir / "uploads"


def _reply(content: str) -> dict[str, Any]:
    return {"role": "assistant", "content": content}
