"""The commands as a user runs them: separate processes, real store, no API key."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

from tests.conftest import DEMO_DIR, free_port, run
from tests.openai_server import FakeOpenAI

pytestmark = pytest.mark.slow  # every test runs the commands as subprocesses (5-90 s each on a loaded machine)


@pytest.fixture(scope="module")
def cli_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("cli") / "store"
    result = run(sys.executable, "ingest.py", str(DEMO_DIR), data_dir=data_dir)
    assert result.returncode == 0, result.stderr
    assert "added 1, updated 0, unchanged 0, removed 0, failed 0" in result.stdout
    return data_dir


def test_ask_answers_with_citation_offline(cli_store: Path) -> None:
    result = run(sys.executable, "-m", "rag", "ask", "What guarantees does Kyiv want?", data_dir=cli_store)
    assert result.returncode == 0, result.stderr
    answer, _, sources = result.stdout.partition("\n\n")
    assert "designated guarantor countries" in answer and re.search(r"\[\d\]$", answer)
    assert "guarantor countries" in sources and "2022-03" in sources


def test_ask_streams_a_model_answer_from_an_openai_protocol_server(cli_store: Path) -> None:
    reply = "Kyiv wants security guarantees from designated guarantor countries with strong armies [1]."
    with FakeOpenAI(reply=lambda messages: reply) as server:
        env = {"OPENAI_API_KEY": "test", "OPENAI_BASE_URL": server.base_url, "RAG_LLM_MODEL": "fake-model"}
        result = run(
            sys.executable, "-m", "rag", "ask", "What guarantees does Kyiv want?", data_dir=cli_store, extra_env=env
        )
        assert server.requests[-1]["stream"] is True
    assert result.returncode == 0, result.stderr
    answer, sources = result.stdout.split("\n\n", 1)
    assert answer == reply
    assert sources.startswith("[1] Russia-Ukraine peace talks in Istanbul")


def test_ask_json_and_decline(cli_store: Path) -> None:
    result = run(sys.executable, "-m", "rag", "ask", "--json", "Who won the 2018 World Cup?", data_dir=cli_store)
    payload = json.loads(result.stdout)
    assert payload["declined"] is True and payload["answer"].startswith("The articles do not say.")
    assert payload["citations"] == []


def test_rerun_is_a_no_op_and_bad_files_fail_the_exit_code(cli_store: Path, tmp_path: Path) -> None:
    again = run(sys.executable, "-m", "rag", "ingest", str(DEMO_DIR), data_dir=cli_store)  # stderr is a pipe
    assert again.returncode == 0 and "unchanged 1" in again.stdout and "chunks written 0" in again.stdout
    assert "chunk/s" not in again.stderr  # no progress bar off a terminal, without --quiet too
    bad = tmp_path / "bad.json"
    bad.write_text('{"title": "x", "body": ', encoding="utf-8")
    result = run(sys.executable, "-m", "rag", "ingest", "--quiet", str(bad), data_dir=cli_store)
    assert result.returncode == 1
    assert "bad.json" in result.stderr and "failed 1" in result.stdout


def test_empty_question_is_a_clear_error(cli_store: Path) -> None:
    result = run(sys.executable, "-m", "rag", "ask", "  ", data_dir=cli_store)
    assert result.returncode == 2 and "Please type a question." in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("command", ["ingest", "ask", "eval", "serve"])
def test_every_command_has_help(command: str, tmp_path: Path) -> None:
    result = run(sys.executable, "-m", "rag", command, "--help", data_dir=tmp_path)
    assert result.returncode == 0 and "usage: rag " + command in result.stdout


def test_scripts_have_help(tmp_path: Path) -> None:
    for script in ("ingest.py", "app.py"):
        result = run(sys.executable, script, "--help", data_dir=tmp_path)
        assert result.returncode == 0 and "usage:" in result.stdout


def test_bad_setting_is_one_clear_line(tmp_path: Path) -> None:
    result = run(sys.executable, "-m", "rag", "ask", "--collection", "x", "Who?", data_dir=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip() == (
        "error: setting collection: collection name 'x' must be 3-63 letters, digits, '.', '_' or '-', "
        "starting and ending with a letter or digit"
    )


def test_unreachable_embedding_endpoint_is_one_line(tmp_path: Path) -> None:
    base_url = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    env = {"RAG_EMBEDDER": "openai:text-embedding-3-small", "OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": base_url}
    result = run(
        sys.executable, "-m", "rag", "ingest", "--quiet", str(DEMO_DIR), data_dir=tmp_path / "store", extra_env=env
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith(f"error: The embedding model openai:text-embedding-3-small at {base_url}")
    assert "could not be reached; check OPENAI_BASE_URL" in result.stderr


@pytest.mark.parametrize(("option", "name"), [("--to", "To"), ("--from", "From")])
def test_malformed_filter_date_exits_2_naming_the_accepted_forms(cli_store: Path, option: str, name: str) -> None:
    result = run(
        sys.executable, "-m", "rag", "ask", option, "2022/03", "What guarantees does Kyiv want?", data_dir=cli_store
    )
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == (
        f"error: {name} date '2022/03' is not a date: use YYYY, YYYY-MM or YYYY-MM-DD (e.g. 2023-11 or 2023-11-17).\n"
    )


def test_sources_match_whatever_their_case_and_filters_that_match_nothing_say_so(cli_store: Path) -> None:
    question, source = "What guarantees does Kyiv want?", "news REPORT (demo article)"
    result = run(sys.executable, "-m", "rag", "ask", "--source", source, question, data_dir=cli_store)
    assert result.returncode == 0 and "guarantor countries" in result.stdout, result.stderr
    result = run(sys.executable, "-m", "rag", "ask", "--source", "The Guardian", question, data_dir=cli_store)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == (
        "error: No articles from source 'The Guardian' in collection 'news'. Its sources: News report (demo article).\n"
    )
    result = run(sys.executable, "-m", "rag", "ask", "--from", "2030", question, data_dir=cli_store)
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        "The articles do not say.\n\n"
        "note: No articles from 2030 on in this collection: widen the dates or choose other sources.\n"
    )


def test_reversed_filter_dates_exit_2(cli_store: Path) -> None:
    result = run(sys.executable, "-m", "rag", "ask", "--from", "2023", "--to", "2022", "Who?", data_dir=cli_store)
    assert result.returncode == 2 and "reversed" in result.stderr and "Traceback" not in result.stderr
