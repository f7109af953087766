"""One turn's budget with a chat model: its deadline, and the tokens and estimated cost its calls used.

A turn (condense, answer, claim review) has one deadline, `RAG_LLM_TIMEOUT` seconds from its
start: every model call of the turn gets what is left (`Budget.remaining`), and once a call has
failed the model is not asked again in that turn (`Budget.give_up`). Each call records the tokens
its provider reported; `Budget.usage` sums them into a `Usage` with an estimated cost from a
per-model price table (US dollars per million input and output tokens; `RAG_LLM_PRICES` adds or
overrides entries). No llama-index here, so the offline path can import it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

# USD per million tokens (input, output): list prices of common hosted models; a local model has none.
PRICES: dict[str, tuple[float, float]] = {
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.00),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1": (2.00, 8.00),
    "gpt-3.5-turbo": (0.50, 1.50),
    "claude-3-5-haiku": (0.80, 4.00),
    "claude-3-5-sonnet": (3.00, 15.00),
    "claude-3-7-sonnet": (3.00, 15.00),
}


def price_of(model: str, overrides: Mapping[str, tuple[float, float]] = {}) -> tuple[float, float] | None:
    """The price of `model`: an exact entry, else the longest entry it starts with
    ("gpt-4o-mini-2024-07-18" costs like "gpt-4o-mini"); None when unknown."""
    table = {**PRICES, **overrides}
    if model in table:
        return table[model]
    prefixes = [name for name in table if model.startswith(name)]
    return table[max(prefixes, key=len)] if prefixes else None


@dataclass(frozen=True)
class Usage:
    """What a turn's model calls used. Tokens are those the provider reported (`reported` is False
    when some call reported none); `cost` is estimated from the price table (None: price unknown)."""

    model: str
    calls: int
    input_tokens: int
    output_tokens: int
    reported: bool
    cost: float | None

    def as_json(self) -> dict[str, object]:
        return {
            "model": self.model,
            "calls": self.calls,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "tokens_reported": self.reported,
            "cost_usd": None if self.cost is None else round(self.cost, 6),
        }

    def line(self) -> str:
        """'1,234 tokens in · 56 out · ≈ $0.0002' (what the CLI and the web show)."""
        if not self.reported and not self.input_tokens and not self.output_tokens:
            return f"{self.calls} call{'s' if self.calls > 1 else ''}, no token usage reported"
        cost = "price unknown" if self.cost is None else f"≈ ${self.cost:.4f}"
        unreported = "" if self.reported else " (some calls reported no usage)"
        return f"{self.input_tokens:,} tokens in · {self.output_tokens:,} out · {cost}{unreported}"


def add_usage(usages: list[Usage]) -> Usage | None:
    """The sum of several turns' usage (the evaluation report's total)."""
    if not usages:
        return None
    costs = [u.cost for u in usages]
    return Usage(
        ", ".join(dict.fromkeys(u.model for u in usages)),
        sum(u.calls for u in usages),
        sum(u.input_tokens for u in usages),
        sum(u.output_tokens for u in usages),
        all(u.reported for u in usages),
        None if any(c is None for c in costs) else sum(c for c in costs if c is not None),
    )


class Budget:
    """One turn's deadline and the calls it made (thread-safe: a stream is read in a worker thread)."""

    def __init__(
        self,
        seconds: float,
        model: str,
        prices: Mapping[str, tuple[float, float]] = {},
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.seconds, self.model, self.prices, self.clock = seconds, model, dict(prices), clock
        self.deadline = clock() + seconds
        self.failed = ""  # why the model is not asked again in this turn
        self._calls: list[tuple[int | None, int | None]] = []
        self._lock = threading.Lock()

    def remaining(self) -> float:
        return max(0.0, self.deadline - self.clock())

    def give_up(self, reason: str) -> None:
        """The model failed in this turn: it is not asked again."""
        self.failed = self.failed or reason

    def record(self, input_tokens: int | None, output_tokens: int | None) -> None:
        with self._lock:
            self._calls.append((input_tokens, output_tokens))

    def usage(self) -> Usage | None:
        """The turn's usage; None when the model was never called."""
        with self._lock:
            calls = list(self._calls)
        if not calls:
            return None
        tokens_in = sum(i or 0 for i, _ in calls)
        tokens_out = sum(o or 0 for _, o in calls)
        reported = all(i is not None and o is not None for i, o in calls)
        price = price_of(self.model, self.prices)
        cost = None if price is None else (tokens_in * price[0] + tokens_out * price[1]) / 1_000_000
        return Usage(self.model, len(calls), tokens_in, tokens_out, reported, cost)
