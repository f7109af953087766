"""What the web app allows a visitor: writes (read-only off loopback without a login), questions
per minute per client, and answers at once.

- `writes_allowed`: the app may change the collection when it listens on loopback only, or asks
  for a login, or the operator set RAG_ALLOW_ANONYMOUS_WRITES=true.
- `RateLimiter`: a sliding one-minute window per client (IP address). Hand-written (a deque per
  client, under a lock) because the process-local check is a dozen lines; the `limits` package
  would add storage backends this single-process app does not use.
- `AnswerSlots`: at most `running` answers at once, at most `waiting` more queued; a question
  past that is refused with a message, and a waiting one is told how many are ahead of it.
"""

from __future__ import annotations

import ipaddress
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from rag.config import Settings
from rag.errors import UsageError

LOOPBACK_NAMES = ("localhost", "ip6-localhost")


def is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def writes_allowed(settings: Settings) -> bool:
    login = bool(settings.auth_user and settings.auth_password is not None)
    return login or settings.allow_anonymous_writes or (is_loopback(settings.host) and not settings.share)


def read_only_notice(settings: Settings) -> str:
    where = "a public share link" if settings.share else f"{settings.host}"
    return (
        f"Read-only: this app is reachable on {where} without a login, so asking works but adding, uploading "
        "and removing articles are off. Set RAG_AUTH_USER and RAG_AUTH_PASSWORD to allow them behind a login "
        "(or RAG_ALLOW_ANONYMOUS_WRITES=true to allow them to anyone)."
    )


class RateLimiter:
    """At most `per_minute` events per client in any 60 seconds."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute, self.clock = per_minute, clock
        self._events: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, client: str) -> None:
        """Count one question of `client`; a UsageError saying when to ask again when over the limit."""
        now = self.clock()
        with self._lock:
            events = self._events.setdefault(client, deque())
            while events and events[0] <= now - 60:
                events.popleft()
            if len(events) >= self.per_minute:
                wait = max(1, round(events[0] + 60 - now))
                raise UsageError(
                    f"You have asked {len(events)} questions in the last minute; the limit is {self.per_minute} "
                    f"a minute. Ask again in {wait} s."
                )
            events.append(now)
            if len(self._events) > 10_000:  # forget idle clients
                self._events = {key: value for key, value in self._events.items() if value}


@dataclass
class Ticket:
    """A question's place: waiting for an answer slot (first come, first served), then holding one."""

    slots: AnswerSlots
    number: int
    running: bool = False

    def wait(self, timeout: float | None) -> bool:
        """Wait up to `timeout` seconds (None: as long as it takes) for a slot; True once this question holds one."""
        slots = self.slots
        with slots._turn:
            if not self.running and slots._turn.wait_for(self._next, timeout):
                slots._queue.remove(self.number)
                slots._active += 1
                self.running = True
            return self.running

    def _next(self) -> bool:
        return self.slots._active < self.slots.running and self.slots._queue[0] == self.number

    @property
    def ahead(self) -> int:
        with self.slots._turn:
            return self.slots._queue.index(self.number) if self.number in self.slots._queue else 0

    def leave(self) -> None:
        with self.slots._turn:
            if self.running:
                self.running = False
                self.slots._active -= 1
            elif self.number in self.slots._queue:
                self.slots._queue.remove(self.number)
            self.slots._turn.notify_all()


class AnswerSlots:
    """At most `running` answers at once and `waiting` questions queued for them."""

    def __init__(self, running: int, waiting: int) -> None:
        self.running, self.waiting = running, waiting
        self._turn = threading.Condition()
        self._active = 0
        self._queue: list[int] = []  # waiting tickets, first come first
        self._counter = 0

    def enter(self) -> Ticket:
        """A place in the queue; a UsageError when every slot is taken and the queue is full."""
        with self._turn:
            if self._active >= self.running and len(self._queue) >= self.waiting:
                raise UsageError(
                    f"The app is busy: {self._active} answers are being written and {len(self._queue)} questions "
                    "are waiting. Ask again in a minute."
                )
            self._counter += 1
            self._queue.append(self._counter)
            return Ticket(self, self._counter)
