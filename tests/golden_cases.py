"""Golden cases: folders of input manifests with the nginx.conf (and messages) they must give.

A case is ``tests/golden/<case>/`` holding input manifests (``*.yaml``, ``*.json``), the
expected ``nginx.conf``, the expected ``stderr.txt`` (problems reported), and optionally
``args`` (extra command-line arguments, one a line). Every case is rendered through the real
command line with fixed settings, so goldens do not depend on the machine.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml
from tls_secrets import secrets_from_spec

from ingress2nginx.cli.main import main

GOLDEN_ROOT = Path(__file__).parent / "golden"
GOLDEN_RUNTIME_DIR = "/run/ingress2nginx"
INPUT_SUFFIXES = (".yaml", ".yml", ".json")


@dataclass(frozen=True)
class Rendered:
    """What one run of ``ingress2nginx render`` printed."""

    code: int
    config: str
    messages: str


def all_cases() -> list[Path]:
    """Every golden case folder, sorted by name."""
    return sorted(path for path in GOLDEN_ROOT.iterdir() if path.is_dir())


def inputs_of(case: Path) -> list[Path]:
    """The input manifests of a case."""
    return sorted(path for path in case.iterdir() if path.suffix in INPUT_SUFFIXES)


def documents_of(case: Path) -> list[object]:
    """Every input document of a case, generated Secrets included."""
    documents = [
        document
        for path in inputs_of(case)
        for document in yaml.safe_load_all(path.read_text())
        if document is not None
    ]
    return documents + secrets_from_spec(case / "tls-secrets")


def args_of(case: Path) -> list[str]:
    """Extra command-line arguments of a case (its ``args`` file, one a line; ``{case}``
    stands for the case folder)."""
    path = case / "args"
    if not path.exists():
        return []
    lines = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    return [line.replace("{case}", str(case)) for line in lines]


def needs_current_nginx(case: Path) -> bool:
    """Whether a case renders for nginx 1.27.3 or later (dns mode: ``server ... resolve``),
    which Debian stable's nginx cannot check."""
    args = args_of(case)
    return any(pair == ("--endpoints", "dns") for pair in itertools.pairwise(args))


def run_cli(argv: Sequence[str], stdin_text: str | None = None) -> Rendered:
    """Run the command line in-process, capturing stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    old_stdin = sys.stdin
    if stdin_text is not None:
        sys.stdin = io.StringIO(stdin_text)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(list(argv))
    finally:
        sys.stdin = old_stdin
    return Rendered(code, out.getvalue(), err.getvalue())


def render_case(
    case: Path, *, runtime_dir: str | None = None, extra: Sequence[str] = ()
) -> Rendered:
    """Render a case from its files with the fixed golden settings (and ``extra`` arguments).

    Certificates are written under the runtime dir, so unless one is given the case renders
    into a scratch folder whose path is then written as ``/run/ingress2nginx``.
    """
    with tempfile.TemporaryDirectory(prefix="golden-") as scratch:
        files = [str(path) for path in inputs_of(case)]
        secrets = secrets_from_spec(case / "tls-secrets")
        if secrets:
            generated = Path(scratch) / "generated-secrets.yaml"
            generated.write_text(yaml.safe_dump_all(secrets))
            files.append(str(generated))
        target = runtime_dir or scratch
        fixed = ["--resolver", "10.96.0.10", "--runtime-dir", target]
        rendered = run_cli(["render", *files, *fixed, *args_of(case), *extra])
    if runtime_dir is not None:
        return rendered
    return Rendered(
        rendered.code,
        rendered.config.replace(scratch, GOLDEN_RUNTIME_DIR),
        rendered.messages.replace(scratch, GOLDEN_RUNTIME_DIR),
    )
