"""Imports inside the package flow one way: each module imports only from layers below it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "rag"

# Bottom to top. A module may import rag modules of lower layers only (never its own layer),
# which also rules out cycles. A new module goes into the lowest layer its imports allow.
LAYERS: list[set[str]] = [
    {"__init__", "errors", "config", "chunking", "query", "metrics", "openai_client", "identity", "syndication"},
    {"dates", "citations", "fetch", "prose"},
    {"extract", "feeds"},  # web pages and feeds -> text
    {"loading", "embedding", "questions"},
    {"sources"},  # web sources -> articles
    {"store"},  # the only module that talks to chromadb
    {"lexical", "ingest", "library"},
    {"retrieval"},
    {"anchors", "claims"},  # the decline rule and claim verification (pure, over passages)
    {"answering"},
    {"llm"},  # chat models through llama-index
    {"chat", "judge"},
    {"pipeline"},  # wiring: builds the parts from Settings
    {"evaluation", "llamaindex"},  # adapters over the whole pipeline
    {"feedback", "web_render", "web_overview", "web_library"},  # the web chat's parts
    {"web"},
    {"cli"},
    {"__main__"},
]


def rag_imports(path: Path) -> set[str]:
    """The rag modules `path` imports, at module level or inside functions."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module == "rag":
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("rag."):
            found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            found |= {alias.name.split(".")[1] for alias in node.names if alias.name.startswith("rag.")}
    return found


def layer_of(module: str) -> int:
    for number, layer in enumerate(LAYERS):
        if module in layer:
            return number
    raise AssertionError(f"rag/{module}.py is in no layer: add it to LAYERS in {Path(__file__).name}")


MODULES = sorted(path.stem for path in PACKAGE.glob("*.py"))


@pytest.mark.parametrize("module", MODULES)
def test_module_imports_only_lower_layers(module: str) -> None:
    layer = layer_of(module)
    upward = sorted(name for name in rag_imports(PACKAGE / f"{module}.py") if layer_of(name) >= layer)
    assert not upward, f"rag.{module} (layer {layer}) imports {upward} from its own layer or above"


def test_the_check_sees_an_upward_import(tmp_path: Path) -> None:
    source = tmp_path / "sample.py"
    source.write_text("import rag.store\nfrom rag import errors\n\ndef f():\n    from rag.cli import main\n")
    assert rag_imports(source) == {"store", "errors", "cli"}
    assert layer_of("cli") > layer_of("store") > layer_of("errors")
