"""The operator commands around render (issue 10): check's formats and exit codes, explain's
filters and request replay, render --diff/--check, the migration report, shell completion."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from e2e import ingress, manifest_text, path, rule, service, to
from golden_cases import run_cli
from tls_secrets import tls_secret

PREFIX = "nginx.ingress.kubernetes.io/"


def write(tmp_path: Path, objects: list[dict[str, object]], name: str = "in.yaml") -> str:
    target = tmp_path / name
    target.write_text(manifest_text(objects))
    return str(target)


def clean() -> list[dict[str, object]]:
    return [ingress("web", rules=[rule("web.test", path("/", to("web")))])]


def conflicting() -> list[dict[str, object]]:
    return [
        ingress(
            "old", rules=[rule("web.test", path("/", to("a")))], created="2026-01-01T00:00:00Z"
        ),
        ingress(
            "new", rules=[rule("web.test", path("/", to("b")))], created="2026-02-01T00:00:00Z"
        ),
    ]


def test_check_exits_0_and_says_ok_when_there_is_nothing_to_report(tmp_path: Path) -> None:
    result = run_cli(["check", write(tmp_path, clean())])
    assert result.code == 0
    assert "ok: 1 Ingress(es) served, no problems" in result.messages


def test_check_exits_1_on_a_warning_and_names_the_loser(tmp_path: Path) -> None:
    result = run_cli(["check", write(tmp_path, conflicting())])
    assert result.code == 1
    assert "warning: ingress default/new: spec.rules[0].http.paths[0].path:" in result.messages


def test_check_fail_on_error_ignores_warnings(tmp_path: Path) -> None:
    assert run_cli(["check", "--fail-on", "error", write(tmp_path, conflicting())]).code == 0
    bad = [ingress("bad", rules=[rule("Bad.test", path("/", to("x")))])]
    assert run_cli(["check", "--fail-on", "error", write(tmp_path, bad)]).code == 1


def test_check_json_lists_each_problem_with_object_field_and_line(tmp_path: Path) -> None:
    result = run_cli(["check", "--format", "json", write(tmp_path, conflicting())])
    document = json.loads(result.config)
    assert document["failed"] is True and document["served"] == 2
    (problem,) = [p for p in document["problems"] if p["code"] == "conflict"]
    assert problem["object"] == {"kind": "Ingress", "namespace": "default", "name": "new"}
    assert problem["field"] == "spec.rules[0].http.paths[0].path"
    assert problem["file"].endswith("in.yaml") and problem["line"] > 1


def test_check_github_annotates_the_manifest_line(tmp_path: Path) -> None:
    source = write(tmp_path, conflicting())
    result = run_cli(["check", "--format", "github", source])
    (line,) = [line for line in result.config.splitlines() if "conflict" in line]
    assert line.startswith(f"::warning file={source},line=")
    assert "title=conflict::ingress default/new: spec.rules[0].http.paths[0].path:" in line


def test_check_reports_paths_that_can_never_answer(tmp_path: Path) -> None:
    objects = [
        ingress("wide", rules=[rule("r.test", path("/a.*", to("x"), "ImplementationSpecific"))],
                annotations={PREFIX + "use-regex": "true"}),
        ingress("narrow", rules=[rule("r.test", path("/ab", to("y")))]),
    ]  # fmt: skip
    result = run_cli(["check", write(tmp_path, objects)])
    assert result.code == 1
    assert "warning: ingress default/narrow: spec.rules[0].http.paths[0].path: path /ab" in (
        result.messages
    )
    assert "never answers: default/wide spec.rules[0].http.paths[0] always matches first" in (
        result.messages
    )


def test_check_reports_services_missing_from_the_input(tmp_path: Path) -> None:
    objects = [*clean(), ingress("api", rules=[rule("api.test", path("/", to("api")))]),
               service("web")]  # fmt: skip
    result = run_cli(["check", write(tmp_path, objects)])
    assert "ingress default/api: spec.rules[0].http.paths[0].backend: service default/api" in (
        result.messages
    )
    assert "service default/web is not" not in result.messages


def test_render_warns_once_about_a_service_missing_from_input_that_holds_others(
    tmp_path: Path,
) -> None:
    objects = [*clean(), ingress("api", rules=[rule("api.test", path("/", to("api")),
                                                    path("/v2", to("api")))]),
               service("web")]  # fmt: skip
    source = write(tmp_path, objects)
    warning = (
        "warning: ingress default/api: spec.rules[0].http.paths[{}].backend: service default/api"
        " is not in the input, which holds other Services: its name is resolved by DNS at"
        " request time (left out, or misspelt?)"
    )
    for command in (["render", source], ["check", source]):
        lines = run_cli(command).messages.splitlines()
        assert [line for line in lines if "default/api is not" in line] == [
            warning.format(0),
            warning.format(1),
        ], command
    alone = write(tmp_path, clean(), "alone.yaml")  # no Service at all: they live in the cluster
    assert "not in the input" not in run_cli(["render", alone]).messages


def test_check_warns_about_certificates_expiring_soon(tmp_path: Path) -> None:
    web = ingress("web", rules=[rule("web.test", path("/", to("web")))])
    web["spec"]["tls"] = [{"hosts": ["web.test"], "secretName": "web-tls"}]  # type: ignore[index]
    objects = [web, tls_secret("default", "web-tls", ["web.test"])]  # valid for 30 days
    source = write(tmp_path, objects)
    runtime = ["--runtime-dir", str(tmp_path / "run")]
    assert "certificate-expiry" not in run_cli(["check", "--format", "json", "--warn-expiry",
                                                "7", source, *runtime]).config  # fmt: skip
    result = run_cli(["check", "--warn-expiry", "60", source, *runtime])
    assert "warning: secret default/web-tls: data: the certificate expires on" in result.messages


def test_explain_filters_by_host_and_path(tmp_path: Path) -> None:
    objects = [ingress("web", rules=[
        rule("a.test", path("/", to("root")), path("/api", to("api"))),
        rule("b.test", path("/", to("other"))),
    ])]  # fmt: skip
    source = write(tmp_path, objects)
    lines = run_cli(["explain", source, "--host", "a.test", "--path", "/api"]).config.splitlines()
    assert lines[0].split() == ["HOST", "PATH", "TYPE", "BACKEND", "SOURCE"]
    assert [line.split()[:4] for line in lines[1:]] == [["a.test", "/api", "Prefix",
                                                         "default/api:80"]]  # fmt: skip


def test_explain_request_says_which_location_answers_and_why(tmp_path: Path) -> None:
    objects = [ingress("web", rules=[
        rule("a.test", path("/", to("root")), path("/api", to("api")))])]  # fmt: skip
    result = run_cli(["explain", write(tmp_path, objects), "--request",
                      "http://A.test:8080/api/v1?x=1"])  # fmt: skip
    assert result.code == 0
    assert "location: (prefix) /api/" in result.config
    assert "source:   default/web spec.rules[0].http.paths[1]" in result.config
    assert "answer:   proxied to default/api:80" in result.config
    assert "because location /api/ is the longest matching prefix" in result.config


def test_render_diff_prints_the_change_and_exits_1(tmp_path: Path) -> None:
    source = write(tmp_path, clean())
    current = tmp_path / "nginx.conf"
    current.write_text(run_cli(["render", source, "--resolver", "10.0.0.1"]).config)
    assert run_cli(["render", source, "--resolver", "10.0.0.1", "--diff", str(current)]).code == 0
    changed = write(tmp_path, [ingress("web", rules=[rule("web.test", path("/", to("v2")))])])
    result = run_cli(["render", changed, "--resolver", "10.0.0.1", "--diff", str(current)])
    assert result.code == 1
    assert "-            set $service_address web.default.svc.cluster.local:80;" in result.config
    assert "+            set $service_address v2.default.svc.cluster.local:80;" in result.config


def test_render_check_is_silent_and_writes_nothing(tmp_path: Path) -> None:
    source = write(tmp_path, clean())
    missing = tmp_path / "absent.conf"
    result = run_cli(["render", source, "--check", str(missing)])
    assert (result.code, result.config) == (1, "")
    assert not missing.exists()


def test_an_unwritable_output_exits_6_naming_the_file(tmp_path: Path) -> None:
    source = write(tmp_path, clean())
    target = tmp_path / "missing-folder" / "nginx.conf"
    result = run_cli(["render", source, "-o", str(target)])
    assert result.code == 6
    assert f"cannot write {target}" in result.messages
    assert not target.exists()


@pytest.mark.nginx
def test_a_missing_runtime_dir_is_made_so_the_config_passes_nginx_t(
    tmp_path: Path, nginx_binary: str
) -> None:
    source = write(tmp_path, clean())
    runtime = tmp_path / "run" / "nginx"
    result = run_cli(["render", source, "--runtime-dir", str(runtime), "--validate",
                      "-o", str(tmp_path / "nginx.conf")])  # fmt: skip
    assert result.code == 0, result.messages
    assert runtime.is_dir() and runtime.stat().st_mode & 0o777 == 0o755


def test_a_missing_template_dir_is_a_usage_error(tmp_path: Path) -> None:
    source = write(tmp_path, clean())
    result = subprocess.run(
        [sys.executable, "-m", "ingress2nginx", "render", source, "--template-dir", "nowhere"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "--template-dir: not a folder: 'nowhere'" in result.stderr


def test_the_migration_report_sorts_annotations_by_what_happens_to_them(tmp_path: Path) -> None:
    annotations = {
        PREFIX + "ssl-redirect": "false",
        PREFIX + "configuration-snippet": "more_set_headers x;",
        PREFIX + "enable-modsecurity": "true",
        PREFIX + "made-up": "x",
    }
    objects = [ingress("web", rules=[rule("web.test", path("/", to("web")))],
                       annotations=annotations)]  # fmt: skip
    configmap = tmp_path / "cm.yaml"
    configmap.write_text(yaml.safe_dump({"kind": "ConfigMap", "data": {
        "hsts-max-age": "600", "use-geoip2": "true",
        "upstream-keepalive-connections": "320"}}))  # fmt: skip
    result = run_cli(["migration-report", write(tmp_path, objects), "--configmap",
                      str(configmap)])  # fmt: skip
    report = result.config
    assert result.code == 0
    assert report.startswith("# Migration report")
    assert "| `ssl-redirect` | `false` | carries over |" in report
    assert "| `configuration-snippet` | `more_set_headers x;` | differs |" in report
    assert "| `enable-modsecurity` | `true` | refused | ModSecurity needs a module" in report
    assert "| `made-up` | `x` | unknown |" in report
    assert "| `hsts-max-age` | `600` | carries over |" in report
    assert "| `use-geoip2` | `true` | not supported: ignored |" in report
    assert "| `upstream-keepalive-connections` | `320` | changes: kept per upstream" in report


@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_the_completion_script_knows_every_command_and_parses(shell: str) -> None:
    result = run_cli(["completion", shell])
    assert result.code == 0
    for word in ("render", "check", "explain", "watch", "migration-report", "--ingress-class"):
        assert word in result.config
    if shell == "bash":
        checked = subprocess.run(["bash", "-n"], input=result.config, text=True)
        assert checked.returncode == 0


def test_messages_are_not_coloured_when_stderr_is_not_a_terminal(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ingress2nginx", "check", write(tmp_path, conflicting())],
        capture_output=True, text=True,
    )  # fmt: skip
    assert "\033[" not in result.stderr and "warning:" in result.stderr


def test_every_global_option_is_documented_in_usage() -> None:
    from ingress2nginx.sources.configuring import OPTIONS

    usage = (Path(__file__).parent.parent / "docs" / "usage.md").read_text()
    missing = [key for key in OPTIONS if f"`{key}`" not in usage and f"`-{key.split('-')[-1]}`"
               not in usage]  # fmt: skip
    assert not missing, f"docs/usage.md does not list: {missing}"
