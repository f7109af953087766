"""Issue 16: no function in rag/ingest longer than 60 lines (split along its jobs instead)."""

from __future__ import annotations

import ast
from pathlib import Path

INGEST = Path(__file__).resolve().parents[2] / "rag" / "ingest"
LIMIT = 60


def test_no_function_over_60_lines_in_rag_ingest() -> None:
    long = [
        f"{path.relative_to(INGEST.parent.parent)}:{node.lineno} {node.name}"
        for path in sorted(INGEST.rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        and (node.end_lineno or node.lineno) - node.lineno + 1 > LIMIT
    ]
    assert long == []
