"""Settings is the one source of defaults: the README's table and the CLI's help are made from it."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from rag import cli
from rag.cli import build_parser
from rag.config import Settings, configuration_table, default_text, env_name
from tests.conftest import ROOT


def test_readme_configuration_table_matches_settings() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert configuration_table() in readme, "README's configuration table is stale: paste `python -m rag.config`"


def test_every_setting_says_what_it_is_for() -> None:
    assert [name for name, info in Settings.model_fields.items() if not info.description] == []


def test_table_names_variables_and_defaults() -> None:
    rows = configuration_table().splitlines()
    assert "| `RAG_TOP_K` | `5` | Passages given to the answerer (1 to 50). |" in rows
    assert any(row.startswith("| `OPENAI_API_KEY` | unset |") for row in rows)
    assert "| `RAG_QUERY_HINTS` | `true` |" in configuration_table()
    assert len(rows) == 2 + len(Settings.model_fields)


@pytest.mark.parametrize(
    ("command", "fields"),
    [
        ("ask", ["top_k", "retrieval_mode", "data_dir", "collection"]),
        ("serve", ["host", "port", "share", "data_dir", "collection"]),
    ],
)
def test_cli_help_shows_the_settings_defaults(
    command: str, fields: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args([command, "--help"])
    help_text = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    for field in fields:
        assert f"(default {default_text(field)}, env {env_name(field)})" in help_text


def test_serve_says_what_to_do_when_it_cannot_listen(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    where = ["--data-dir", str(tmp_path)]
    assert cli.main(["serve", "--port", "70000", *where]) == 2  # checked before anything loads
    assert capsys.readouterr().err == "error: setting port: Input should be less than or equal to 65535\n"
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert cli.main(["serve", "--port", str(port), *where]) == 2
    assert capsys.readouterr().err == (
        f"error: Cannot listen on 127.0.0.1:{port} (Address already in use): another program may be using the "
        "port; choose another with --port or RAG_PORT, or an address of this machine with --host or RAG_HOST.\n"
    )


@pytest.mark.parametrize(
    ("variable", "value", "problem"),
    [
        ("RAG_CHUNK_TOKENS", "0", "chunk_tokens: Input should be greater than or equal to 1"),
        ("RAG_EMBED_BATCH_SIZE", "0", "embed_batch_size: Input should be greater than or equal to 1"),
        ("RAG_FETCH_CONCURRENCY", "0", "fetch_concurrency: Input should be greater than or equal to 1"),
        ("RAG_FETCH_READ_TIMEOUT", "-1", "fetch_read_timeout: Input should be greater than 0"),
        ("RAG_CANDIDATES", "0", "candidates: Input should be greater than or equal to 1"),
    ],
)
def test_settings_out_of_range_are_named_before_anything_runs(
    variable: str,
    value: str,
    problem: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    monkeypatch.setenv(variable, value)
    assert cli.main(["ask", "Who?", "--data-dir", str(tmp_path)]) == 2  # before a store is opened or a model loaded
    assert capsys.readouterr().err == f"error: setting {problem}\n"


def test_a_data_dir_that_is_a_file_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("", encoding="utf-8")
    for data_dir in (blocker, blocker / "store"):
        assert cli.main(["list", "--data-dir", str(data_dir)]) == 2
        problem = f"{blocker} is a file, not a folder; give a folder for the store (made if missing)"
        assert capsys.readouterr().err == f"error: setting data_dir: {problem}\n"
