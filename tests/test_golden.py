"""Golden files: each case's inputs must give exactly its nginx.conf and messages.

Run with ``--update-golden`` to rewrite the expected files, then read every changed golden in
the diff before committing. Beyond the text, every golden also proves that rendering twice
gives the same bytes, that shuffled input order gives the same bytes, that crossplane parses
it and that the real ``nginx -t`` accepts it.
"""

from __future__ import annotations

import random
import re
import tempfile
from pathlib import Path

import pytest
import yaml
from golden_cases import (
    GOLDEN_RUNTIME_DIR,
    all_cases,
    args_of,
    documents_of,
    needs_current_nginx,
    render_case,
    run_cli,
)

from ingress2nginx.apply.applying import validate_structure, validate_with_nginx

CASES = all_cases()


def _expected(case: Path, name: str, actual: str, update: bool) -> str:
    path = case / name
    if update:
        path.write_text(actual)
    if not path.exists():
        pytest.fail(f"{path} is missing: run pytest with --update-golden and review it")
    return path.read_text()


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_renders_exactly_the_golden_config(case: Path, request: pytest.FixtureRequest) -> None:
    update = request.config.getoption("--update-golden")
    rendered = render_case(case)
    messages = rendered.messages.replace(str(case) + "/", "")
    assert rendered.config == _expected(case, "nginx.conf", rendered.config, update)
    assert messages == _expected(case, "stderr.txt", messages, update)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_rendering_twice_gives_the_same_bytes(case: Path) -> None:
    assert render_case(case).config == render_case(case).config


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_shuffled_input_order_gives_the_same_bytes(case: Path) -> None:
    documents = documents_of(case)
    expected = render_case(case).config
    for seed in range(3):
        random.Random(seed).shuffle(documents)
        stream = yaml.safe_dump_all(documents, sort_keys=False)
        with tempfile.TemporaryDirectory() as scratch:
            fixed = ["--resolver", "10.96.0.10", "--runtime-dir", scratch]
            shuffled = run_cli(["render", "-", *fixed, *args_of(case)], stdin_text=stream)
            config = shuffled.config.replace(scratch, GOLDEN_RUNTIME_DIR)
        assert config == expected, f"input order changed the output (seed {seed})"


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_crossplane_parses_the_golden(case: Path) -> None:
    validate_structure((case / "nginx.conf").read_text())


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_nginx_accepts_the_golden(case: Path, nginx_binary: str, nginx_prefix: Path) -> None:
    runtime = nginx_prefix / "run"
    runtime.mkdir()
    rendered = render_case(case, runtime_dir=str(runtime))
    assert (
        rendered.config.replace(str(runtime), GOLDEN_RUNTIME_DIR)
        == (case / "nginx.conf").read_text()
    )
    _skip_without_modules(rendered.config)
    if needs_current_nginx(case):
        pytest.skip("written for nginx >= 1.27.3: test_mainline_nginx.py checks it")
    validate_with_nginx(rendered.config, nginx_binary)


def _skip_without_modules(config: str) -> None:
    """A golden may load a dynamic module (``--stream-module`` in its args); without that file
    here nginx -t cannot check it (scripts/test.sh installs the ones goldens use)."""
    for module in re.findall(r"^load_module (\S+);$", config, re.MULTILINE):
        if not Path(module).exists():
            pytest.skip(f"{module} is not installed (Debian: apt-get install libnginx-mod-stream)")
