"""Errors a user can act on: one hierarchy, each message says what to do.

Every module raises a subclass of `RagError` for a condition the user can fix (a bad
setting, an unreachable service, an unusable question or date). The edges (the CLI and
the web app) catch `RagError` only; anything else is a bug and shows its traceback.
`exit_code` is what the CLI exits with: 2 for usage and configuration errors, 1 for a
service that failed; `FALLBACK_EXIT` (3) when a configured chat model failed and the local
extractive answer stood in (`rag ask`, `rag eval --strict`).
"""

from __future__ import annotations

FALLBACK_EXIT = 3


class RagError(Exception):
    """A condition the user can fix; the message says what to do."""

    exit_code = 1


class UsageError(RagError):
    """A malformed argument: a date, a filter, an option value."""

    exit_code = 2


class ConfigurationError(RagError):
    """The settings cannot work as given (a missing key, an unknown embedder or model)."""

    exit_code = 2


class QuestionRejected(UsageError):
    """The question cannot be asked as it is (empty, too long, no words)."""


class StoreError(RagError):
    """The vector store cannot be used as configured (unreachable server, wrong embedder, no such collection)."""


class MissingCollection(StoreError):
    """The collection asked for does not exist (a misspelt --collection): a configuration error."""

    exit_code = 2


class EmbedderError(RagError):
    """The embedding model is not installed, or its endpoint failed."""


class LLMError(RagError):
    """The language model could not answer."""


class FetchError(RagError):
    """A web page or feed could not be fetched or read."""


def failure_reason(error: BaseException, key_setting: str = "OPENAI_API_KEY") -> str:
    """Why a call to a model service failed, as the end of a sentence ("could not be reached").

    Judged by class names and status code, which the OpenAI, Anthropic and httpx exceptions share,
    so no provider SDK needs importing here.
    """
    names = {cls.__name__ for cls in type(error).__mro__}
    status = getattr(error, "status_code", None)
    if names & {"APITimeoutError", "TimeoutException", "TimeoutError"}:
        return "did not answer in time"
    if names & {"APIConnectionError", "ConnectError", "ConnectionError", "TransportError"}:
        return "could not be reached"
    if "AuthenticationError" in names or status == 401:
        return f"rejected the API key (check {key_setting})"
    if isinstance(status, int):
        return f"answered with HTTP {status}"
    return f"failed ({type(error).__name__})"
