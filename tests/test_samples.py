"""The bundled samples render cleanly and pass nginx -t, and the README shows real output."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest
from golden_cases import run_cli

from ingress2nginx.apply.applying import validate_structure, validate_with_nginx

ROOT = Path(__file__).parent.parent
SAMPLES = sorted((ROOT / "samples").glob("*.yaml"))


def render_sample(sample: Path, runtime_dir: str) -> tuple[int, str, str]:
    rendered = run_cli(["render", str(sample), "--runtime-dir", runtime_dir])
    return rendered.code, rendered.config, rendered.messages


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda sample: sample.name)
def test_each_sample_renders_without_problems(sample: Path) -> None:
    with tempfile.TemporaryDirectory() as runtime:
        code, config, messages = render_sample(sample, runtime)
    assert code == 0
    assert messages == ""
    validate_structure(config)


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda sample: sample.name)
def test_nginx_accepts_each_sample(sample: Path, nginx_binary: str, nginx_prefix: Path) -> None:
    _, config, _ = render_sample(sample, str(nginx_prefix))
    validate_with_nginx(config, nginx_binary)


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda sample: sample.name)
def test_each_sample_passes_check(sample: Path) -> None:
    checked = run_cli(["check", str(sample)])
    assert checked.code == 0, checked.messages
    assert checked.messages.startswith("ok: ")


def test_the_readme_shows_what_render_really_prints() -> None:
    readme = (ROOT / "README.md").read_text()
    shown = re.search(r"```nginx\n(.*?)```", readme, re.DOTALL)
    assert shown is not None, "README.md has no nginx example"
    _, config, _ = render_sample(ROOT / "samples" / "simple-app.yaml", "/run/unused")
    assert shown.group(1) in config
