"""Chat models: any llama-index `LLM` answering from numbered passages, and condensing follow-ups.

Owns the chat-model side of answering: `make_llm` builds the llama-index LLM named by
`Settings.llm` (`openai:`, `openai-like:` for Ollama / vLLM / llama.cpp / LM Studio
servers, and the optional extras `anthropic:` and `ollama:`); `ChatModel` calls any
llama-index LLM and turns its provider's failures into `LLMError` saying what happened
(unreachable, timed out, HTTP status, bad key); `LLMAnswerer` streams a grounded,
answer-first reply with today's date and each passage's date in the prompt, and
condenses a follow-up question from the last turns. llama-index is imported only here,
and this module only when a chat model is configured, so the offline CLI starts quickly.
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib
import queue
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date
from threading import Event
from typing import Any

import httpx
import openai
from llama_index.core.llms import LLM, ChatMessage, ChatResponse, MessageRole

from rag.answer.decline import DECLINE
from rag.answer.model import Answer
from rag.answer.prompts import CONDENSE_PROMPT, system_prompt, user_prompt
from rag.answer.review import apply_verdicts, review_messages
from rag.answer.usage import Budget
from rag.config import Settings
from rag.errors import ConfigurationError, LLMError, failure_reason
from rag.search.retrieval import Passage

CONDENSE_TURNS = 3  # earlier turns shown to the model when it rewrites a follow-up
CONDENSE_ANSWER_CHARS = 600  # each earlier answer is cut to this length in that transcript
CLOSE_NAMES = 3  # model names suggested for an unknown one
RETRY_PAUSE = 0.5  # seconds before the first retry; doubled for each further one
_OLLAMA_COUNTS = ("prompt_eval_count", "eval_count")

# provider -> (module, class, extra to install or None when it is a core dependency)
PROVIDERS: dict[str, tuple[str, str, str | None]] = {
    "openai": ("llama_index.llms.openai", "OpenAI", None),
    "openai-like": ("llama_index.llms.openai_like", "OpenAILike", None),
    "anthropic": ("llama_index.llms.anthropic", "Anthropic", "anthropic"),
    "ollama": ("llama_index.llms.ollama", "Ollama", "ollama"),
}


# --- building a model from the settings -------------------------------------------------------
def make_llm(settings: Settings) -> LLM:
    """The llama-index LLM named by `settings.llm` (or implied by OPENAI_API_KEY).

    The client itself never retries (ChatModel does, within the turn's deadline), writes at
    most `llm_max_tokens` per call at `llm_temperature`, and OpenAI-protocol streams report usage.
    """
    spec = settings.llm_spec
    if spec is None:
        raise ConfigurationError("No chat model is configured: set RAG_LLM=provider:model or OPENAI_API_KEY.")
    provider, model = spec
    module_name, class_name, extra = PROVIDERS[provider]
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ConfigurationError(
            f"RAG_LLM={provider}:{model} needs the optional extra '{extra}': "
            f'pip install -e ".[{extra}]" (or pip install {module_name.replace(".", "-").replace("_", "-")}).'
        ) from error
    llm_class: Callable[..., LLM] = getattr(module, class_name)
    llm = llm_class(model=model, temperature=settings.llm_temperature, **_options(settings, provider, model))
    try:
        llm.metadata  # noqa: B018 - llama-index's OpenAI class rejects model names it does not know here
    except ValueError as error:
        raise ConfigurationError(
            f"{provider}:{model} is not a model llama-index's {class_name} class knows{_close_names(module, model)}. "
            f"For a model served by another OpenAI-protocol server set RAG_LLM=openai-like:{model}."
        ) from error
    return llm


def _options(settings: Settings, provider: str, model: str) -> dict[str, object]:
    """The provider class's keyword arguments: key, address, timeout, no client retries, max tokens."""
    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
    if provider == "openai" and not key:
        raise ConfigurationError(
            f"RAG_LLM=openai:{model} needs OPENAI_API_KEY (or use openai-like: for a local server)."
        )
    if provider == "openai-like" and not settings.openai_base_url:
        raise ConfigurationError(
            f"RAG_LLM=openai-like:{model} needs OPENAI_BASE_URL, the server's address (e.g. http://127.0.0.1:11434/v1)."
        )
    limits = {"timeout": settings.llm_timeout, "max_retries": 0, "max_tokens": settings.llm_max_tokens}
    if provider in ("openai", "openai-like"):
        options: dict[str, object] = {
            "api_key": key or "unused",  # local OpenAI-protocol servers accept any key
            "api_base": settings.openai_base_url,
            "additional_kwargs": {"stream_options": {"include_usage": True}},  # tokens of a streamed answer
            **limits,
        }
        if provider == "openai-like":
            options |= {"is_chat_model": True, "context_window": settings.llm_context_window}
        return options
    if provider == "anthropic":
        anthropic_key = settings.anthropic_api_key.get_secret_value() if settings.anthropic_api_key else None
        return {"api_key": anthropic_key, **limits}
    return {
        "base_url": settings.ollama_base_url,
        "request_timeout": settings.llm_timeout,
        "additional_kwargs": {"num_predict": settings.llm_max_tokens},
    }


def _close_names(module: object, model: str) -> str:
    """' (close names: a, b, c)' from the provider's list of known models, '' without one."""
    utils = importlib.import_module(f"{getattr(module, '__name__', '')}.utils") if hasattr(module, "__name__") else None
    known = list(getattr(utils, "ALL_AVAILABLE_MODELS", {}) or ())
    close = difflib.get_close_matches(model, known, n=CLOSE_NAMES, cutoff=0.5)
    return f" (close names: {', '.join(close)})" if close else ""


# --- calling any llama-index LLM within a turn's deadline ----------------------------------------
def model_name(llm: LLM) -> str:
    return str(getattr(llm, "model", "") or llm.metadata.model_name)


def describe(llm: LLM) -> str:
    base = getattr(llm, "api_base", None) or getattr(llm, "base_url", None)
    return model_name(llm) + (f" at {base}" if base else "")


def provider_errors() -> tuple[type[BaseException], ...]:
    """Exception types a provider raises for a failed request (only SDKs already imported can raise)."""
    errors: list[type[BaseException]] = [openai.OpenAIError, httpx.HTTPError, OSError]
    if "anthropic" in sys.modules:
        errors.append(sys.modules["anthropic"].APIError)
    if "ollama" in sys.modules:
        errors.append(sys.modules["ollama"].ResponseError)
    return tuple(errors)


def explain(error: BaseException, where: str) -> LLMError:
    """An LLMError saying what happened, from any provider's exception (their SDKs share these names)."""
    reason = failure_reason(error, "OPENAI_API_KEY, or ANTHROPIC_API_KEY for anthropic:")
    return LLMError(f"The language model {where} {reason}.")


def retryable(error: BaseException) -> bool:
    """Worth asking again: not reached, broken off, rate-limited or a server error (not a bad key or request)."""
    status = getattr(error, "status_code", None)
    if isinstance(status, int):
        return status == 429 or status >= 500
    return "did not answer in time" not in failure_reason(error)


def tokens(response: ChatResponse) -> tuple[int, int] | None:
    """(input, output) tokens a provider reported on a response or a stream's last chunk, if any."""
    sources: list[object] = [response.additional_kwargs, getattr(response.raw, "usage", None)]
    if isinstance(response.raw, dict):
        sources += [response.raw.get("usage"), response.raw]
    for source in sources:
        found = source if isinstance(source, dict) else getattr(source, "__dict__", {}) or {}
        for names in (("prompt_tokens", "completion_tokens"), ("input_tokens", "output_tokens"), _OLLAMA_COUNTS):
            if all(isinstance(found.get(name), int) for name in names):
                return int(found[names[0]]), int(found[names[1]])
    return None


class ChatModel:
    """Any llama-index LLM, called within a turn's `Budget`: a request runs in a worker thread and is
    abandoned when the turn's deadline passes (a stalled stream too); failures worth retrying are
    retried while time is left; provider failures are raised as `LLMError`; tokens are recorded."""

    def __init__(self, llm: LLM, retries: int = 1) -> None:
        self.llm, self.name, self.retries = llm, model_name(llm), retries

    def stream(self, messages: Sequence[ChatMessage], budget: Budget) -> Iterator[str]:
        for response in self._responses(messages, budget, streaming=True):
            if response.delta:
                yield response.delta

    def complete(self, messages: Sequence[ChatMessage], budget: Budget) -> str:
        *_, response = self._responses(messages, budget, streaming=False)
        return response.message.content or ""

    def _responses(self, messages: Sequence[ChatMessage], budget: Budget, streaming: bool) -> Iterator[ChatResponse]:
        """The model's responses, retried until one attempt yields something (never once it has)."""
        for attempt in range(self.retries + 1):
            if budget.failed:
                raise LLMError("The language model already failed in this turn, so it was not asked again.")
            yielded = False
            try:
                for response in self._attempt(messages, budget, streaming):
                    yielded = True
                    yield response
                return
            except provider_errors() as error:
                failure = explain(error, describe(self.llm))
                pause = RETRY_PAUSE * 2**attempt
                if yielded or attempt == self.retries or not retryable(error) or budget.remaining() <= pause:
                    budget.give_up(str(failure))
                    raise failure from error
                time.sleep(pause)
            except LLMError as failure:  # the deadline passed
                budget.give_up(str(failure))
                raise

    def _attempt(self, messages: Sequence[ChatMessage], budget: Budget, streaming: bool) -> Iterator[ChatResponse]:
        """One request, read from a worker thread so that the deadline holds however the server behaves."""
        results: queue.Queue[tuple[str, Any]] = queue.Queue()
        stop = threading.Event()
        worker = threading.Thread(target=self._pump, args=(messages, streaming, results, stop), daemon=True)
        worker.start()
        reported: tuple[int, int] | None = None
        try:
            while True:
                try:
                    kind, item = results.get(timeout=budget.remaining())
                except queue.Empty:
                    raise LLMError(
                        f"The language model {describe(self.llm)} did not answer in time "
                        f"(RAG_LLM_TIMEOUT: {budget.seconds:g} s for the whole turn)."
                    ) from None
                if kind == "end":
                    return
                if kind == "error":
                    raise item
                reported = tokens(item) or reported
                yield item
        finally:
            stop.set()
            budget.record(*(reported or (None, None)))

    def _pump(
        self, messages: Sequence[ChatMessage], streaming: bool, results: queue.Queue[tuple[str, Any]], stop: Event
    ) -> None:
        """Worker thread: put each response (or the error) on `results`; stop reading once told to."""
        try:
            if not streaming:
                results.put(("response", self.llm.chat(messages)))
            else:
                responses = self.llm.stream_chat(messages)
                for response in responses:
                    if stop.is_set():
                        getattr(responses, "close", lambda: None)()  # closes the HTTP response
                        return
                    results.put(("response", response))
            results.put(("end", None))
        except BaseException as error:  # handed to the reading thread, which raises it
            results.put(("error", error))


class LLMAnswerer:
    """Streams an answer from a chat model, grounded in the numbered passages; condenses follow-ups;
    with `verify="model"`, has the model review the answer's claims. Every call of one turn shares
    the turn's `Budget` (deadline, tokens)."""

    def __init__(
        self,
        llm: LLM | ChatModel,
        today: Callable[[], date] = date.today,
        *,
        timeout: float = 60.0,
        prices: Mapping[str, tuple[float, float]] = {},
        verify: str = "local",
    ) -> None:
        self.model = llm if isinstance(llm, ChatModel) else ChatModel(llm)
        self.name = self.model.name
        self.today, self.timeout, self.prices, self.verify = today, timeout, dict(prices), verify

    @classmethod
    def from_settings(cls, settings: Settings, llm: LLM | None = None) -> LLMAnswerer:
        """The configured model (or `llm`) with the settings' deadline, retries, prices and claim review."""
        model = ChatModel(llm or make_llm(settings), settings.llm_retries)
        return cls(model, timeout=settings.llm_timeout, prices=settings.llm_prices, verify=settings.verify)

    def budget(self) -> Budget:
        """A new turn's budget: its deadline starts now."""
        return Budget(self.timeout, self.name, self.prices)

    def messages(self, question: str, passages: Sequence[Passage]) -> list[ChatMessage]:
        return [
            ChatMessage(role=MessageRole.SYSTEM, content=system_prompt(self.today())),
            ChatMessage(role=MessageRole.USER, content=user_prompt(question, passages)),
        ]

    def stream(self, question: str, passages: Sequence[Passage], budget: Budget | None = None) -> Iterator[str]:
        if not passages:
            yield DECLINE
            return
        yield from self.model.stream(self.messages(question, passages), budget or self.budget())

    def condense(self, question: str, turns: Sequence[tuple[str, str]], budget: Budget | None = None) -> str:
        """`question` rewritten as a standalone query from the last (question, answer) turns."""
        transcript = "\n".join(
            f"User: {asked}\nAssistant: {answer[:CONDENSE_ANSWER_CHARS]}" for asked, answer in turns[-CONDENSE_TURNS:]
        )
        messages = [
            ChatMessage(role=MessageRole.SYSTEM, content=CONDENSE_PROMPT),
            ChatMessage(role=MessageRole.USER, content=f"{transcript}\nUser: {question}"),
        ]
        return self.model.complete(messages, budget or self.budget()).strip().strip('"') or question

    def review(self, answer: Answer, budget: Budget) -> Answer:
        """With verify="model": the answer with the model's verdict on each cited claim (one call);
        if that call fails, the local checks stand and a notice says so."""
        if self.verify != "model" or answer.declined or not any(claim.markers for claim in answer.claims):
            return answer
        try:
            reply = self.model.complete(review_messages(answer), budget)
        except LLMError as error:
            return dataclasses.replace(
                answer, notices=[*answer.notices, f"{error} The claims were checked locally only."]
            )
        return apply_verdicts(answer, reply)
