"""Imports inside the package flow one way: up the pipeline's stages, never back, and no cycles."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "rag"

# The stages (subpackages of rag/) and top-level modules, bottom to top. A module may import
# modules of its own stage (without cycles) and of the stages below; never a stage above or
# beside it. A new module goes into the stage that owns its job.
STAGES: list[set[str]] = [
    {"__init__", "errors", "config"},
    {"text"},  # pure text functions: sentences, terms, dates
    {"models"},  # embedders and the OpenAI client
    {"store"},  # the only stage that talks to chromadb
    {"ingest", "search"},  # files and web -> store; store -> ranked passages (neither imports the other)
    {"answer"},  # passages -> cited answer
    {"chat"},  # turns: follow-ups, retrieval + answer
    {"pipeline"},  # wiring: builds the parts from Settings
    {"eval", "llamaindex"},  # adapters over the whole pipeline
    {"web"},
    {"cli"},
    {"__main__"},
]


def module_name(path: Path) -> str:
    """`rag/answer/claims.py` -> `answer.claims`; `rag/store/__init__.py` -> `store`."""
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" and len(parts) > 1 else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def rag_imports(path: Path) -> set[str]:
    """The rag modules `path` imports (dotted, without `rag.`), at module level or inside functions."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module == "rag":
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("rag."):
            module = node.module.removeprefix("rag.")
            submodules = {f"{module}.{alias.name}" for alias in node.names} & MODULES.keys()
            found |= submodules or {module}
        elif isinstance(node, ast.Import):
            found |= {alias.name.removeprefix("rag.") for alias in node.names if alias.name.startswith("rag.")}
    return found


def stage_of(module: str) -> int:
    top = module.split(".")[0]
    for number, stage in enumerate(STAGES):
        if top in stage:
            return number
    raise AssertionError(f"rag/{top} is in no stage: add it to STAGES in {Path(__file__).name}")


@pytest.mark.parametrize("module", sorted(MODULES))
def test_module_imports_only_its_stage_and_below(module: str) -> None:
    stage = stage_of(module)
    own = module.split(".")[0]
    wrong = sorted(
        name
        for name in rag_imports(MODULES[module])
        if stage_of(name) > stage or (stage_of(name) == stage and name.split(".")[0] != own)
    )
    assert not wrong, f"rag.{module} (stage {stage}) imports {wrong} from a stage above or beside it"


def test_no_import_cycle_inside_a_stage() -> None:
    graph = {module: rag_imports(path) & MODULES.keys() for module, path in MODULES.items()}
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for name in sorted(graph[module]):
            assert state.get(name) != 1, f"import cycle: {' -> '.join([*path, module, name])}"
            if name not in state:
                visit(name, [*path, module])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [])


def test_the_check_sees_an_upward_import(tmp_path: Path) -> None:
    source = tmp_path / "sample.py"
    source.write_text("import rag.store.chroma\nfrom rag import errors\n\ndef f():\n    from rag.cli import main\n")
    assert rag_imports(source) == {"store.chroma", "errors", "cli"}
    assert stage_of("cli") > stage_of("store.chroma") > stage_of("errors")
    assert stage_of("ingest.run") == stage_of("search.retrieval")  # siblings may not import each other


def test_every_package_says_what_it_owns() -> None:
    for init in PACKAGE.rglob("__init__.py"):
        docstring = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
        assert docstring, f"{init.relative_to(PACKAGE.parent)} needs a docstring saying what the package owns"
