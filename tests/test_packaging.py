"""What the package imports at run time is what `pip install .` installs.

The test extras install more than the package needs, so the suite alone cannot notice a
run-time dependency that is only declared for tests (cryptography was): here every
third-party module that ingress2nginx/ imports must belong to a distribution named in
``[project] dependencies``.
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _declared() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    names = (re.split(r"[<>=!~;\[ ]", spec, maxsplit=1)[0] for spec in project["dependencies"])
    return {name.lower().replace("_", "-") for name in names}


def _third_party_imports() -> dict[str, str]:
    """Top-level module -> a file importing it, for modules outside the standard library."""
    found: dict[str, str] = {}
    for source in sorted((ROOT / "ingress2nginx").rglob("*.py")):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            else:
                continue
            for module in modules:
                top = module.split(".")[0]
                if top not in sys.stdlib_module_names and top != "ingress2nginx":
                    found.setdefault(top, str(source.relative_to(ROOT)))
    return found


def test_every_third_party_import_is_a_declared_dependency() -> None:
    distributions = importlib.metadata.packages_distributions()
    declared = _declared()
    missing = {
        module: where
        for module, where in _third_party_imports().items()
        if not {d.lower().replace("_", "-") for d in distributions.get(module, [module])} & declared
    }
    assert not missing, f"imported but not in [project] dependencies: {missing}"


def test_the_wheel_holds_every_module_and_template(tmp_path: Path) -> None:
    """A plain install (the README's first command, the container image) gets the wheel, not
    this checkout: every module of the package and every template must be in it."""
    import shutil
    import subprocess
    import zipfile

    source = tmp_path / "source"  # a copy without build/ (setuptools would reuse what is there)
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", "build", "dist", "*.egg-info", "out", "__pycache__", ".hypothesis", ".*_cache",
    ))  # fmt: skip
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
         "--wheel-dir", str(tmp_path), str(source)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    (wheel,) = tmp_path.glob("ingress2nginx-*.whl")
    inside = set(zipfile.ZipFile(wheel).namelist())
    modules = {str(path.relative_to(ROOT)) for path in (ROOT / "ingress2nginx").rglob("*.py")}
    templates = {
        f"ingress2nginx/templates/{path.name}" for path in (ROOT / "templates").glob("*.j2")
    }
    assert modules | templates <= inside, sorted((modules | templates) - inside)
