"""Load benchmark: concurrent chat requests through the web app's API, also during an ingest.

Builds a synthetic store of --articles one-chunk articles (copies of the real MultiHop-RAG
chunks with their real vectors, see bench/synthetic.py), starts the web app on it
(`python app.py --port P`, embedded store, no OPENAI_API_KEY: the offline extractive
answerer), and drives it with `gradio_client` (`predict(question, "", 0, api_name="/ask")`)
from a thread pool, with MultiHop dev questions: throughput, p50/p95 latency and failed
requests per concurrency level. Then one more round runs while `python ingest.py` adds
--new-articles short invented articles to the same store in another process (the one
writer), and afterwards each new article's question is asked through the API of the same,
never restarted, app to see whether the new articles became answerable.

    python -m bench.load                                    # 10k articles, concurrency 1 4 8, 100 requests
    python -m bench.load --articles 2000 --concurrency 1 4 --requests 20
    python -m bench.load --out bench/RESULTS-load.md

Ingests the MultiHop corpus into bench/out/multihop first if it is not there. The temporary
store is removed at the end (--keep keeps it).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import shlex
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import synthetic as syn

COLLECTION = "load"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--articles", type=int, default=10_000, help="articles (one chunk each) in the store (default 10000)"
    )
    parser.add_argument(
        "--concurrency", type=int, nargs="+", default=[1, 4, 8], help="concurrent clients per round (default 1 4 8)"
    )
    parser.add_argument("--requests", type=int, default=100, help="requests per round (default 100)")
    parser.add_argument(
        "--ingest-concurrency", type=int, default=4, help="concurrent clients during the ingest round (default 4)"
    )
    parser.add_argument("--new-articles", type=int, default=50, help="articles the concurrent ingest adds (default 50)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed requests before the first round (default 3)")
    parser.add_argument(
        "--timeout",
        type=float,
        default=120,
        help="seconds one request may take before it counts as failed (default 120)",
    )
    parser.add_argument(
        "--round-limit", type=float, default=900, help="seconds one round may take at most (default 900)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--tmp", type=Path, default=None, help="where the temporary store goes (default: system temp dir)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary store and logs")
    parser.add_argument("--out", type=Path, default=None, help="also write the Markdown report to this file")
    parser.add_argument(
        "--flood",
        action="store_true",
        help="instead: the app with its default limits, a few clients asking at a human pace, then one client "
        "flooding it from many threads; are the others still served?",
    )
    parser.add_argument("--flood-seconds", type=float, default=60, help="length of each flood phase (default 60)")
    parser.add_argument(
        "--source-store",
        type=Path,
        default=None,
        help="an ingested MultiHop store to copy chunks from (default: bench/out/multihop, ingested if missing)",
    )
    parser.add_argument("--source-collection", default=syn.MULTIHOP_COLLECTION)
    return parser.parse_args(argv)


# --- the app ---------------------------------------------------------------------------------
@dataclass
class App:
    data_dir: Path
    log: Path
    port: int = 0
    process: subprocess.Popen[Any] | None = None
    # the throughput rounds measure capacity: every client is 127.0.0.1, so the per-client limit is lifted
    limits: dict[str, str] = field(
        default_factory=lambda: {"RAG_QUESTIONS_PER_MINUTE": "1000000", "RAG_QUEUE_SIZE": "64"}
    )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def env(self) -> dict[str, str]:
        return syn.clean_env(RAG_DATA_DIR=str(self.data_dir), RAG_COLLECTION=COLLECTION, **self.limits)

    def start(self) -> float:
        self.port = syn.free_port()
        started = time.perf_counter()
        with open(self.log, "w") as out:
            self.process = subprocess.Popen(
                [sys.executable, "app.py", "--port", str(self.port)],
                cwd=syn.ROOT,
                env=self.env(),
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        syn.wait_http(self.url, self.process, self.log, timeout=300)
        return time.perf_counter() - started

    def memory_mb(self) -> dict[str, float]:
        return syn.proc_memory_mb(self.process.pid) if self.process else {}

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        syn.stop_process(self.process)


# --- load rounds ---------------------------------------------------------------------------------
@dataclass
class Request:
    question: str
    start: float
    end: float
    ok: bool
    error: str = ""
    result: Any = None

    @property
    def seconds(self) -> float:
        return self.end - self.start


@dataclass
class Round:
    name: str
    concurrency: int
    requests: list[Request] = field(default_factory=list)
    wall_s: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[Request]:
        return [r for r in self.requests if not r.ok]

    def row(self) -> str:
        latencies = [r.seconds for r in self.requests]
        ok = len(self.requests) - len(self.failed)
        return (
            f"| {self.name} | {self.concurrency} | {len(self.requests)} | "
            f"{ok / self.wall_s if self.wall_s else 0:.2f} | "
            f"{syn.percentile(latencies, 50):.2f} | {syn.percentile(latencies, 95):.2f} | "
            f"{max(latencies, default=0):.2f} | "
            f"{len(self.failed)} |"
        )


def make_clients(url: str, count: int, address: str = "") -> list[Any]:
    """`address`: the client address to claim (X-Forwarded-For, trusted from loopback), one per client
    when it ends with '.' ('10.0.1.' -> 10.0.1.1, 10.0.1.2, …)."""
    from gradio_client import Client

    def headers(number: int) -> dict[str, str]:
        if not address:
            return {}
        return {"X-Forwarded-For": f"{address}{number + 1}" if address.endswith(".") else address}

    return [Client(url, verbose=False, headers=headers(i)) for i in range(count)]


def ask(client: Any, question: str, timeout: float) -> Request:
    start = time.perf_counter()
    try:
        job = client.submit(question, "", 0, api_name="/ask")
        result = job.result(timeout=timeout)
        ok = isinstance(result, dict) and "answer" in result and "error" not in result
        error = "" if ok else f"unexpected result {str(result)[:200]}"
        return Request(question, start, time.perf_counter(), ok, error, result)
    except Exception as exc:
        return Request(question, start, time.perf_counter(), False, f"{type(exc).__name__}: {exc}"[:300])


def run_round(
    name: str,
    clients: list[Any],
    questions: list[str],
    minimum: int,
    timeout: float,
    limit: float,
    keep_going: threading.Event | None = None,
) -> Round:
    """Each client thread takes the next question until `minimum` were taken (and, with
    `keep_going`, until that is cleared too); stops early after `limit` seconds."""
    result = Round(name, len(clients))
    lock = threading.Lock()
    position = [0]
    deadline = time.perf_counter() + limit

    def next_question() -> str | None:
        with lock:
            if time.perf_counter() > deadline:
                return None
            if position[0] >= minimum and not (keep_going is not None and keep_going.is_set()):
                return None
            question = questions[position[0] % len(questions)]
            position[0] += 1
            return question

    def drive(client: Any) -> None:
        while (question := next_question()) is not None:
            request = ask(client, question, timeout)
            with lock:
                result.requests.append(request)

    started = time.perf_counter()
    with ThreadPoolExecutor(len(clients)) as pool:
        for future in [pool.submit(drive, client) for client in clients]:
            future.result()
    result.wall_s = time.perf_counter() - started
    if time.perf_counter() > deadline:
        result.notes.append(f"stopped after the {limit:.0f} s round limit")
    return result


# --- the new articles of the concurrent ingest ---------------------------------------------------
SYLLABLES = [
    "vel",
    "mor",
    "ask",
    "tan",
    "quin",
    "dor",
    "bre",
    "lix",
    "zan",
    "pol",
    "ith",
    "ur",
    "gan",
    "sev",
    "rho",
    "kel",
    "mab",
    "tor",
    "vish",
    "nel",
]
FIRST = ["Ilse", "Odran", "Marek", "Soveig", "Tamsin", "Kaito", "Ysolde", "Branimir", "Femke", "Oriel"]
LAST = ["Vantrelle", "Oskarsdottir", "Pellinore", "Quastberg", "Harrowvane", "Tiberga", "Lunholt", "Ferrecast"]
FISH = ["herring", "mackerel", "eel", "sprat", "trout"]


@dataclass(frozen=True)
class NewArticle:
    town: str
    visitors: int
    title: str
    question: str


def write_new_articles(folder: Path, count: int, seed: int) -> list[NewArticle]:
    """Short invented articles, each with a unique town name and visitor count to ask about."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    articles: list[NewArticle] = []
    towns: set[str] = set()
    while len(articles) < count:
        town = "".join(rng.sample(SYLLABLES, 3)).capitalize()
        if town in towns:
            continue
        towns.add(town)
        visitors = rng.randrange(1_200, 98_000)
        title = f"{town} harbour festival draws {visitors:,} visitors"
        body = (
            f"The annual harbour festival in the coastal town of {town} drew {visitors:,} visitors this weekend, "
            f"organisers said on Sunday. Mayor {rng.choice(FIRST)} {rng.choice(LAST)} opened the festival by launching "
            f"a lantern boat across the bay. Local fishermen sold smoked {rng.choice(FISH)} from wooden stalls along "
            "the "
            f"quay, and a brass band from the neighbouring village played until midnight. The organisers said the "
            f"festival's budget was {rng.randrange(20, 400)} thousand euros, most of it raised from ticket sales. "
            f"Next year's festival in {town} is planned for the second week of June."
        )
        day = 1 + len(articles) % 28
        (folder / f"festival-{len(articles):03d}.txt").write_text(
            f"Title: {title}\nDate: 2024-06-{day:02d}\nSource: Bench Gazette\n\n{body}\n", encoding="utf-8"
        )
        articles.append(
            NewArticle(town, visitors, title, f"How many visitors did the harbour festival in {town} draw?")
        )
    return articles


def answerable(request: Request, article: NewArticle) -> bool:
    """The answer states the visitor count and cites the new article."""
    if not request.ok or not isinstance(request.result, dict):
        return False
    cited = any(c.get("title") == article.title for c in request.result.get("citations", []))
    return cited and f"{article.visitors:,}" in request.result.get("answer", "")


def check_new(client: Any, articles: list[NewArticle], timeout: float) -> tuple[int, list[Request]]:
    requests = [ask(client, article.question, timeout) for article in articles]
    return sum(answerable(r, a) for r, a in zip(requests, articles, strict=False)), requests


# --- report ------------------------------------------------------------------------------------
def report(
    args: argparse.Namespace,
    info: dict[str, str],
    build: syn.BuildTimes,
    startup_s: float,
    rounds: list[Round],
    ingest: dict[str, Any],
    app_memory: dict[str, float],
    log_errors: list[str],
    total_s: float,
) -> str:
    lines = [
        "# Load benchmark",
        "",
        f"Date: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M UTC}. Whole run: {total_s / 60:.1f} min.",
        "",
        f"Command: `python -m bench.load {' '.join(shlex.quote(a) for a in sys.argv[1:])}`",
        "",
        "Hardware:",
        "",
        syn.hardware_markdown(info),
        "",
        (
            f"Store: {build.articles:,} synthetic one-chunk articles (copies of the real MultiHop-RAG chunks with "
            "their real "
            f"vectors), embedded Chroma, built in {build.wall_s:.0f} s. App: `python app.py --port P` (Gradio queue "
            f"concurrency 4 = Settings.concurrency default, hybrid retrieval, top_k 5, offline extractive answerer, no "
            f"OPENAI_API_KEY), ready {startup_s:.1f} s after start. Clients: one `gradio_client.Client` per thread, "
            f'`predict(question, "", 0, api_name="/ask")` (via submit/result with a {args.timeout:.0f} s timeout), '
            "questions "
            "from the MultiHop dev set, different ones each round. A request fails if it raises, times out, or "
            "returns no answer."
        ),
        "",
        "| round | concurrency | requests | throughput req/s | p50 s | p95 s | max s | failed |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ] + [r.row() for r in rounds]
    lines += ["", "## Load during an ingest", ""]
    lines += [
        (
            f"`python ingest.py <{ingest['count']} new short articles>` ran in another process against the same "
            "embedded store "
            f"while the last round ran: exit code {ingest['exit']}, {ingest['seconds']:.1f} s, output "
            f"`{ingest['summary']}`. "
            f"{ingest['overlap']} of that round's requests ran (at least partly) while the ingest ran (their p50 "
            f"{ingest['window_p50']:.2f} s, max {ingest['window_max']:.2f} s). While the ingest ran, the app process "
            "itself "
            f"built a BM25 index {ingest['app_bm25_builds']} time(s) (bm25s' 'Building index' lines in the app log; "
            "the "
            f"ingest process builds the same index for the new generation)."
        ),
        "",
        f"- Before the ingest, {ingest['before_ok']}/{ingest['before_n']} of the new articles' questions were "
        "answerable (expected 0).",
        (
            f"- After it, without restarting the app: **{ingest['after_ok']}/{ingest['after_n']} answerable** (the "
            "answer gives the "
            f"article's visitor count and cites it); the first question asked {ingest['first_after_s']:.1f} s after "
            "the ingest ended "
            f"took {ingest['first_latency_s']:.2f} s and was "
            f"{'answerable' if ingest['first_ok'] else 'NOT answerable'}."
        ),
    ]
    if ingest.get("misses"):
        lines += ["- Not answerable, examples:"] + [f"  - {m}" for m in ingest["misses"][:5]]
    lines += ["", "## Other observations", ""]
    lines.append(f"- App process peak RSS (VmHWM): {app_memory.get('VmHWM', float('nan')):,.0f} MiB.")
    for r in rounds:
        for note in r.notes:
            lines.append(f"- {r.name}: {note}")
        errors = sorted({req.error for req in r.failed})
        for error in errors[:5]:
            lines.append(f"- {r.name}: failure `{error}`")
    if log_errors:
        lines.append(f"- The app log has {len(log_errors)} error/traceback lines, e.g.:")
        lines += [f"  - `{line[:300]}`" for line in log_errors[:8]]
    else:
        lines.append("- The app log has no error or traceback lines.")
    total_failed = sum(len(r.failed) for r in rounds)
    lines += [
        "",
        "## Targets",
        "",
        f"- Failed requests must be 0: {total_failed} failed across all rounds: "
        f"{'**met**' if total_failed == 0 else '**not met**'}",
        (
            f"- New articles answerable through the API after a concurrent ingest, without a restart: "
            f"{ingest['after_ok']}/{ingest['after_n']}: "
            f"{'**met**' if ingest['after_ok'] == ingest['after_n'] else '**not met**'}"
        ),
    ]
    return "\n".join(lines) + "\n"


def paced(clients: list[Any], questions: list[str], offset: int, seconds: float, pace: float, timeout: float) -> Round:
    """Each client asks one question every `pace` seconds for `seconds` (a person reading the answers)."""
    result = Round("people", len(clients))
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def drive(number: int, client: Any) -> None:
        turn = 0
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            request = ask(client, questions[(offset + number * 37 + turn) % len(questions)], timeout)
            turn += 1
            with lock:
                result.requests.append(request)
            time.sleep(max(0.0, pace - (time.perf_counter() - started)))  # the pace of the experiment

    started = time.perf_counter()
    with ThreadPoolExecutor(len(clients)) as pool:
        for future in [pool.submit(drive, n, c) for n, c in enumerate(clients)]:
            future.result()
    result.wall_s = time.perf_counter() - started
    return result


def flood_report(app: App, args: argparse.Namespace) -> str:
    """People alone, then people while one client floods from 12 threads: latency, failures, refusals."""
    questions = syn.load_questions(10_000, args.seed)
    people = make_clients(app.url, 3, "10.0.1.")
    for client in people:
        ask(client, questions[0], args.timeout)  # warm-up
    alone = paced(people, questions, 1, args.flood_seconds, 5.0, args.timeout)
    flooder = make_clients(app.url, 12, "10.6.6.6")
    stop = threading.Event()
    flood = Round("flood", len(flooder))

    def hammer(number: int, client: Any) -> None:
        turn = 0
        while not stop.is_set():
            request = ask(client, questions[(900 + number * 53 + turn) % len(questions)], args.timeout)
            turn += 1
            flood.requests.append(request)

    pool = ThreadPoolExecutor(len(flooder))
    futures = [pool.submit(hammer, n, c) for n, c in enumerate(flooder)]
    during = paced(people, questions, 500, args.flood_seconds, 5.0, args.timeout)
    stop.set()
    for future in futures:
        future.result()
    pool.shutdown()
    errors = [str(r.result.get("error", "")) if isinstance(r.result, dict) else r.error for r in flood.requests]
    limited = sum("questions in the last minute" in e for e in errors)
    busy = sum("The app is busy" in e for e in errors)
    lines = [
        "| clients | phase | requests | answered | p50 s | p95 s | max s |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for name, phase in (("3 people, one question / 5 s each", alone), ("the same 3 people", during)):
        latencies = [r.seconds for r in phase.requests]
        answered = len(phase.requests) - len(phase.failed)
        label = "alone" if phase is alone else "while one client floods"
        lines.append(
            f"| {name} | {label} | {len(phase.requests)} | {answered} | {syn.percentile(latencies, 50):.2f} | "
            f"{syn.percentile(latencies, 95):.2f} | {max(latencies, default=0):.2f} |"
        )
    answered = len(flood.requests) - len(flood.failed)
    lines.append(f"| 1 flooding client, 12 threads | back-to-back | {len(flood.requests)} | {answered} | | | |")
    lines.append("")
    lines.append(
        f"The flooding client's refusals: {limited} by the per-client limit (RAG_QUESTIONS_PER_MINUTE 20), "
        f"{busy} as busy (RAG_QUEUE_SIZE 16 waiting beyond RAG_CONCURRENCY 4 at once); "
        f"failures among the people's requests: {len(during.failed)} ({', '.join(r.error for r in during.failed[:3])})."
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.flood:
        return flood_main(args)
    started = time.perf_counter()
    info = syn.hardware()
    syn.ensure_multihop()
    root = Path(tempfile.mkdtemp(prefix="rag-load-", dir=args.tmp))
    app = App(root / "store", root / "app.log")
    try:
        print("exporting the MultiHop chunks ...", file=sys.stderr, flush=True)
        source = syn.export_source()
        print(f"building a {args.articles:,}-article store ...", file=sys.stderr, flush=True)
        build = syn.build_store(
            syn.bench_settings(app.data_dir, COLLECTION),
            source,
            args.articles,
            one_chunk_per_article=True,
            seed=args.seed,
        )
        del source
        print("starting the app ...", file=sys.stderr, flush=True)
        startup_s = app.start()
        questions = syn.load_questions(10_000, args.seed)
        cursor = 0

        def take(n: int) -> list[str]:
            nonlocal cursor
            chosen = [questions[(cursor + i) % len(questions)] for i in range(n)]
            cursor += n
            return chosen

        checker = make_clients(app.url, 1)[0]
        for question in take(args.warmup):
            ask(checker, question, args.timeout)
        rounds: list[Round] = []
        for concurrency in args.concurrency:
            print(f"round: concurrency {concurrency}, {args.requests} requests ...", file=sys.stderr, flush=True)
            clients = make_clients(app.url, concurrency)
            rounds.append(
                run_round(
                    f"plain {concurrency}", clients, take(args.requests), args.requests, args.timeout, args.round_limit
                )
            )
            print("  " + rounds[-1].row(), file=sys.stderr, flush=True)

        new = write_new_articles(root / "new-articles", args.new_articles, args.seed)
        probe = new[:5]
        before_ok, _ = check_new(checker, probe, args.timeout)
        print(
            f"ingest round: concurrency {args.ingest_concurrency} while ingesting {len(new)} articles ...",
            file=sys.stderr,
            flush=True,
        )
        clients = make_clients(app.url, args.ingest_concurrency)
        running = threading.Event()
        running.set()
        ingest_log = root / "ingest.log"
        window: dict[str, float] = {}
        ingest_result: dict[str, Any] = {}

        def run_ingest() -> None:
            time.sleep(2)  # let the round get going first
            window["start"] = time.perf_counter()
            with open(ingest_log, "w") as out:
                completed = subprocess.run(
                    [sys.executable, "ingest.py", "--quiet", str(root / "new-articles")],
                    cwd=syn.ROOT,
                    env=app.env(),
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    timeout=args.round_limit,
                    check=False,
                )
            window["end"] = time.perf_counter()
            ingest_result["exit"] = completed.returncode
            running.clear()

        log_offset = app.log.stat().st_size
        ingester = threading.Thread(target=run_ingest)
        ingester.start()
        during = run_round(
            f"during ingest {args.ingest_concurrency}",
            clients,
            take(args.requests * 5),
            args.requests,
            args.timeout,
            args.round_limit,
            keep_going=running,
        )
        ingester.join()
        rounds.append(during)
        print("  " + during.row(), file=sys.stderr, flush=True)
        output = ingest_log.read_text(errors="replace").strip().splitlines()
        overlap = sum(1 for r in during.requests if r.end > window.get("start", 0) and r.start < window.get("end", 0))

        with open(app.log, errors="replace") as log:
            log.seek(log_offset)
            app_builds = sum("Building index" in line for line in log)  # bm25s logs this when it indexes
        in_window = [r for r in during.requests if r.end > window.get("start", 0) and r.start < window.get("end", 0)]
        wait_after = time.perf_counter() - window["end"]
        first = ask(checker, new[-1].question, args.timeout)
        after_ok, after_requests = check_new(checker, new, args.timeout)
        misses = [
            f"{a.question} -> {str(r.result.get('answer') if isinstance(r.result, dict) else r.error)[:160]}"
            for a, r in zip(new, after_requests, strict=False)
            if not answerable(r, a)
        ]
        ingest = {
            "count": len(new),
            "exit": ingest_result.get("exit"),
            "seconds": window["end"] - window["start"],
            "summary": next(
                (line for line in reversed(output) if line.startswith("added")), output[-1] if output else ""
            ),
            "overlap": overlap,
            "before_ok": before_ok,
            "before_n": len(probe),
            "after_ok": after_ok,
            "after_n": len(new),
            "app_bm25_builds": app_builds,
            "window_p50": syn.percentile([r.seconds for r in in_window], 50),
            "window_max": max((r.seconds for r in in_window), default=float("nan")),
            "first_after_s": wait_after,
            "first_latency_s": first.seconds,
            "first_ok": answerable(first, new[-1]),
            "misses": misses,
        }
        app_memory = app.memory_mb()
        app.stop()
        log_errors = [
            line
            for line in app.log.read_text(errors="replace").splitlines()
            if "Traceback" in line or "ERROR" in line or "Error:" in line
        ]
        text = report(
            args, info, build, startup_s, rounds, ingest, app_memory, log_errors, time.perf_counter() - started
        )
        syn.emit(text, args.out)
    finally:
        app.stop()
        syn.cleanup(root, args.keep)
    return 0


def flood_main(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    if args.source_store is None:
        syn.ensure_multihop()
    root = Path(tempfile.mkdtemp(prefix="rag-flood-", dir=args.tmp))
    app = App(root / "store", root / "app.log", limits={})  # the app's default limits
    try:
        source = syn.export_source(args.source_store or syn.MULTIHOP_DIR, args.source_collection)
        settings = syn.bench_settings(app.data_dir, COLLECTION)
        syn.build_store(settings, source, args.articles, one_chunk_per_article=True, seed=args.seed)
        del source
        app.start()
        load = os.getloadavg()
        table = flood_report(app, args)
        text = (
            f"# Flood (`python -m bench.load --flood --articles {args.articles}`)\n\n"
            f"{args.articles:,} one-chunk articles, the app with its default limits, extractive answerer; "
            f"load average at start {load[0]:.1f}; {time.perf_counter() - started:.0f} s in all.\n\n{table}\n"
        )
        syn.emit(text, args.out)
    finally:
        app.stop()
        syn.cleanup(root, args.keep)
    return 0


if __name__ == "__main__":
    sys.exit(main())
