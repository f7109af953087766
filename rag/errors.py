"""Errors a user can act on: one hierarchy, each message says what to do.

Every module raises a subclass of `RagError` for a condition the user can fix (a bad
setting, an unreachable service, an unusable question or date). The edges (the CLI and
the web app) catch `RagError` only; anything else is a bug and shows its traceback.
`exit_code` is what the CLI exits with: 2 for usage and configuration errors, 1 for a
service that failed.
"""

from __future__ import annotations


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


class EmbedderError(RagError):
    """The embedding model is not installed, or its endpoint failed."""


class LLMError(RagError):
    """The language model could not answer."""


class FetchError(RagError):
    """A web page or feed could not be fetched or read."""
