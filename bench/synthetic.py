"""Shared helpers of the scale and load benchmarks: synthetic stores, memory, disk, servers.

A synthetic store of N chunks is made from the real MultiHop-RAG chunks (text, metadata
and the vectors the MiniLM model gave them) already ingested under `bench/out/multihop`:
copy r of an article gets the id `copy-<r>-<original id>`, its chunks the text
`<original> (copy r)` (copy 0 is the original, unchanged) and the vector
normalise(original + noise), the noise Gaussian with an expected norm of `noise` (0.05
by default: a copy's cosine to its original is about 0.999), seeded. So the HNSW index
holds N distinct points with the distribution of real embeddings, the BM25 index N real
texts, and nothing has to be embedded. Chunks are written exactly as `rag.ingest.run` does:
`ChunkStore.write_chunks` then `commit_articles` per flush of at least FLUSH_CHUNKS
chunks, between `begin_run` and `end_run`; then the BM25 index is built.

Only read here: the MultiHop store (`export_source` opens it read-only and is run before
anything else uses it).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import resource
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

import numpy as np

from rag.config import Settings
from rag.ingest.run import FLUSH_CHUNKS
from rag.models.embedding import MINILM_DIMENSION, MINILM_MODEL_ID
from rag.search.lexical import Bm25Index
from rag.store.chroma import ArticleRecord, ChunkStore

ROOT = Path(__file__).resolve().parent.parent

MULTIHOP_DIR = ROOT / "bench" / "out" / "multihop"
MULTIHOP_COLLECTION = "multihop"


def _checkout() -> Path:
    """The main checkout (a git worktree's `.git` file names `<main>/.git/worktrees/<name>`)."""
    git = ROOT / ".git"
    if git.is_file():
        return Path(git.read_text(encoding="utf-8").partition("gitdir:")[2].strip()).parents[2]
    return ROOT


DATA = _checkout().parent / "shared" / "data" / "multihop-rag"
CORPUS = DATA / "corpus.json"
QUERIES = DATA / "queries-dev.json"


# --- settings ------------------------------------------------------------------------------
def bench_settings(data_dir: Path, collection: str, chroma_port: int | None = None, **overrides: Any) -> Settings:
    """Settings that ignore the environment's .env, API key and server (unless a port is given)."""
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "collection": collection,
        "openai_api_key": None,
        "openai_base_url": None,
        "chroma_host": "127.0.0.1" if chroma_port else None,
        **({"chroma_port": chroma_port} if chroma_port else {}),
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without the project's variables (no key, no server), plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "RAG_", "CHROMA_", "GRADIO_"))}
    env["GRADIO_ANALYTICS_ENABLED"] = "False"
    env.update(extra)
    return env


class NoModel:
    """Stands in for the embedder when only the store is used: same model id, never embeds."""

    model_id = MINILM_MODEL_ID
    dimension = MINILM_DIMENSION

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        raise RuntimeError("the synthetic store writer never embeds")

    def count_tokens(self, text: str) -> int:
        return len(text.split())


# --- the real chunks -------------------------------------------------------------------------
def ensure_multihop() -> None:
    """Ingest the MultiHop corpus into its benchmark store (a no-op when it is there already)."""
    from rag.pipeline import Pipeline

    pipeline = Pipeline.open(bench_settings(MULTIHOP_DIR, MULTIHOP_COLLECTION))
    report = pipeline.ingest([CORPUS], progress=True)
    print(f"MultiHop store {MULTIHOP_DIR}: {report.summary()}", file=sys.stderr)


@dataclass
class SourceChunks:
    """Real chunks (grouped by article, in chunk order) with their stored vectors."""

    ids: list[str]
    texts: list[str]
    metadatas: list[dict[str, Any]]
    vectors: np.ndarray  # (n, 384) float32, unit rows

    def __len__(self) -> int:
        return len(self.ids)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path.with_suffix(".npy"), self.vectors)
        payload = {"ids": self.ids, "texts": self.texts, "metadatas": self.metadatas}
        path.with_suffix(".json").write_text(json.dumps(payload), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> SourceChunks:
        payload = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
        vectors = np.load(path.with_suffix(".npy"))
        return cls(payload["ids"], payload["texts"], payload["metadatas"], vectors)

    def articles(self) -> list[list[int]]:
        """Row indices of each article's chunks (rows are grouped by article)."""
        groups: list[list[int]] = []
        previous = None
        for row, meta in enumerate(self.metadatas):
            if meta["article_id"] != previous:
                groups.append([])
                previous = meta["article_id"]
            groups[-1].append(row)
        return groups


def export_source(data_dir: Path = MULTIHOP_DIR, collection: str = MULTIHOP_COLLECTION) -> SourceChunks:
    """Every chunk of the MultiHop store with its vector (reads only)."""
    store = ChunkStore.open(bench_settings(data_dir, collection), NoModel())
    ids = [record.id for record in store.iter_chunks()]
    pairs = []
    for start in range(0, len(ids), 1000):
        pairs.extend(store.get_chunks(ids[start : start + 1000]))
    pairs.sort(key=lambda pair: (str(pair[0].metadata["article_id"]), int(pair[0].metadata["chunk_index"])))
    if not pairs:
        raise SystemExit(f"no chunks in collection {collection!r} under {data_dir}")
    return SourceChunks(
        ids=[record.id for record, _ in pairs],
        texts=[record.text for record, _ in pairs],
        metadatas=[record.metadata for record, _ in pairs],
        vectors=np.stack([vector for _, vector in pairs]).astype(np.float32),
    )


# --- the synthetic corpus -------------------------------------------------------------------
@dataclass
class SyntheticArticle:
    record: ArticleRecord
    ids: list[str]
    texts: list[str]
    metadatas: list[dict[str, Any]]
    vectors: np.ndarray


def _chunk_id(article_id: str, article_hash: str, index: int) -> str:
    """Same shape as rag.ingest.run.chunk_id."""
    return f"{hashlib.sha1(article_id.encode('utf-8')).hexdigest()[:16]}:{article_hash[:12]}:{index}"


def synthetic_articles(
    source: SourceChunks, chunks: int, one_chunk_per_article: bool = False, noise: float = 0.05, seed: int = 0
) -> Iterator[SyntheticArticle]:
    """Articles totalling exactly `chunks` chunks, copies of the source's (see module doc)."""
    rng = np.random.default_rng(seed)
    sigma = noise / np.sqrt(source.vectors.shape[1])  # per component, so the noise norm is ~`noise`
    groups = [[row] for row in range(len(source))] if one_chunk_per_article else source.articles()
    made, copy = 0, 0
    while made < chunks:
        for rows in groups:
            rows = rows[: chunks - made]
            if not rows:
                return
            first = source.metadatas[rows[0]]
            original_id = source.ids[rows[0]] if one_chunk_per_article else str(first["article_id"])
            article_id = f"copy-{copy}-{original_id}"
            article_hash = hashlib.sha256(f"{first['article_hash']}:{copy}:{original_id}".encode()).hexdigest()
            title = str(first.get("title", "")) + (f" (copy {copy})" if copy else "")
            ids, texts, metadatas = [], [], []
            for index, row in enumerate(rows):
                ids.append(_chunk_id(article_id, article_hash, index))
                texts.append(source.texts[row] + (f" (copy {copy})" if copy else ""))
                metadatas.append(
                    {
                        **source.metadatas[row],
                        "article_id": article_id,
                        "article_hash": article_hash,
                        "chunk_index": index,
                        "title": title,
                    }
                )
            vectors = source.vectors[rows]
            if copy:
                vectors = vectors + rng.normal(0.0, sigma, vectors.shape).astype(np.float32)
                vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            record = ArticleRecord(
                article_id, article_hash, f"synthetic://multihop/copy-{copy}", title, len(rows), chunk_ids=tuple(ids)
            )
            yield SyntheticArticle(record, ids, texts, metadatas, vectors.astype(np.float32))
            made += len(rows)
        copy += 1


@dataclass
class BuildTimes:
    chunks: int = 0
    articles: int = 0
    generate_s: float = 0.0  # making the synthetic data (not part of any real ingest)
    begin_end_s: float = 0.0  # begin_run + end_run
    write_s: float = 0.0  # ChunkStore.write_chunks
    commit_s: float = 0.0  # ChunkStore.commit_articles (manifest upsert + stale-chunk deletes)
    bm25_s: float = 0.0  # Bm25Index.refresh: read every chunk back, tokenize, index, save
    flushes: int = 0
    wall_s: float = 0.0

    @property
    def store_s(self) -> float:
        return self.begin_end_s + self.write_s + self.commit_s

    @property
    def store_rate(self) -> float:
        return self.chunks / self.store_s if self.store_s else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "store_s": self.store_s, "store_rate": self.store_rate}


def build_store(
    settings: Settings,
    source: SourceChunks,
    chunks: int,
    one_chunk_per_article: bool = False,
    flush_chunks: int = FLUSH_CHUNKS,
    noise: float = 0.05,
    seed: int = 0,
    bm25: bool = True,
    progress: bool = True,
) -> BuildTimes:
    """Write a synthetic corpus of `chunks` chunks into the (fresh) store of `settings`."""
    times = BuildTimes()
    started = time.perf_counter()
    store = ChunkStore.open(settings, NoModel())
    if store.chunk_count():
        raise SystemExit(f"collection {settings.collection!r} is not empty: the benchmark needs a fresh store")
    t = time.perf_counter()
    store.begin_run()
    store.manifest()  # as an ingest does: the run keeps its copy and saves it (rag.store.manifest_cache)
    times.begin_end_s += time.perf_counter() - t
    pending: list[SyntheticArticle] = []
    reported = time.monotonic()

    def flush() -> None:
        ids = [i for a in pending for i in a.ids]
        texts = [x for a in pending for x in a.texts]
        metadatas = [m for a in pending for m in a.metadatas]
        vectors = np.concatenate([a.vectors for a in pending])
        t0 = time.perf_counter()
        store.write_chunks(ids, texts, vectors, metadatas)
        t1 = time.perf_counter()
        store.commit_articles([a.record for a in pending])
        t2 = time.perf_counter()
        times.write_s += t1 - t0
        times.commit_s += t2 - t1
        times.chunks += len(ids)
        times.articles += len(pending)
        times.flushes += 1
        pending.clear()

    generator = synthetic_articles(source, chunks, one_chunk_per_article, noise, seed)
    while True:
        t = time.perf_counter()
        article = next(generator, None)
        times.generate_s += time.perf_counter() - t
        if article is None:
            break
        pending.append(article)
        if sum(len(a.ids) for a in pending) >= flush_chunks:
            flush()
            if progress and time.monotonic() - reported > 15:
                reported = time.monotonic()
                print(
                    f"  wrote {times.chunks:,}/{chunks:,} chunks ({times.store_rate:,.0f}/s)",
                    file=sys.stderr,
                    flush=True,
                )
    if pending:
        flush()
    t = time.perf_counter()
    store.end_run(changed=True)
    times.begin_end_s += time.perf_counter() - t
    if bm25:
        t = time.perf_counter()
        Bm25Index(settings.data_dir / "bm25" / settings.collection).refresh(store)
        times.bm25_s = time.perf_counter() - t
    times.wall_s = time.perf_counter() - started
    return times


# --- measuring -----------------------------------------------------------------------------
def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (ru_maxrss is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def proc_memory_mb(pid: int) -> dict[str, float]:
    """Current (VmRSS) and peak (VmHWM) resident memory of a process, from /proc."""
    values: dict[str, float] = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0]) / 1024
    except OSError:
        pass
    return values


def dir_size_mb(path: Path) -> float:
    """Space the files under `path` take on disk (allocated blocks), MiB."""
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(root, name)).st_blocks * 512
    return total / 2**20


def percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=np.float64), q)) if values else float("nan")


def hardware() -> dict[str, str]:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_kib = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem_kib = int(line.split()[1])
    except OSError:
        pass
    try:
        load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        load = "?"
    return {
        "cpus (nproc)": str(os.cpu_count() if not hasattr(os, "sched_getaffinity") else len(os.sched_getaffinity(0))),
        "cpu model": model,
        "ram": f"{mem_kib / 2**20:.1f} GiB",
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "load average at start": load,
    }


def hardware_markdown(info: dict[str, str]) -> str:
    return "\n".join(f"- {key}: {value}" for key, value in info.items())


def load_questions(count: int, seed: int = 0, path: Path = QUERIES) -> list[str]:
    """`count` MultiHop dev questions, a seeded sample (all of them if fewer)."""
    questions = [item["query"] for item in json.loads(path.read_text(encoding="utf-8"))]
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(questions))
    return [questions[i] for i in order[: min(count, len(questions))]]


# --- processes -----------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop_process(process: subprocess.Popen[Any] | None) -> None:
    """Terminate a child process (kill it after 30 s)."""
    if process is not None and process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)


def emit(text: str, out: Path | None) -> None:
    """Print a report and save it to `out` if given."""
    print(text)
    if out:
        out.write_text(text, encoding="utf-8")


def cleanup(root: Path, keep: bool) -> None:
    """Remove a benchmark's work folder, unless asked to keep it."""
    if keep:
        print(f"kept {root}", file=sys.stderr)
    else:
        shutil.rmtree(root, ignore_errors=True)


def wait_http(url: str, process: subprocess.Popen[Any], log: Path, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=5)
            return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
                raise RuntimeError(f"{url} did not answer (exit code {process.poll()}):\n{tail}") from None
            time.sleep(0.5)


@dataclass
class ChromaServer:
    """`chroma run` on loopback, storing under `path`; stop() ends it."""

    path: Path
    port: int = 0
    process: subprocess.Popen[Any] | None = None
    log: Path = field(default_factory=Path)

    def start(self) -> ChromaServer:
        chroma = Path(sys.executable).parent / "chroma"
        binary = str(chroma) if chroma.exists() else (shutil.which("chroma") or "chroma")
        self.port = free_port()
        self.path.mkdir(parents=True, exist_ok=True)
        self.log = self.path.parent / f"chroma-{self.port}.log"
        with open(self.log, "w") as out:
            self.process = subprocess.Popen(
                [binary, "run", "--path", str(self.path), "--host", "127.0.0.1", "--port", str(self.port)],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=clean_env(),
            )
        wait_http(f"http://127.0.0.1:{self.port}/api/v2/heartbeat", self.process, self.log, timeout=90)
        return self

    def memory_mb(self) -> dict[str, float]:
        return proc_memory_mb(self.process.pid) if self.process else {}

    def stop(self) -> None:
        stop_process(self.process)
        self.process = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
