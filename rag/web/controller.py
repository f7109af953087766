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
import json
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from rag.answer.model import answer_json
from rag.chat import Exchange, check_question
from rag.config import Settings
from rag.errors import RagError, UsageError
from rag.pipeline import Pipeline
from rag.search.retrieval import Passage
from rag.text.dates import QueryFilters
from rag.web import library
from rag.web.feedback import Feedback, FeedbackStore, Rating, evidence_of
from rag.web.limits import AnswerSlots, RateLimiter, read_only_notice, writes_allowed
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
    value: Any  # the selected values (a list for a multi-select, else one value or None)


@dataclass(frozen=True)
class Examples:
    """The chat's example questions (shown while the chat is empty); `clear` empties the conversation too."""

    questions: list[str]
    clear: bool = True


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


def warning(error: BaseException) -> str:
    return f"⚠️ {html.escape(str(error), quote=False)}"


class ChatController:
    """The app's handlers over one set of pipelines; one controller serves every browser session."""

    def __init__(self, settings: Settings, pipelines: PipelineSource) -> None:
        self.settings, self.pipelines = settings, pipelines
        self.overviews = Overviews()
        self.writable = writes_allowed(settings)
        self.limiter = RateLimiter(settings.questions_per_minute)
        self.slots = AnswerSlots(settings.concurrency, settings.queue_size)
        self.note = ""  # said under the status line (the demo article was ingested at start)
        # Downloads go here; the folder is removed when the controller is.
        self._exports = tempfile.TemporaryDirectory(prefix="rag-exports-")
        self.exports = Path(self._exports.name)

    # --- collections and the first screen --------------------------------------------------------
    def existing(self, collection: str | None) -> Pipeline:
        """An existing collection's pipeline: asking never creates a collection (and the message names
        no path on the server, unlike the command line's)."""
        name = collection or self.settings.collection
        known = self.pipelines.collections()
        if name not in known:
            raise UsageError(
                f"There is no collection named '{name}'; existing: {', '.join(known)}. "
                "Choose one of them, or ingest articles into a new one."
            )
        return self.pipelines.get(name, create=False)

    def ensure_demo(self) -> str:
        """Ingest the bundled demo article when the default collection is empty; say what happened."""
        pipeline = self.pipelines.get()
        if pipeline.store.article_count() > 0 or not DEMO_ARTICLES.is_dir():
            return ""
        report = pipeline.ingest([DEMO_ARTICLES], progress=False)
        self.note = f"The collection was empty, so the demo article was ingested ({report.summary()})."
        return self.note

    def overview(self, collection: str | None = None) -> Overview:
        return self.overviews.of(self.existing(collection).store)

    def status(self, collection: str | None = None) -> str:
        pipeline = self.existing(collection)
        line = status_line(pipeline, self.overviews.of(pipeline.store))
        if not self.writable:
            line += f"\n\n{html.escape(read_only_notice(self.settings), quote=False)}"
        return line + (f"\n\n{self.note}" if self.note and (collection or None) in (None, pipeline.store.name) else "")

    def refresh_overview(self, collection: str | None, sources: list[str] | None) -> Change:
        """The status line and the source filter's choices as the collection is now (ingests elsewhere
        included); the sources chosen stay chosen."""
        try:
            overview = self.overview(collection)
            status = self.status(collection)
        except RagError as error:
            return {"status": warning(error)}
        chosen = [s for s in sources or [] if s in overview.sources]
        return {"status": status, "sources": Options(overview.sources, chosen)}

    def first_screen(self, collection: str | None) -> Change:
        """On each page load: the overview, sources and example questions as the collection is now."""
        change = self.refresh_overview(collection, [])
        if "sources" in change:  # (a question asked before this arrives stays)
            change["chat"] = Examples(self.overview(collection).examples(), clear=False)
        return change

    def switch_collection(self, collection: str) -> Change:
        """Another collection: its overview, sources and examples; the conversation starts over."""
        change = self.first_screen(collection)
        if "sources" not in change:  # an unknown collection: say so, keep the conversation's view
            return change
        return {**change, **self.reset(collection)}

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
        client: str = "local",
    ) -> Iterator[Change]:
        """Stream one turn: the stage (or the place in the queue), the answer as it grows, then the answer
        with its sources. `client` (its IP address) is held to RAG_QUESTIONS_PER_MINUTE."""
        try:
            question = check_question(message)
            filters = self._filters(date_from, date_to, sources)
            pipeline = self.existing(collection)
            self.limiter.check(client)
            ticket = self.slots.enter()
        except RagError as error:  # rejected before anything is asked: no bubble, the text stays in the box
            yield {"chat": chat, "turns": turns, "question": message, "notice": warning(error)}
            return
        asked = [*chat, {"role": "user", "content": html.escape(question).replace("\n", "<br>")}]
        try:
            while not ticket.wait(timeout=0.5):  # queued: say where, until a slot is free
                stage = f"Waiting for a free answer slot ({ticket.ahead + 1} in the queue)…"
                yield {"chat": [*asked, _reply(stage_html(stage))], "question": "", "notice": ""}
            yield {"chat": [*asked, _reply(stage_html("Searching the articles…"))], "question": "", "notice": ""}
            for change in self._answer(pipeline, question, asked, turns, filters, int(top_k)):
                if "turns" in change:  # the answer: with the overview as the collection is now (ingests elsewhere)
                    change |= self.refresh_overview(collection, sources)
                yield change
        except RagError as error:  # nothing was answered: the conversation is as before, the text back in the box
            yield {"chat": chat, "turns": turns, "question": message, "notice": warning(error)}
        finally:
            ticket.leave()

    @staticmethod
    def _filters(date_from: str, date_to: str, sources: list[str] | None) -> QueryFilters:
        try:
            return QueryFilters.parse(date_from, date_to, sources)
        except UsageError:  # its reason is already shown next to the question box (show_filters)
            raise UsageError("Not asked: fix the filters first (the reason is next to the question box).") from None

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
        retrieved: tuple[Passage, ...] = ()
        for update in pipeline.engine.ask(question, history, filters, top_k):
            if "search" not in seconds:  # the first update: what was retrieved, in retrieval order
                seconds["search"] = time.perf_counter() - started
                stage, retrieved = f"Answering from {len(update.passages)} passages…", tuple(update.passages)
            if update.answer is None:
                text = f"<div>{html.escape(update.text)}</div>" if update.text else ""
                yield {"chat": [*asked, _reply(stage_html(stage) + text)]}
                continue
            seconds["answer"] = time.perf_counter() - started - seconds["search"]
            turn = Turn(
                len(turns) + 1,
                uuid.uuid4().hex,
                question,
                update.searched,
                update.answer,
                filters.describe(),
                seconds,
                retrieved,
                pipeline.retriever.mode,
            )
            done = [*turns, turn]
            markdown = conversation_markdown(done, pipeline.store.name)
            yield {
                "chat": [*asked, _reply(answer_html(turn))],
                "turns": done,
                "transcript": plain_conversation(done),
                "export_md": self.export_file("conversation", ".md", markdown),
            }

    def reset(self, collection: str | None = None) -> Change:
        """One reset for the Clear button and the chat's trash icon: messages and their sources, the
        reader, the comment boxes and the conversation memory; the example questions come back."""
        try:
            examples = self.overview(collection).examples()
        except RagError:
            examples = []
        return {
            "chat": Examples(examples),
            "turns": [],
            "notice": "",
            "transcript": "",
            "export_md": None,
            "article": ARTICLE_PLACEHOLDER,
            "reader": Shown(False),
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
            turn_number, number, nonce = request.split(":")
            turn = turns[int(turn_number) - 1]
            citation = next(c for c in turn.answer.citations if c.number == int(number))
            chunks = self.existing(collection).store.article_chunks(citation.passage.article_id)
        except (ValueError, IndexError, StopIteration):
            article = '<p class="meta">That answer is no longer in this conversation.</p>'
        except RagError as error:
            article = f'<p class="meta">{html.escape(str(error))}</p>'
        else:
            article = article_html(turn, int(number), chunks, nonce)
        return {"article": article, "reader": Shown(True)}

    def close_reader(self) -> Change:
        return {"reader": Shown(False), "article": ARTICLE_PLACEHOLDER}

    # --- feedback ----------------------------------------------------------------------------------------
    def feedback_store(self, collection: str | None) -> FeedbackStore:
        return FeedbackStore.for_collection(self.settings.data_dir, collection or self.settings.collection)

    def rate(self, index: int, liked: bool | None, turns: list[Turn], collection: str) -> Change:
        """👍/👎 on the chat's message `index` (every turn is one question and one answer); the page
        script opens the comment box beside the rated answer."""
        position = index // 2
        if not 0 <= position < len(turns) or liked is None:
            return {}
        turn = turns[position]
        answer = turn.answer
        rating: Rating = "up" if liked else "down"
        evidence = evidence_of(answer)
        feedback = Feedback(turn.id, turn.question, turn.searched, answer.text, rating, "", answer.declined, evidence)
        self.feedback_store(collection).save(feedback)
        return self.export_feedback(collection)

    def comment(self, request: str, turns: list[Turn], collection: str) -> Change:
        """`request` is JSON {"turn": n, "text": …} from an answer's comment box (the page script)."""
        try:
            asked = json.loads(request)
            turn = turns[int(asked["turn"]) - 1]
            text = str(asked["text"]).strip()
        except (ValueError, KeyError, IndexError, TypeError):
            return {"comment_status": "That answer is no longer in this conversation."}
        if not text:
            return {"comment_status": "Type a comment first."}
        if not self.feedback_store(collection).comment(turn.id, text):
            return {"comment_status": f"Rate answer {turn.number} with 👍 or 👎 first."}
        saved = f"Comment saved for answer {turn.number}. Thank you."
        return {"comment_status": saved, **self.export_feedback(collection)}

    def export_feedback(self, collection: str | None) -> Change:
        store = self.feedback_store(collection)
        testset = store.testset_jsonl()
        return {"export_tests": self.export_file(f"{store.path.stem}-feedback-testset", ".jsonl", testset)}

    def export_file(self, stem: str, suffix: str, text: str) -> str:
        """Write a download into the export folder, named by its content (sessions never clash)."""
        path = self.exports / f"{stem}-{hashlib.sha256(text.encode('utf-8')).hexdigest()[:16]}{suffix}"
        if not path.exists():
            staging = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
            staging.write_text(text, encoding="utf-8")
            staging.replace(path)
        return str(path)

    # --- the API ---------------------------------------------------------------------------------------------
    def api_ask(
        self,
        question: str,
        collection: str = "",
        top_k: int = 0,
        history: list[Any] | None = None,
        client: str = "local",
    ) -> Iterator[dict[str, Any]]:
        """Answer one question, streamed: {"answer": text so far, "done": false} while a chat model writes,
        then the answer with the searched query and the cited passages ("done": true). `history`: earlier
        turns, [{"question": …, "answer": …}, …] or [[question, answer], …], for a follow-up."""
        try:
            exchanges = _exchanges(history)
            check_question(question)
            engine = self.existing(collection).engine
            self.limiter.check(client)
            ticket = self.slots.enter()
        except RagError as error:
            yield {"error": str(error), "done": True}
            return
        try:
            ticket.wait(timeout=None)
            for update in engine.ask(question, exchanges, top_k=top_k or None):
                if update.answer is None:
                    yield {"answer": update.text, "searched": update.searched, "done": False}
                else:
                    yield answer_json(update.answer, update.searched) | {"done": True}
        except RagError as error:
            yield {"error": str(error), "done": True}
        finally:
            ticket.leave()

    # --- the Library -------------------------------------------------------------------------------------------
    def library_view(self, collection: str | None, query: str) -> Change:
        """The Library's table (matching `query`), its summary and the sources one can remove."""
        try:
            pipeline = self.pipelines.get(collection or None)
            articles, summary = library.listing(pipeline, query)
            sources = library.sources_of(pipeline)
        except RagError as error:
            return {"library_table": "", "library_summary": html.escape(str(error), quote=False)}
        if not self.writable:
            return {"library_table": library.table_html(articles, removable=False), "library_summary": summary}
        return {
            "library_table": library.table_html(articles),
            "library_summary": summary,
            "remove_source": Options(sources, None),
        }

    def add_articles(self, collection: str, files: list[str] | None, urls: str) -> Iterator[Change]:
        """Ingest uploaded files and pasted URLs: progress per item, then the report per item, the table,
        and the boxes emptied (the pasted text stays when nothing could be tried)."""
        report = ""
        try:
            self._may_write()
            library.check_uploads(files or [], self.settings.max_upload_files, self.settings.max_upload_bytes)
            adding = library.Adding(self.pipelines.get(collection or None), files or [], urls or "", self.uploads)
            for report in adding.run():  # progress lines, then the report
                yield {"add_result": report}
        except RagError as error:
            yield {"add_result": f"**Nothing added:** {html.escape(str(error), quote=False)}", "add_files": None}
            return
        # the last change carries every value (Gradio applies a generator's last yield as its result)
        yield {"add_result": report, "add_urls": "", "add_files": None, **self.library_view(collection, "")}

    def ask_removal(self, request: str, collection: str) -> Change:
        """`request` is 'article id' + newline + nonce, from a Remove button in the table (the page script)."""
        article_id = request.rsplit("\n", 1)[0]
        return self._confirm(collection, ids=[article_id])

    def ask_source_removal(self, source: str | None, collection: str) -> Change:
        if not source:
            return {"library_result": "Choose a source to remove first."}
        return self._confirm(collection, source=source)

    def _confirm(self, collection: str, ids: Sequence[str] = (), source: str = "") -> Change:
        try:
            self._may_write()
            chosen, question = library.removal_question(self.pipelines.get(collection or None), ids, source)
        except RagError as error:
            return {"library_result": html.escape(str(error), quote=False)}
        return {"pending": chosen, "confirm_text": question, "confirm_row": Shown(True), "library_result": ""}

    def remove_pending(self, pending: list[str], collection: str, query: str) -> Change:
        """Remove what the confirmation named; the table and the chat's overview follow."""
        try:
            self._may_write()
            done = library.remove(self.pipelines.get(collection or None), pending)
        except RagError as error:
            done = html.escape(str(error), quote=False)
        return {**self.cancel_removal(), "library_result": done, **self.library_view(collection, query)}

    def cancel_removal(self) -> Change:
        return {"pending": [], "confirm_text": "", "confirm_row": Shown(False)}

    def _may_write(self) -> None:
        if not self.writable:
            raise UsageError(read_only_notice(self.settings))

    @property
    def uploads(self) -> Path:
        return self.settings.data_dir / "uploads"


def _exchanges(history: list[Any] | None) -> list[Exchange]:
    """An API caller's conversation so far as exchanges (what was searched is taken to be the question)."""
    exchanges = []
    for turn in history or []:
        if isinstance(turn, dict) and isinstance(turn.get("question"), str):
            question, answer = turn["question"], str(turn.get("answer", ""))
        elif isinstance(turn, list | tuple) and len(turn) == 2:
            question, answer = str(turn[0]), str(turn[1])
        else:
            raise UsageError('history: give earlier turns as [{"question": …, "answer": …}, …] or [[q, a], …].')
        exchanges.append(Exchange(question, question, answer))
    return exchanges


def _reply(content: str) -> dict[str, Any]:
    return {"role": "assistant", "content": content}
