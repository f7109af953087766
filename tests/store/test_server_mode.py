"""The same pipeline against a real Chroma server (`chroma run`) on loopback."""

from __future__ import annotations

import http.client
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from rag.errors import StoreError
from rag.models.embedding import MiniLMEmbedder
from rag.pipeline import Pipeline
from tests.conftest import DEMO_DIR, ROOT, clean_env, free_port, make_settings, serving

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    chroma = shutil.which("chroma", path=str(Path(sys.executable).parent)) or shutil.which("chroma")
    assert chroma, "the chroma command comes with the chromadb package"
    port = free_port()
    path = tmp_path_factory.mktemp("chroma-server")
    command = [chroma, "run", "--path", str(path / "db"), "--host", "127.0.0.1", "--port", str(port)]
    with serving(command, f"http://127.0.0.1:{port}/api/v2/heartbeat", path / "server.log"):
        yield port


def server_pipeline(tmp_path: Path, port: int, embedder: MiniLMEmbedder, collection: str) -> Pipeline:
    return Pipeline.open(
        make_settings(tmp_path / "local", chroma_host="127.0.0.1", chroma_port=port, collection=collection), embedder
    )


def test_ingest_ask_and_reingest_against_a_server(
    chroma_server: int, tmp_path: Path, embedder: MiniLMEmbedder, articles_dir: Path
) -> None:
    pipeline = server_pipeline(tmp_path, chroma_server, embedder, "served")
    report = pipeline.ingest([articles_dir], progress=False)
    assert len(report.added) == 1 and report.chunks_written > 1
    assert not (tmp_path / "local" / "chroma").exists()  # nothing went to an embedded store
    answer = pipeline.engine.answer("What guarantees does Kyiv want?").answer
    assert answer is not None and "designated guarantor countries" in answer.text

    again = pipeline.ingest([articles_dir], progress=False)
    assert again.unchanged == 1 and again.chunks_written == 0

    # a second client (another process's view: the app) sees a later ingest without a restart
    reader = server_pipeline(tmp_path / "reader", chroma_server, embedder, "served")
    assert reader.engine.answer("What happened in the zeppelin festival?").answer.declined
    (articles_dir / "zeppelin.txt").write_text(
        "The zeppelin festival drew a record crowd of nine thousand people to the airfield.", encoding="utf-8"
    )
    pipeline.ingest([articles_dir], progress=False)
    late = reader.engine.answer("How many people came to the zeppelin festival?").answer
    assert late is not None and "nine thousand" in late.text


@pytest.mark.slow
def test_cli_uses_the_server_from_the_environment(chroma_server: int, tmp_path: Path) -> None:
    env = clean_env(
        CHROMA_HOST="127.0.0.1",
        CHROMA_PORT=str(chroma_server),
        RAG_DATA_DIR=str(tmp_path / "local"),
        RAG_COLLECTION="cli-served",
    )
    ingest = subprocess.run(
        [sys.executable, "ingest.py", "--quiet", str(DEMO_DIR)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert ingest.returncode == 0 and "added 1" in ingest.stdout, ingest.stderr
    ask = subprocess.run(
        [sys.executable, "-m", "rag", "ask", "What guarantees does Kyiv want?"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "designated guarantor countries" in ask.stdout, ask.stderr
    assert not (tmp_path / "local" / "chroma").exists()


def test_unreachable_server_is_a_clear_error(tmp_path: Path, embedder: MiniLMEmbedder) -> None:
    with pytest.raises(StoreError, match="chroma run"):
        server_pipeline(tmp_path, free_port(), embedder, "nowhere")


TOKEN = "s3cret-token"


@pytest.fixture(scope="module")
def auth_proxy(chroma_server: int) -> Iterator[int]:
    """An authenticating reverse proxy in front of the server, as a deployment would put there."""

    class Proxy(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def _reply(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
            self.send_response(status)
            for name, value in headers:
                if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def forward(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                self._reply(401, [("Content-Type", "application/json")], b'{"error": "Unauthorized"}')
                return
            upstream = http.client.HTTPConnection("127.0.0.1", chroma_server, timeout=60)
            headers = {
                k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection", "authorization")
            }
            upstream.request(self.command, self.path, body=body, headers=headers)
            response = upstream.getresponse()
            self._reply(response.status, response.getheaders(), response.read())
            upstream.close()

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = forward

    server = ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_token_reaches_an_authenticating_proxy(
    auth_proxy: int, tmp_path: Path, embedder: MiniLMEmbedder, articles_dir: Path
) -> None:
    settings = make_settings(
        tmp_path / "local", chroma_host="127.0.0.1", chroma_port=auth_proxy, chroma_token=TOKEN, collection="guarded"
    )
    pipeline = Pipeline.open(settings, embedder)
    assert len(pipeline.ingest([articles_dir], progress=False).added) == 1
    answer = pipeline.engine.answer("What guarantees does Kyiv want?").answer
    assert answer is not None and "designated guarantor countries" in answer.text
    with pytest.raises(StoreError, match="CHROMA_TOKEN"):
        Pipeline.open(
            make_settings(tmp_path / "other", chroma_host="127.0.0.1", chroma_port=auth_proxy, collection="guarded"),
            embedder,
        )


def test_one_writer_at_a_time_on_a_server(chroma_server: int, tmp_path: Path, embedder: MiniLMEmbedder) -> None:
    """The server's lock collection: a second writer is refused after RAG_WRITE_WAIT; a dead writer's
    lock is taken over."""
    import time

    from rag.store import writer

    first = server_pipeline(tmp_path / "a", chroma_server, embedder, "locked")
    hurried = make_settings(tmp_path / "b", chroma_host="127.0.0.1", chroma_port=chroma_server, collection="locked")
    second = Pipeline.open(hurried.model_copy(update={"write_wait": 0.0}), embedder)
    notices: list[str] = []
    with first.store.writing(0, print):
        with pytest.raises(StoreError, match=r"another ingest into 'locked' \(pid \d+\) is still writing after 0 s"):
            second.ingest([DEMO_DIR], progress=False, notice=notices.append)
        assert first.store.collection_names() == sorted({"locked", *first.store.collection_names()})
        assert "locked__writer" not in first.store.collection_names()  # the lock is no collection to users
    report = second.ingest([DEMO_DIR], progress=False)  # released: it goes ahead
    assert len(report.added) == 1 and second.store.generation() == 1
    client = second.store._connection.client  # a lock left by a writer that died long ago
    client.create_collection("locked__writer", metadata={"pid": 1, "host": "gone", "beat": time.time() - 3600})
    with second.store.writing(0, notices.append):
        pass  # taken over at once: its heartbeat is older than writer.STALE_SECONDS
    assert writer.STALE_SECONDS < 3600 and notices == []
