"""Chat: one conversation turn, shared by the CLI and the web app.

A turn checks the question, rewrites a follow-up into a standalone query using the
history (the chat model condenses it; offline, a heuristic carries the previous
question's named entities over), retrieves passages, and streams the answer. If the
chat model fails, the turn says so and falls back to the extractive answer, so a user
always gets an answer or a clear message, never a traceback.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rag.answer.citations import MarkerStream
from rag.answer.extractive import ExtractiveAnswerer, closest
from rag.answer.finish import finish_answer
from rag.answer.model import Answer, Answerer, answer_json
from rag.answer.refusal import is_refusal
from rag.answer.usage import Budget
from rag.config import MAX_TOP_K
from rag.errors import LLMError, QuestionRejected
from rag.search.retrieval import Passage, Retriever
from rag.text import mentions
from rag.text.dates import QueryFilters
from rag.text.questions import is_title_case, refers_back
from rag.text.terms import STOPWORDS

if TYPE_CHECKING:  # rag.answer.llm (and llama-index) is imported only when a chat model is configured
    from rag.answer.llm import LLMAnswerer

MAX_QUESTION_CHARS = 2000
SHORT = 4  # words: a follow-up this short may lean on the conversation
GATE = "calibrated gate"  # the answerer named on a decline the gate made without asking the chat model
_LEADING_CONNECTIVE = re.compile(r"^(and|but|also|so|then|plus)\b[\s,]*", re.IGNORECASE)
# The personal pronouns (English grammar, a closed class) that point back to someone or something
# named before; in a follow-up, in the previous turn ("What did Pete Carroll say about him?").
# Possessives and "that" are not among them: they point inside their own question as often ("How
# much did the startup raise in its last round?", "the institute that caught fire"); `points_back`
# counts them only where they cannot (rag.text.questions.refers_back, _POSSESSIVE_PRONOUN).
_POINTING_BACK = re.compile(r"\b(?:he|she|it|they|him|her|them)\b", re.IGNORECASE)
# In a question that names nothing of its own, a possessive has nothing in it to point at, so it
# points back too ("What's his job?", "When did its trial start?").
_POSSESSIVE_PRONOUN = re.compile(r"\b(?:his|her|its|their)\b", re.IGNORECASE)
ANSWER_NAMES = 2  # names carried from the previous answer's lead
_TOKEN = re.compile(r"[\w’'-]+")
# words that never belong to a question's topic: question words, auxiliaries, reporting verbs
_NOT_TOPIC = STOPWORDS | {
    "about",
    "actually",
    "else",
    "happen",
    "happened",
    "happening",
    "happens",
    "know",
    "mean",
    "tell",
    "think",
    "want",
    "wants",
    "wanted",
    "whose",
    "many",
    "much",
    "new",
    "report",
    "reported",
    "reports",
    "say",
    "said",
    "says",
}


@dataclass(frozen=True)
class Exchange:
    """One earlier turn: what was asked, the query searched, and the answer text."""

    question: str
    searched: str
    answer: str


@dataclass(frozen=True)
class TurnUpdate:
    """A step of a turn: `text` is the answer so far; `answer` is set on the final update."""

    searched: str
    text: str
    passages: Sequence[Passage] = ()
    answer: Answer | None = None
    notices: list[str] = field(default_factory=list)


def check_question(question: str) -> str:
    text = question.strip()
    if not text:
        raise QuestionRejected("Please type a question.")
    if len(text) > MAX_QUESTION_CHARS:
        raise QuestionRejected(
            f"Your question is {len(text):,} characters long; the limit is {MAX_QUESTION_CHARS:,}. "
            "Ask a shorter question, or ingest long text as an article."
        )
    if not re.search(r"\w", text):
        raise QuestionRejected("Your question has no words in it. Please ask in words.")
    return text


def _is_topic_word(token: str) -> bool:
    word = token.lower().replace("’", "'").split("'")[0]  # "what's" -> "what", "Google's" -> "google"
    return bool(word) and word not in _NOT_TOPIC


def topic_phrases(question: str) -> list[str]:
    """The question's key phrases: runs of consecutive topic words ("Google's antitrust trial", "John Kirby")."""
    phrases: list[str] = []
    run: list[str] = []
    for token in [*_TOKEN.findall(question), ""]:
        if token and _is_topic_word(token):
            run.append(token)
        elif run:
            phrases.append(" ".join(run))
            run = []
    return list(dict.fromkeys(phrases))


def has_own_topic(question: str) -> bool:
    """Whether the question names what it is about: a name (a capitalised word after the first, in a
    question not written in Title Case or capitals) or a number. Verbs and pronouns alone ("And who
    replaced him?", "When did that happen?") name nothing to search for."""
    if is_title_case(question):
        return any(_is_topic_word(token) for token in _TOKEN.findall(question)[1:])
    return bool(mentions.question_names(question) or mentions.numbers(question))


def may_lean(question: str) -> bool:
    """Whether a chat model should read a follow-up with the conversation: it names nothing of its own,
    opens with a connective ("And Russia?") or is a few words ("What about Nvidia?"). The model
    decides whether it stands alone; the offline rule (`needs_context`) cannot read "And Russia?"."""
    return needs_context(question) or bool(_LEADING_CONNECTIVE.match(question)) or len(question.split()) <= SHORT


def points_back(question: str) -> bool:
    """Whether the question refers back: with a personal pronoun ("he", "it", "them"…), a demonstrative
    or "the same" ("in that one", "on the same day"; rag.text.questions.refers_back), or, when it
    names nothing of its own, a possessive ("What's his job?")."""
    if _POINTING_BACK.search(question) or refers_back(question):
        return True
    return _POSSESSIVE_PRONOUN.search(question) is not None and not has_own_topic(question)


def needs_context(question: str) -> bool:
    """Whether a follow-up leans on the previous question: it names nothing of its own to search for
    (no name, no number: "Who won?", "Where are the troops now?") or it points back (`points_back`:
    "What did Pete Carroll say about him?", "Who scored in that game?")."""
    return not has_own_topic(question) or points_back(question)


def answer_names(exchange: Exchange) -> list[str]:
    """The names the previous answer's lead adds to its question (for "he"/"it" meaning the answer:
    "Who founded it?" then "When did he start it?"); none when it declined. A capitalised word opening
    the lead counts too (it is as often the name asked for as a "However")."""
    lead = exchange.answer.strip().split("\n", 1)[0]
    if not lead or is_refusal(lead):
        return []
    return mentions.new_names(lead, exchange.question)[:ANSWER_NAMES]


def heuristic_standalone(question: str, history: Sequence[Exchange]) -> str:
    """A follow-up without a topic of its own gets the previous question's key phrases (that question's
    own, never what it carried from the one before) and, when it points back with a pronoun, the names
    the previous answer's lead gave; a question with its own topic is searched as asked."""
    if not history or not needs_context(question):
        return question
    cleaned = _LEADING_CONNECTIVE.sub("", question).strip()
    cleaned = cleaned[:1].upper() + cleaned[1:]
    previous = history[-1]
    if previous.searched != previous.question:  # it carried a topic itself: never across two turns
        return cleaned
    asked = question.lower()
    carried = [phrase for phrase in topic_phrases(previous.question) if phrase.lower() not in asked]
    if points_back(question):
        carried += [name for name in answer_names(previous) if name.lower() not in asked]
    return f"{cleaned} ({', '.join(carried)})" if carried else cleaned


class ChatEngine:
    """Answers questions over a retriever with the configured answerer."""

    def __init__(
        self,
        retriever: Retriever,
        extractive: ExtractiveAnswerer,
        llm: LLMAnswerer | None,
        top_k: int = 5,
        gate: bool = True,
    ) -> None:
        """`gate`: before asking the chat model, skip questions the passages are clearly not about
        (the ranker's calibrated gate, RAG_LLM_GATE)."""
        self.retriever, self.extractive, self.llm, self.top_k, self.gate = retriever, extractive, llm, top_k, gate

    def gated(self, question: str, passages: Sequence[Passage]) -> bool:
        """Whether the chat model is spared this question: the gate is on and the calibrated probability
        that the passages answer it is below the gate threshold (set to let 99.5% of answerable
        questions of the dev set through). In a small collection, where relevance is not calibrated,
        the offline answer must decline it too (ExtractiveAnswerer.declines)."""
        if self.llm is None or not self.gate or not passages:
            return False
        assessment = self.extractive.assess(question, passages)
        spared = assessment.relevance < self.extractive.model.gate_threshold
        return spared and (not assessment.small or self.extractive.declines(assessment))

    @property
    def answerer_name(self) -> str:
        return self.llm.name if self.llm else self.extractive.name

    def standalone(
        self, question: str, history: Sequence[Exchange], budget: Budget | None = None
    ) -> tuple[str, list[str]]:
        """The query to search, and any notice about how it was made. A chat model rewrites a follow-up
        that may lean on the conversation (`may_lean`); any other question is searched as asked (offline,
        by the rule of `heuristic_standalone`)."""
        if not history or self.llm is None or not may_lean(question):
            return heuristic_standalone(question, history), []
        try:
            rewritten = self.llm.condense(question, [(e.question, e.answer) for e in history], budget)
        except LLMError as error:
            return heuristic_standalone(question, history), [f"{error} The follow-up was rewritten locally."]
        return rewritten, []

    def ask(
        self,
        question: str,
        history: Sequence[Exchange] = (),
        filters: QueryFilters = QueryFilters(),
        top_k: int | None = None,
    ) -> Iterator[TurnUpdate]:
        """Stream one turn (with a chat model: one deadline for all of it). Raises QuestionRejected."""
        question = check_question(question)
        if top_k is not None and not 1 <= top_k <= MAX_TOP_K:
            raise QuestionRejected(f"top-k is {top_k}: ask for 1 to {MAX_TOP_K} passages per answer.")
        budget = self.llm.budget() if self.llm else None
        searched, notices = self.standalone(question, history, budget)
        passages = self.retriever.retrieve(searched, top_k or self.top_k, filters)
        yield TurnUpdate(searched, "", passages, notices=notices)
        yield from self.respond(searched, passages, notices, budget)

    def respond(
        self, question: str, passages: Sequence[Passage], notices: Sequence[str] = (), budget: Budget | None = None
    ) -> Iterator[TurnUpdate]:
        """Stream the answer to `question` from `passages` (markers renumbered as they come); the
        model's failure falls back to extractive (`Answer.fallback`)."""
        notices = list(notices)
        budget = budget or (self.llm.budget() if self.llm else None)
        answerer: Answerer = self.llm or self.extractive
        text, shown, fallback = "", MarkerStream(len(passages), forms=self.llm is not None), False
        name = answerer.name
        try:
            if self.gated(question, passages):  # the passages are clearly not about it: no model call
                answerer, name, text = self.extractive, GATE, closest(passages)
            else:
                deltas = (
                    self.llm.stream(question, passages, budget) if self.llm else answerer.stream(question, passages)
                )
                for delta in deltas:
                    text += delta
                    yield TurnUpdate(question, shown.feed(delta), passages, notices=notices)
        except LLMError as error:
            notices.append(f"{error} Showing the local extractive answer instead.")
            answerer, fallback = self.extractive, True
            name, text = self.extractive.name, self.extractive.compose(question, passages)
        answer = finish_answer(text, passages, name, self.extractive.embedder, forms=answerer is self.llm)
        if self.llm is not None and answerer is self.llm and budget is not None:
            answer = self.llm.review(answer, budget)  # RAG_VERIFY=model
        usage = budget.usage() if budget else None
        answer = dataclasses.replace(answer, notices=[*notices, *answer.notices], fallback=fallback, usage=usage)
        yield TurnUpdate(question, answer.text, passages, answer, answer.notices)

    def finish(self, question: str, passages: Sequence[Passage]) -> TurnUpdate:
        """The final update of `respond` (evaluation answers retrieved passages this way)."""
        return _last(self.respond(question, passages))

    def answer(
        self,
        question: str,
        history: Sequence[Exchange] = (),
        filters: QueryFilters = QueryFilters(),
        top_k: int | None = None,
    ) -> TurnUpdate:
        """Run a turn to the end and return its final update."""
        return _last(self.ask(question, history, filters, top_k))


def turn_events(updates: Iterator[TurnUpdate]) -> Iterator[dict[str, Any]]:
    """A turn (`ChatEngine.ask`) as JSON events for a streaming API: `{"event": "searched", "searched",
    "passages"}` once retrieval is done, `{"event": "delta", "text"}` for each new piece of the answer
    (markers already final), and `{"event": "answer", **answer_json}` last. When a chat model failed,
    the final answer (`fallback: true`) replaces what was streamed."""
    shown = ""
    for number, update in enumerate(updates):
        if update.answer is not None:
            yield {"event": "answer", **answer_json(update.answer, update.searched)}
        elif number == 0:
            yield {"event": "searched", "searched": update.searched, "passages": len(update.passages)}
        elif update.text.startswith(shown) and len(update.text) > len(shown):
            yield {"event": "delta", "text": update.text[len(shown) :]}
            shown = update.text


def _last(updates: Iterator[TurnUpdate]) -> TurnUpdate:
    final = None
    for update in updates:
        final = update
    assert final is not None and final.answer is not None
    return final
