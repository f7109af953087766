"""A fake OpenAI API for tests: a real HTTP/1.1 server on 127.0.0.1 speaking the OpenAI protocol.

Owns `FakeOpenAI` (chat completions, streamed or not, with token usage; embeddings; model list) and its
failure modes ("error", "unauthorized", "rate_limited", "hang", "stall", "broken_stream"), a script of
modes for the next requests (`fail_next`: e.g. one HTTP 500, then answers), slow streams (`word_delay`
seconds before each word), the `fake_openai()` context manager, `scripted(*replies)` (one reply per
request, in order), and `judging(reply)`, which plays llama-index's correctness and faithfulness judges.
Nothing here touches the network beyond the loopback interface.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
import struct
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

Mode = Literal["ok", "error", "unauthorized", "rate_limited", "hang", "stall", "broken_stream"]
Reply = Callable[[list[dict]], str]

DEFAULT_REPLY = "This is a canned answer from the fake OpenAI server."
MODEL_ID = "fake-model"
EMBEDDING_DIM = 8


def default_reply(messages: list[dict]) -> str:
    """The fixed assistant text used when no `reply` function is given."""
    return DEFAULT_REPLY


def scripted(*replies: str) -> Reply:
    """A reply function answering the requests with `replies` in order (the last one repeats)."""
    queue = list(replies)

    def reply(messages: list[dict]) -> str:
        return queue.pop(0) if len(queue) > 1 else queue[0]

    return reply


def _content_words(text: str) -> set[str]:
    return {word for word in re.findall(r"[a-z0-9]+", re.sub(r"\[\d+\]", " ", text.lower())) if len(word) > 3}


def _judge_correctness(prompt: str) -> str:
    """Score 1-5 by the share of the reference answer's content words found in the generated answer."""
    reference = prompt.split("## Reference Answer", 1)[1].split("## Generated Answer", 1)[0]
    generated = prompt.split("## Generated Answer", 1)[1]
    wanted = _content_words(reference)
    share = len(wanted & _content_words(generated)) / len(wanted) if wanted else 0.0
    return f"{1 + 4 * share:.1f}\n{share:.0%} of the reference answer's words are in the generated answer."


def _judge_faithfulness(prompt: str) -> str:
    """YES when every content word of the information appears in the context."""
    if "We want to understand if the following information is present" in prompt:  # llama-index's refine step
        if "existing YES/NO answer: YES" in prompt:
            return "YES"
        information = prompt.split("in the context information:", 1)[1].split("We have provided", 1)[0]
        context = prompt.split("------------", 1)[1]
    else:
        information = prompt.rsplit("Information: ", 1)[1].split("\nContext: ", 1)[0]
        context = prompt.rsplit("\nContext: ", 1)[1]
    return "YES" if _content_words(information) <= _content_words(context) else "NO"


def judging(reply: Reply = default_reply) -> Reply:
    """A reply function that plays llama-index's CorrectnessEvaluator and FaithfulnessEvaluator judges
    (deterministically, by word overlap) and answers every other request with `reply`."""

    def answer(messages: list[dict]) -> str:
        text = "\n".join(str(m.get("content", "")) for m in messages)
        if "You are an expert evaluation system for a question answering chatbot" in text:
            return _judge_correctness(text)
        if "is supported by the context" in text or "following information is present" in text:
            return _judge_faithfulness(text)
        return reply(messages)

    return answer


def fake_embedding(text: str) -> list[float]:
    """Deterministic unit vector of dimension EMBEDDING_DIM derived from a SHA-256 of the text."""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    raw = struct.unpack(f"<{EMBEDDING_DIM}h", digest[: 2 * EMBEDDING_DIM])
    norm = math.sqrt(sum(x * x for x in raw)) or 1.0
    return [x / norm for x in raw]


def split_deltas(text: str) -> list[str]:
    """Split on word boundaries, keeping whitespace, so that "".join(result) == text."""
    return [piece for piece in re.split(r"(?<=\s)(?=\S)", text) if piece]


def _word_count(text: str) -> int:
    return len(text.split())


def _error_body(message: str, error_type: str) -> dict:
    return {"error": {"message": message, "type": error_type, "param": None, "code": None}}


def _encode_embedding(vector: list[float], encoding_format: str) -> list[float] | str:
    if encoding_format == "base64":
        return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode("ascii")
    return vector


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, fake: FakeOpenAI) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fake = fake


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    # --- plumbing ----------------------------------------------------------------------

    def handle(self) -> None:
        # Clients that time out or drop the connection are expected in tests, not errors.
        with suppress(ConnectionError):
            super().handle()

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send_json(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _read_json(self) -> dict | None:
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except json.JSONDecodeError:
            return None
        return body if isinstance(body, dict) else None

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):X}\r\n".encode("ascii") + data + b"\r\n")
        self.wfile.flush()

    def _send_event(self, payload: dict | str) -> None:
        text = payload if isinstance(payload, str) else json.dumps(payload)
        self._write_chunk(f"data: {text}\n\n".encode())

    # --- routing -----------------------------------------------------------------------

    def do_GET(self) -> None:
        if self.path.rstrip("/") == "/v1/models":
            model = {"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "tests"}
            self._send_json(200, {"object": "list", "data": [model]})
        else:
            self._not_found()

    def do_POST(self) -> None:
        routes: dict[str, Callable[..., None]] = {
            "/v1/chat/completions": self._chat,
            "/v1/embeddings": self._embeddings,
        }
        route = routes.get(self.path.rstrip("/"))
        if route is None:
            self._not_found()
            return
        body = self._read_json()
        if body is None:
            self._send_json(400, _error_body("Request body must be a JSON object.", "invalid_request_error"))
            return
        fake = self.server.fake
        mode = fake.record(body)
        if mode == "unauthorized":
            self._send_json(401, _error_body("Incorrect API key provided.", "invalid_request_error"))
            return
        if mode == "rate_limited":
            self._send_json(429, _error_body("Rate limit reached.", "rate_limit_error"))
            return
        if mode == "error":
            self._send_json(500, _error_body("The fake server was told to fail.", "server_error"))
            return
        if mode == "hang":
            fake.wait(fake.hang_seconds)
        if route == self._chat:
            self._chat(body, mode)
        else:
            route(body)

    def _not_found(self) -> None:
        self._send_json(404, _error_body(f"Unknown path {self.path}", "invalid_request_error"))

    # --- endpoints ---------------------------------------------------------------------

    def _chat(self, body: dict, mode: Mode = "ok") -> None:
        fake = self.server.fake
        messages = body.get("messages", [])
        text = fake.reply(messages)
        prompt_tokens = sum(_word_count(str(m.get("content", ""))) for m in messages)
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": _word_count(text),
            "total_tokens": prompt_tokens + _word_count(text),
        }
        meta = {
            "id": f"chatcmpl-fake-{fake.request_count()}",
            "created": int(time.time()),
            "model": body.get("model", MODEL_ID),
        }
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            self._stream_chat(meta, text, usage if include_usage else None, mode)
            return
        choice = {
            "index": 0,
            "message": {"role": "assistant", "content": text},
            "finish_reason": "stop",
            "logprobs": None,
        }
        self._send_json(200, {**meta, "object": "chat.completion", "choices": [choice], "usage": usage})

    def _stream_chat(self, meta: dict, text: str, usage: dict | None, mode: Mode) -> None:
        def chunk(delta: dict, finish_reason: str | None = None) -> dict:
            choice = {"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}
            return {**meta, "object": "chat.completion.chunk", "choices": [choice]}

        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self._send_event(chunk({"role": "assistant", "content": ""}))
        fake = self.server.fake
        if mode == "broken_stream":
            # Close without the terminating zero-length chunk: the client sees a truncated body.
            self.close_connection = True
            return
        if mode == "stall":  # the stream opens, then nothing more comes
            fake.wait(fake.hang_seconds)
            self.close_connection = True
            return
        for piece in split_deltas(text):
            if fake.word_delay:
                fake.wait(fake.word_delay)
            self._send_event(chunk({"content": piece}))
        self._send_event(chunk({}, "stop"))
        if usage is not None:
            self._send_event({**meta, "object": "chat.completion.chunk", "choices": [], "usage": usage})
        self._send_event("[DONE]")
        self._write_chunk(b"")

    def _embeddings(self, body: dict) -> None:
        inputs = body.get("input", [])
        texts = [inputs] if isinstance(inputs, str) else [str(item) for item in inputs]
        encoding_format = body.get("encoding_format") or "float"
        data = [
            {"object": "embedding", "index": i, "embedding": _encode_embedding(fake_embedding(text), encoding_format)}
            for i, text in enumerate(texts)
        ]
        tokens = sum(_word_count(text) for text in texts)
        self._send_json(
            200,
            {
                "object": "list",
                "data": data,
                "model": body.get("model", MODEL_ID),
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            },
        )


class FakeOpenAI:
    """OpenAI-compatible server on 127.0.0.1:<random port>, served from a daemon thread.

    `mode`, `reply`, `hang_seconds` and `word_delay` may be changed while the server runs.
    "broken_stream" and "stall" only affect streamed chat completions; other requests are answered
    normally. `fail_next(*modes)` sets the modes of the next requests (then `mode` again).
    `times` holds each request's arrival (time.monotonic()), beside `requests`.
    """

    def __init__(self, mode: Mode = "ok", reply: Reply = default_reply, hang_seconds: float = 5.0) -> None:
        self.mode: Mode = mode
        self.reply: Reply = reply
        self.hang_seconds = hang_seconds
        self.word_delay = 0.0
        self.requests: list[dict] = []
        self.times: list[float] = []
        self._script: list[Mode] = []
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._server = _Server(self)
        host, port = self._server.server_address[:2]
        self.base_url = f"http://{host}:{port}/v1"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def record(self, body: dict) -> Mode:
        """Keep the request; the mode it is answered in (the script's next one, else `mode`)."""
        with self._lock:
            self.requests.append(body)
            self.times.append(time.monotonic())
            return self._script.pop(0) if self._script else self.mode

    def fail_next(self, *modes: Mode) -> None:
        """Answer the next requests in these modes, one each, then in `mode` again."""
        with self._lock:
            self._script = list(modes)

    def request_count(self) -> int:
        with self._lock:
            return len(self.requests)

    def wait(self, seconds: float) -> None:
        """Sleep up to `seconds`, waking early when the server closes."""
        self._closed.wait(seconds)

    def close(self) -> None:
        if self._closed.is_set():
            return
        self._closed.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def __enter__(self) -> FakeOpenAI:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


@contextmanager
def fake_openai(mode: Mode = "ok", reply: Reply = default_reply, hang_seconds: float = 5.0) -> Iterator[FakeOpenAI]:
    """Run a FakeOpenAI for the duration of a `with` block (or a yield-fixture)."""
    with FakeOpenAI(mode, reply, hang_seconds) as server:
        yield server
