"""The direction of dependencies, checked rather than kept by habit: rag_core <- ingest <- app.

Every module's syntax tree is walked (imports inside functions count too): the core imports
neither the front ends nor UI/CLI libraries, and ingestion does not import the app.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

FORBIDDEN = {
    "rag_core": {"app", "ingest", "typer", "rich", "streamlit"},
    "ingest": {"app", "streamlit"},
}


def imported_packages(source: str, module: str) -> set[str]:
    """Top-level package names a module imports (relative imports resolved against
    `module`, the module's dotted name)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: within the module's own top-level package
                found.add(module.split(".")[0])
            elif node.module:
                found.add(node.module.split(".")[0])
    return found


def modules_of(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def dotted(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_only_downwards(package: str) -> None:
    modules = modules_of(package)
    assert modules, f"no modules found under {package}/"
    broken = {
        dotted(path): sorted(imported_packages(path.read_text(), dotted(path)) & FORBIDDEN[package])
        for path in modules
    }
    broken = {module: names for module, names in broken.items() if names}
    assert not broken, f"{package} must not import {sorted(FORBIDDEN[package])}: {broken}"


def test_the_walk_sees_imports_anywhere_in_a_module() -> None:
    source = (
        "import os\n"
        "from rag_core.settings import Settings\n"
        "def later():\n"
        "    import typer.main\n"
        "    from app import chat\n"
        "class Ui:\n"
        "    from rich.console import Console\n"
        "from . import sibling\n"
    )
    assert imported_packages(source, "rag_core.answering.answer") == {
        "os",
        "rag_core",
        "typer",
        "app",
        "rich",
    }
