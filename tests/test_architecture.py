"""The layering docs/design.md describes, enforced.

The import contracts live in pyproject.toml (``[tool.importlinter]``) and are checked by
``lint-imports``, run here so that the suite fails when a stage imports one above it, when a
package other than cluster/ imports the Kubernetes client, or when two stages that must not
know each other do. What import-linter cannot say is checked below, by package: the pure
stages import no library that does I/O, and no module imports a package module inside a
function body except in cli/, where lazy imports keep start-up fast.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
PACKAGE = ROOT / "ingress2nginx"
MODULES = sorted(PACKAGE.rglob("*.py"))

PURE = {"core", "features", "model.py", "normalize", "render", "report"}
"""Stages that are functions of their input (render reads its templates, nothing else)."""
IO_LIBRARIES = {"subprocess", "socket", "watchdog", "kubernetes", "urllib3", "prometheus_client"}
LAZY = {"cli"}
"""The one subpackage allowed imports inside functions (start-up time of the command line)."""


def _top(path: Path) -> str:
    return path.relative_to(PACKAGE).parts[0]


def _imports(tree: ast.AST) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def test_the_import_contracts_hold() -> None:
    """``lint-imports`` (import-linter, a test extra) keeps every contract of pyproject.toml."""
    command = shutil.which("lint-imports")
    assert command, "lint-imports is missing: pip install -e '.[test]'"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [command, "--no-cache"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout, result.stdout


@pytest.mark.parametrize(
    "path",
    [path for path in MODULES if _top(path) in PURE],
    ids=lambda path: str(path.relative_to(PACKAGE)),
)
def test_pure_stages_import_nothing_that_does_io(path: Path) -> None:
    libraries = {name.split(".")[0] for name in _imports(ast.parse(path.read_text()))}
    assert not libraries & IO_LIBRARIES, f"{path.name} imports {libraries & IO_LIBRARIES}"


def _imports_in_functions(tree: ast.AST) -> list[str]:
    found = []
    for function in ast.walk(tree):
        if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            found.extend(
                f"line {node.lineno}: {name}"
                for name in _imports(function)
                for node in ast.walk(function)
                if isinstance(node, ast.Import | ast.ImportFrom)
                and name in _imports(node)
                and name.startswith("ingress2nginx")
            )
    return sorted(set(found))


@pytest.mark.parametrize(
    "path",
    [path for path in MODULES if _top(path) not in LAZY],
    ids=lambda path: str(path.relative_to(PACKAGE)),
)
def test_no_package_import_is_hidden_in_a_function(path: Path) -> None:
    """Imports inside functions dodge cycles and hide a module's real dependencies: outside
    cli/, what a module needs is imported at its top (or under TYPE_CHECKING for types)."""
    assert not _imports_in_functions(ast.parse(path.read_text()))
