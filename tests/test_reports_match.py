"""Reports that match what happens (issue 15): the migration report never says an invalid
value carries over, check lists every finding of a rejected Ingress, GitHub annotations land
on the field's line, and watch logs state a problem's severity once, say when a stale file
parses again and how to run without a status server."""

from __future__ import annotations

import argparse
import io
import logging
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from e2e import ingress, manifest_text, path, rule, service, to
from golden_cases import run_cli
from harness import free_port
from test_watch_loop import MemorySource, Running

from ingress2nginx.apply.reloaders import ApplyError, StatusEndpoint
from ingress2nginx.cli import exit_codes
from ingress2nginx.cli.main import _subparsers, build_parser
from ingress2nginx.core import logs
from ingress2nginx.sources.loading import load_sources
from ingress2nginx.watch.files import KeepLastGood

PREFIX = "nginx.ingress.kubernetes.io/"


def write(tmp_path: Path, objects: list[dict[str, object]]) -> str:
    target = tmp_path / "in.yaml"
    target.write_text(manifest_text(objects))
    return str(target)


def bad_values() -> dict[str, str]:
    return {
        PREFIX + "whitelist-source-range": "everyone",  # invalid: the paths answer 503
        PREFIX + "proxy-body-size": "lots",  # invalid: ignored, the default applies
        PREFIX + "load-balance": "ewma",  # Lua-only: ignored (round_robin), as "differs" says
        PREFIX + "proxy-read-timeout": "30",  # fine
    }


def test_the_migration_report_never_says_an_invalid_value_carries_over(tmp_path: Path) -> None:
    objects = [ingress("web", rules=[rule("web.test", path("/", to("web")))],
                       annotations=bad_values())]  # fmt: skip
    report = run_cli(["migration-report", write(tmp_path, objects)]).config
    assert "| `whitelist-source-range` | `everyone` | **invalid value** |" in report
    assert '| `proxy-body-size` | `lots` | value ignored | invalid value "lots":' in report
    assert "| `load-balance` | `ewma` | differs |" in report  # and says why, below:
    assert f'- warning: metadata.annotations[{PREFIX}load-balance]: value "ewma" not' in report
    assert "| `proxy-read-timeout` | `30` | carries over |" in report
    assert "| annotations that carry over | 1 |" in report
    assert "| annotations with an invalid value (paths denied with 503, or the Ingress" in report
    assert "| annotations whose value is ignored (the default applies) | 1 |" in report
    assert "Class: `nginx`; served." in report  # the 503 is the denial, not a rejection


def test_check_lists_every_finding_of_a_rejected_ingress(tmp_path: Path) -> None:
    objects = [ingress("web", rules=[rule("Web.test", path("/", to("web")))],
                       annotations=bad_values())]  # fmt: skip
    result = run_cli(["check", write(tmp_path, objects)])
    assert result.code == 1
    lines = result.messages.splitlines()
    assert "error: ingress default/web: spec.rules[0].host: must be lowercase" in lines[0]
    assert any(f"[{PREFIX}proxy-body-size]: invalid value" in line for line in lines)
    assert any(f"[{PREFIX}load-balance]: value" in line for line in lines)
    assert "error: ingress default/web: rejected: not rendered" in result.messages


def test_github_annotations_point_at_the_line_of_the_field(tmp_path: Path) -> None:
    objects = [
        service("web"),
        ingress("web", rules=[rule("web.test", path("/", to("web")), path("/x", to("web")))],
                annotations={PREFIX + "proxy-body-size": "lots"}),
        ingress("other", rules=[rule("other.test", path("no-slash", to("web")))]),
    ]  # fmt: skip
    source = write(tmp_path, objects)
    lines = Path(source).read_text().splitlines()
    annotations = run_cli(["check", "--format", "github", source]).config.splitlines()

    def line_of(needle: str) -> int:
        (found,) = [line for line in annotations if needle in line]
        return int(found.split("line=")[1].split(",")[0])

    body_size = line_of("proxy-body-size")
    assert lines[body_size - 1].strip() == f"{PREFIX}proxy-body-size: lots"
    bad_path = line_of("paths[0].path: must")
    assert lines[bad_path - 1].strip() == "- path: no-slash"
    rejected = line_of("ingress default/other: rejected")  # no field: the object's line
    assert lines[rejected - 1] == "---"  # where the document starts
    assert lines[rejected] == "apiVersion: networking.k8s.io/v1"


def test_a_legacy_ingress_field_falls_back_to_the_deepest_line_found(tmp_path: Path) -> None:
    source = tmp_path / "legacy.yaml"
    source.write_text(
        "apiVersion: extensions/v1beta1\nkind: Ingress\nmetadata:\n  name: old\n"
        "spec:\n  ingressClassName: nginx\n  rules:\n  - host: Old.test\n    http:\n"
        "      paths:\n      - path: /\n"
        "        backend:\n          serviceName: web\n          servicePort: 0\n"
    )
    annotations = run_cli(["check", "--format", "github", str(source)]).config.splitlines()
    host = [line for line in annotations if "spec.rules[0].host" in line]
    assert host and all(",line=8," in line for line in host)
    port = [line for line in annotations if ".backend.service.port" in line]
    assert port and all(",line=12," in line for line in port)  # backend: (v1beta1 has no service)


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    logs.configure("text", stream=stream, level=logging.INFO)
    yield stream
    logs.configure("text")


def test_watch_logs_state_the_severity_of_a_problem_once(
    tmp_path: Path, log_lines: io.StringIO
) -> None:
    site = ingress("a", rules=[rule("a.test", path("/", to("web")))],
                   annotations={PREFIX + "made-up": "x"})  # fmt: skip
    run = Running(tmp_path, MemorySource([site]))
    run.thread.start()
    try:
        run.wait_for(lambda: run.metrics.ready, "the first config")
    finally:
        run.watcher.stop()
        run.thread.join(timeout=10)
    (line,) = [line for line in log_lines.getvalue().splitlines() if "made-up" in line]
    words = line.split(" ")
    assert words[1:4] == ["warning", "ingress", "default/a:"], line
    assert "warning:" not in line


def test_watch_logs_when_a_stale_file_parses_again(tmp_path: Path, log_lines: io.StringIO) -> None:
    manifest = tmp_path / "app.yaml"
    manifest.write_text(manifest_text([service("web")]))
    cache = KeepLastGood()
    load_sources([str(tmp_path)], cache=cache)
    manifest.write_text("kind: [\n")
    stale = load_sources([str(tmp_path)], cache=cache)
    assert [problem.code for problem in stale.problems] == ["malformed-source", "stale-source"]
    assert "parses again" not in log_lines.getvalue()
    manifest.write_text(manifest_text([service("web"), service("api")]))
    recovered = load_sources([str(tmp_path)], cache=cache)
    assert recovered.problems == () and len(recovered.manifests) == 2
    (line,) = [line for line in log_lines.getvalue().splitlines() if "parses again" in line]
    assert "info a stale source parses again: its objects are current" in line
    assert f"source={manifest}" in line
    load_sources([str(tmp_path)], cache=cache)
    assert log_lines.getvalue().count("parses again") == 1  # once, not at every pass


def test_an_unanswered_confirmation_suggests_running_without_a_status_port() -> None:
    endpoint = StatusEndpoint(free_port(), timeout=0.2)
    with pytest.raises(ApplyError) as raised:
        endpoint.wait_for("0" * 64, threading.Event())
    assert "--status-port 0 applies without confirming" in str(raised.value)


def test_every_option_of_every_command_has_help() -> None:
    parser = build_parser()
    missing = [
        f"{name} {action.option_strings or action.dest}"
        for name, command in {"": parser, **_subparsers(parser)}.items()
        for action in command._actions
        if not isinstance(action, argparse._SubParsersAction)
        and (not action.help or action.help == argparse.SUPPRESS)
    ]
    assert not missing, f"options without --help text: {missing}"


ROOT = Path(__file__).parent.parent


def test_the_deploy_docs_name_the_status_verb_the_rbac_grants() -> None:
    rbac = yaml.safe_load_all((ROOT / "samples/kubernetes/rbac.yaml").read_text())
    (verbs,) = [rule["verbs"] for document in rbac for rule in document.get("rules", [])
                if rule["resources"] == ["ingresses/status"]]  # fmt: skip
    for doc in ("docs/deploy.md", "docs/cluster.md"):
        text = " ".join((ROOT / doc).read_text().split())
        for verb in ("get", "update", "patch"):
            named = (
                f"`{verb}` on `ingresses/status`" in text or f"{verb} `ingresses/status`" in text
            )
            assert named == (verb in verbs), f"{doc}: {verb} on ingresses/status"


def test_the_dockerfile_names_manifests_that_exist() -> None:
    text = " ".join(line.lstrip("# ") for line in (ROOT / "Dockerfile").read_text().splitlines())
    named = re.findall(r"\(see ([\w/.-]+\.yaml)\)", text)
    assert named and all((ROOT / path).is_file() for path in named), named


def test_the_docs_stand_alone_without_citing_a_spec() -> None:
    pages = [ROOT / "README.md", ROOT / "bench/README.md", *sorted((ROOT / "docs").glob("*.md"))]
    citing = [page.name for page in pages if re.search(r"SPEC|§", page.read_text())]
    assert not citing, citing


def test_the_code_stands_alone_without_citing_a_spec() -> None:
    """Docstrings and comments say what matters, not where a spec outside the repository says
    it (RFC sections are fine: they are public)."""
    sources = [*sorted((ROOT / "ingress2nginx").rglob("*.py")), *sorted(ROOT.glob("bench/*.py"))]
    sources += sorted((ROOT / "tests").glob("*.py"))
    citing = [
        str(path.relative_to(ROOT))
        for path in sources
        if path.name != "test_reports_match.py" and re.search(r"\bSPEC\b", path.read_text())
    ]
    assert not citing, citing


def test_every_exit_code_is_in_the_help_the_readme_and_usage() -> None:
    codes = {
        value
        for name, value in vars(exit_codes).items()
        if name.isupper() and isinstance(value, int) and value != exit_codes.INTERRUPTED
    }
    tables = [
        (exit_codes.HELP, r"^  (\d+) "),
        ((ROOT / "README.md").read_text(), r"^\| (\d+) \|"),
        ((ROOT / "docs/usage.md").read_text(), r"^\| (\d+) \|"),
    ]
    for text, row in tables:
        listed = {int(code) for code in re.findall(row, text, re.MULTILINE)}
        assert codes <= listed, sorted(codes - listed)
