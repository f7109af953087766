"""One writer at a time per collection: ingests and removals take the collection's writer lock.

* Embedded Chroma: an OS file lock (filelock: flock on Linux, released by the kernel when
  the process dies, so a crash never leaves it held) in `<data dir>/locks/<collection>.lock`,
  with the holder's pid beside it for the waiting message.
* A Chroma server: a lock collection `<collection>__writer` that the writer creates. Creating
  a collection is the server's compare-and-set (it fails when the name exists), so exactly one
  writer gets it; the holder refreshes a heartbeat in its metadata, and a lock whose heartbeat
  is older than `STALE_SECONDS` (its writer died) is taken over.

A second writer waits, saying so once (`waiting for another ingest into 'news' (pid 123)…`),
and fails after `wait` seconds (RAG_WRITE_WAIT). Readers never take the lock. Threads of one
process are serialised by an in-process lock first (a file lock is per process).
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import filelock
from chromadb.api import ClientAPI
from chromadb.errors import ChromaError

from rag.errors import StoreError
from rag.store.connection import WRITER_SUFFIX

STALE_SECONDS = 60.0  # a server lock not refreshed for this long belongs to a writer that died
HEARTBEAT_SECONDS = 10.0
POLL_SECONDS = 0.2

Notice = Callable[[str], None]

_IN_PROCESS: dict[str, threading.Lock] = {}
_REGISTRY_LOCK = threading.Lock()


def _owner() -> dict[str, Any]:
    """Who holds the lock, and when it last said so (`beat`, refreshed by a server lock's holder)."""
    return {"pid": os.getpid(), "host": socket.gethostname(), "beat": time.time()}


def _describe(owner: dict[str, Any]) -> str:
    pid = owner.get("pid")
    host = owner.get("host")
    if pid is None:
        return ""
    return f" (pid {pid}{'' if host in (None, socket.gethostname()) else f' on {host}'})"


def _busy(collection: str, owner: dict[str, Any], wait: float) -> StoreError:
    return StoreError(
        f"another ingest into '{collection}'{_describe(owner)} is still writing after {wait:g} s; "
        "try again when it has finished, or raise RAG_WRITE_WAIT"
    )


@contextmanager
def _in_process(key: str, collection: str, wait: float, notice: Notice) -> Iterator[None]:
    with _REGISTRY_LOCK:
        lock = _IN_PROCESS.setdefault(key, threading.Lock())
    if not lock.acquire(blocking=False):
        notice(f"waiting for another ingest into '{collection}' (pid {os.getpid()}, this process)…")
        if not lock.acquire(timeout=max(wait, 0.0)):
            raise _busy(collection, {"pid": os.getpid()}, wait)
    try:
        yield
    finally:
        lock.release()


@contextmanager
def file_lock(folder: Path, collection: str, wait: float, notice: Notice) -> Iterator[None]:
    """The writer lock of an embedded store's collection (a file lock under `folder`)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{collection}.lock"
    owner_file = folder / f"{collection}.owner"
    with _in_process(str(path.resolve()), collection, wait, notice):
        lock = filelock.FileLock(path)
        try:
            lock.acquire(timeout=0)
        except filelock.Timeout:
            notice(f"waiting for another ingest into '{collection}'{_describe(_read_owner(owner_file))}…")
            try:
                lock.acquire(timeout=max(wait, 0.0))
            except filelock.Timeout:
                raise _busy(collection, _read_owner(owner_file), wait) from None
        try:
            owner_file.write_text(json.dumps(_owner()), encoding="utf-8")
            yield
        finally:
            lock.release()


def _read_owner(path: Path) -> dict[str, Any]:
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


@contextmanager
def server_lock(client: ClientAPI, collection: str, wait: float, notice: Notice) -> Iterator[None]:
    """The writer lock of a collection on a Chroma server (a lock collection created atomically)."""
    name = collection + WRITER_SUFFIX
    with _in_process(f"server:{id(client)}:{name}", collection, wait, notice):
        _acquire_server(client, name, collection, wait, notice)
        stop = threading.Event()
        beat = threading.Thread(target=_heartbeat, args=(client, name, stop), daemon=True)
        beat.start()
        try:
            yield
        finally:
            stop.set()
            beat.join()
            with suppress(ChromaError):  # taken over as stale meanwhile: nothing of ours to release
                client.delete_collection(name)


def _acquire_server(client: ClientAPI, name: str, collection: str, wait: float, notice: Notice) -> None:
    deadline = time.monotonic() + max(wait, 0.0)
    told = False
    while True:
        try:
            client.create_collection(name, metadata=_owner())
            return
        except ChromaError as error:
            if "already exists" not in str(error).lower():
                problem = f"cannot take the writer lock of '{collection}' on the Chroma server ({error})"
                raise StoreError(problem) from None
        owner = _server_owner(client, name)
        if owner is not None and time.time() - float(owner.get("beat", 0)) > STALE_SECONDS:
            _delete_if_unchanged(client, name, owner)  # its writer died: take the lock over
            continue
        if time.monotonic() >= deadline:
            raise _busy(collection, owner or {}, wait)
        if not told:
            notice(f"waiting for another ingest into '{collection}'{_describe(owner or {})}…")
            told = True
        time.sleep(POLL_SECONDS)


def _server_owner(client: ClientAPI, name: str) -> dict[str, Any] | None:
    try:
        return dict(client.get_collection(name).metadata or {})
    except ChromaError:
        return None  # released meanwhile


def _delete_if_unchanged(client: ClientAPI, name: str, seen: dict[str, Any]) -> None:
    if _server_owner(client, name) == seen:
        with suppress(ChromaError):
            client.delete_collection(name)


def _heartbeat(client: ClientAPI, name: str, stop: threading.Event) -> None:
    while not stop.wait(HEARTBEAT_SECONDS):
        try:
            client.get_collection(name).modify(metadata=_owner())
        except Exception:
            return
