"""The layering docs/design.md describes, enforced (an import contract, as kopf keeps one):
only the cluster_* modules import the Kubernetes client, and the pure stages (normalizing,
rendering, their helpers) import nothing that does I/O."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parent.parent / "ingress2nginx"
MODULES = sorted(PACKAGE.rglob("*.py"))

PURE = {
    "objects", "model", "errors", "settings", "quoting", "directives", "grammar", "paths",
    "validating", "classifying", "normalizing", "routing", "locations", "backends", "securing",
    "certificates", "views", "forwarding", "explaining", "linting", "migrating", "reporting",
    "endpoints", "servers", "other_controllers",
}  # fmt: skip
"""Stages that must stay functions of their input (rendering.py reads templates, so it is
not listed; annotations/ modules are checked as a group below)."""

IO_MODULES = {
    "applying", "reloading", "validators", "watching", "filewatching", "health", "sidecar",
    "commands", "cli", "cluster_connecting", "cluster_loading", "cluster_watching",
    "cluster_caching", "cluster_publishing", "loading", "restarting", "locating",
}  # fmt: skip
IO_LIBRARIES = {"subprocess", "socket", "watchdog", "kubernetes", "urllib3", "prometheus_client"}


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def short(module: str) -> str:
    return module.removeprefix("ingress2nginx.").split(".")[0]


@pytest.mark.parametrize("path", MODULES, ids=lambda path: str(path.relative_to(PACKAGE)))
def test_only_cluster_modules_import_the_kubernetes_client(path: Path) -> None:
    if path.stem.startswith("cluster_"):
        return
    assert not any(name.split(".")[0] == "kubernetes" for name in imports(path))


@pytest.mark.parametrize(
    "path",
    [
        path
        for path in MODULES
        if path.stem in PURE
        or path.parent.name == "annotations"
        or (path.parent.name == "gateway" and not path.stem.startswith("cluster_"))
    ],
    ids=lambda path: str(path.relative_to(PACKAGE)),
)
def test_pure_stages_import_nothing_that_does_io(path: Path) -> None:
    found = imports(path)
    libraries = {name.split(".")[0] for name in found} & IO_LIBRARIES
    modules = {short(name) for name in found if name.startswith("ingress2nginx.")} & IO_MODULES
    assert not libraries and not modules, f"{path.name} imports {libraries | modules}"
