"""Run state and generations: one state record in the manifest collection.

The record holds a run-in-progress flag (a run that never cleared it crashed, so the next
run sweeps what it left) and a generation counter bumped by every run that changed the
store; readers compare generations to know when to refresh their caches (the lexical
index, an embedded client's vectors).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chromadb.api.models.Collection import Collection

from rag.store.manifest import STATE_ID, UNIT


class RunState:
    """The state record of one store."""

    def __init__(self, collection: Callable[[], Collection]) -> None:
        self._collection = collection

    def read(self) -> dict[str, Any]:
        found = self._collection().get(ids=[STATE_ID], include=["metadatas"])
        metadatas = found["metadatas"] or []
        return dict(metadatas[0]) if metadatas else {"generation": 0, "running": False}

    def write(self, state: dict[str, Any]) -> None:
        self._collection().upsert(ids=[STATE_ID], embeddings=[UNIT], metadatas=[state])

    def generation(self) -> int:
        return int(self.read()["generation"])

    def start(self, sweep: Callable[[], int]) -> tuple[bool, int]:
        """Mark a run as started, first calling `sweep` if the previous run never finished.

        Returns whether the previous run had crashed, and what `sweep` returned."""
        state = self.read()
        crashed = bool(state.get("running"))
        swept = sweep() if crashed else 0
        self.write({**state, "running": True})
        return crashed, swept

    def finish(self, changed: bool, before_publish: Callable[[int], None] | None) -> int:
        """Mark the run finished, publishing the next generation if it changed the store."""
        state = self.read()
        generation = int(state["generation"]) + (1 if changed else 0)
        if changed and before_publish is not None:
            before_publish(generation)
        self.write({"generation": generation, "running": False})
        return generation
