"""OpenAI-protocol clients for the OpenAI embedder: the one place that builds them and says why a call failed.

`openai` is imported only when one of these runs, so offline commands never load it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import openai


def make_client(api_key: str, base_url: str | None, timeout: float, max_retries: int = 2) -> openai.OpenAI:
    """A client for `base_url` (None: OpenAI itself)."""
    import openai

    return openai.OpenAI(api_key=api_key, base_url=base_url, timeout=timeout, max_retries=max_retries)


def client_errors() -> tuple[type[Exception], ...]:
    """What a failing call raises (transport errors arrive wrapped as `openai.APIConnectionError`)."""
    import openai

    return (openai.OpenAIError,)
