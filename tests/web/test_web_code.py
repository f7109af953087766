"""The web package's shape: the Gradio layer stays small, styles and script live in files
that a (non-editable) install ships."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT

WEB = ROOT / "rag" / "web"


def functions(path: Path) -> dict[str, int]:
    """Every function in `path` with its length in lines (nested ones too)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        node.name: (node.end_lineno or node.lineno) - node.lineno + 1
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }


def test_no_function_in_the_web_package_is_over_60_lines_and_build_app_under_80() -> None:
    long = {f"{path.name}:{name}": n for path in WEB.glob("*.py") for name, n in functions(path).items() if n > 60}
    assert long == {}
    assert functions(WEB / "app.py")["build_app"] < 80


def test_styles_and_script_are_files_not_python_strings() -> None:
    for path in WEB.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "<script>" not in text.replace('f"<script>{script}</script>"', ""), path.name
        assert "addEventListener" not in text and "querySelector" not in text, path.name
        assert "@media" not in text and "border-radius" not in text, path.name
    assert "addEventListener" in (WEB / "static" / "app.js").read_text(encoding="utf-8")
    assert ".source-card" in (WEB / "static" / "app.css").read_text(encoding="utf-8")


@pytest.mark.slow  # builds a wheel
def test_a_wheel_ships_the_static_files(tmp_path: Path) -> None:
    source = tmp_path / "source"
    shutil.copytree(ROOT / "rag", source / "rag", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            str(source),
            "-w",
            str(tmp_path),
        ],
        check=True,
        capture_output=True,
        cwd=tmp_path,
    )
    [wheel] = tmp_path.glob("rag_news-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"rag/web/static/app.css", "rag/web/static/app.js"} <= names
