"""Input that failed to load never makes the output worse (issue 15): a good nginx.conf is not
replaced by a 404-only one because its manifests did not parse, a missing source behaves like
a malformed one, and input holding no Ingress says so."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from e2e import ingress, manifest_text, path, rule, to
from golden_cases import run_cli

MALFORMED = "kind: [\n"


def good(tmp_path: Path) -> str:
    source = tmp_path / "web.yaml"
    source.write_text(manifest_text([ingress("web", rules=[rule("web.test", path("/", to("w")))])]))
    return str(source)


def bad(tmp_path: Path, kind: str) -> str:
    """A source that fails to load: a malformed file, or one that does not exist."""
    source = tmp_path / f"{kind}.yaml"
    if kind == "malformed":
        source.write_text(MALFORMED)
    return str(source)


@pytest.fixture
def output(tmp_path: Path) -> Path:
    target = tmp_path / "nginx.conf"
    rendered = run_cli(["render", good(tmp_path), "-o", str(target)])
    assert rendered.code == 0 and "server_name web.test;" in target.read_text()
    return target


@pytest.mark.parametrize("kind", ["malformed", "missing"])
def test_render_leaves_the_output_alone_when_every_source_failed(
    tmp_path: Path, output: Path, kind: str
) -> None:
    before = output.read_text()
    result = run_cli(["render", bad(tmp_path, kind), "-o", str(output)])
    assert result.code == 3
    assert output.read_text() == before
    assert f"error: {tmp_path / kind}.yaml" in result.messages
    assert f"no Ingress was loaded and a source failed: {output} is left as it was\n" in (
        result.messages
    )


@pytest.mark.parametrize("kind", ["malformed", "missing"])
def test_render_prints_nothing_on_stdout_when_every_source_failed(
    tmp_path: Path, kind: str
) -> None:
    result = run_cli(["render", bad(tmp_path, kind)])
    assert (result.code, result.config) == (3, "")
    assert "nothing is printed" in result.messages


@pytest.mark.parametrize("kind", ["malformed", "missing"])
def test_render_renders_what_loaded_when_only_some_sources_failed(
    tmp_path: Path, output: Path, kind: str
) -> None:
    other = tmp_path / "other.yaml"
    other.write_text(manifest_text([ingress("api", rules=[rule("api.test", path("/", to("a")))])]))
    result = run_cli(["render", bad(tmp_path, kind), str(other), "-o", str(output)])
    assert result.code == 3
    assert "server_name api.test;" in output.read_text()
    assert f"error: {tmp_path / kind}.yaml" in result.messages


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file")
def test_an_unreadable_file_in_a_folder_costs_only_itself(tmp_path: Path) -> None:
    folder = tmp_path / "manifests"
    folder.mkdir()
    (folder / "a.yaml").write_text(MALFORMED)
    (folder / "a.yaml").chmod(0)
    (folder / "b.yaml").write_text(Path(good(tmp_path)).read_text())
    result = run_cli(["render", str(folder)])
    assert result.code == 3
    assert "server_name web.test;" in result.config
    assert f"error: {folder / 'a.yaml'}: permission denied" in result.messages


@pytest.mark.parametrize("kind", ["malformed", "missing"])
@pytest.mark.parametrize(
    ("command", "from_the_rest"),
    [("check", "1 Ingress(es) would be served"), ("explain", "web.test"),
     ("migration-report", "### default/web")],
)  # fmt: skip
def test_every_command_exits_3_for_a_failed_source_and_uses_the_rest(
    tmp_path: Path, command: str, from_the_rest: str, kind: str
) -> None:
    result = run_cli([command, bad(tmp_path, kind), good(tmp_path)])
    assert result.code == 3, result.messages
    assert f"error: {tmp_path / kind}.yaml" in result.messages
    assert from_the_rest in result.config + result.messages


def test_input_without_any_ingress_says_so_and_still_renders(tmp_path: Path) -> None:
    source = tmp_path / "cm.yaml"
    source.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
    result = run_cli(["render", str(source)])
    assert result.code == 0
    assert result.messages == (
        f"warning: {source}: holds no Ingress: the config only answers 404 (or the default"
        " backend)\n"
    )
    assert "server_name _;" in result.config


def test_check_of_input_without_any_ingress_fails_with_that_warning(tmp_path: Path) -> None:
    result = run_cli(["check", "-"], stdin_text="")
    assert result.code == 1
    assert "warning: <stdin>: holds no Ingress" in result.messages


def test_an_ingress_of_another_class_is_not_reported_as_no_ingress(tmp_path: Path) -> None:
    source = tmp_path / "other.yaml"
    other = ingress("web", class_name="traefik", rules=[rule("a.test", path("/", to("w")))])
    source.write_text(manifest_text([other]))
    result = run_cli(["render", str(source)])
    assert result.code == 0 and "holds no Ingress" not in result.messages
