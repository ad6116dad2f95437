"""Fail safe per object, in watch mode beside a real nginx, under steady keep-alive load.

A served Ingress edited to be invalid keeps answering with its last good version (not one
failed request), the edit is reported in the log and in /metrics; fixing it applies the fix,
deleting it drops it. A trusted snippet nginx refuses is isolated: the Ingress keeps its last
good version (or, new, is left out) and is named with nginx's own words, while every other
change is applied.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e import echo_service, ingress, path, rule, started_backends, to
from harness import EchoBackend, NginxRunner
from watchrun import Sidecar, running_sidecar, steady_load, write_manifests

from ingress2nginx.apply.isolating import MAX_RUNS

HELD = 'ingress2nginx_ingress_held_at_last_good{name="app",namespace="default"}'
REJECTED_EDITS = "ingress2nginx_rejected_edits_total"
SNIPPETS = ("--allow-snippet-annotations", "--snippet-namespace", "default")


@pytest.fixture
def backends() -> Iterator[dict[str, EchoBackend]]:
    with started_backends("stable", "blue", "green") as echo:
        yield echo


def app(backend: str, host: str = "app.test", route: str = "/", **annotations: str) -> Any:
    found = ingress("app", rules=[rule(host, path(route, to(backend)))])
    if annotations:  # snake_case names: configuration_snippet
        found["metadata"]["annotations"] = {
            f"nginx.ingress.kubernetes.io/{key.replace('_', '-')}": value
            for key, value in annotations.items()
        }
    return found


def problems(site: Sidecar, code: str) -> list[dict[str, Any]]:
    return [e for e in site.log_events() if e.get("event") == "problem" and e["code"] == code]


def start(folder: Path, echo: dict[str, EchoBackend]) -> None:
    folder.mkdir()
    services = [obj for backend in echo.values() for obj in echo_service(backend)]
    write_manifests(folder / "services.yaml", services)
    write_manifests(folder / "app.yaml", [app("blue")])


def regex_app(backend: str, route: str) -> Any:
    """An ImplementationSpecific path read as a regex (use-regex): a value that must reject
    when it is not one."""
    found = ingress(
        "app", rules=[rule("app.test", path(route, to(backend), "ImplementationSpecific"))]
    )
    found["metadata"]["annotations"] = {"nginx.ingress.kubernetes.io/use-regex": "true"}
    return found


BAD_EDITS = {
    "bad host": (app("green", host="App_Test"), "spec.rules[0].host"),
    "path without a leading slash": (app("green", route="no-slash"), "path"),
    "use-regex path that is no regex": (
        regex_app("green", "/(v1"),
        "spec.rules[0].http.paths[0].path",
    ),
}


@pytest.mark.parametrize("edit", list(BAD_EDITS), ids=list(BAD_EDITS))
def test_a_served_ingress_edited_to_be_invalid_keeps_its_last_good_version_until_fixed(
    nginx_runner: NginxRunner, tmp_path: Path, backends: dict[str, EchoBackend], edit: str
) -> None:
    bad, field = BAD_EDITS[edit]
    start(tmp_path / "manifests", backends)
    with running_sidecar(nginx_runner, tmp_path) as site:
        assert site.served_by("/", "app.test") == "blue"
        with steady_load(site, "app.test", "blue") as load:
            write_manifests(site.folder / "app.yaml", [bad])
            site.wait_for_metric(HELD, 1)
            site.wait_for(lambda: load.answered > 200, "requests during the bad edit")
        assert load.failures == []
        assert site.metric(REJECTED_EDITS) == 1
        assert site.metric("ingress2nginx_rejected_ingresses") == 1
        assert site.metric("ingress2nginx_config_in_sync") == 1
        (held,) = problems(site, "kept-last-good")
        assert "default/app" in held["message"] and "last good version" in held["message"]
        errors = [e for e in site.log_events() if e.get("code") not in (None, "kept-last-good")]
        assert any(field in e["message"] and "default/app" in e["message"] for e in errors)

        write_manifests(site.folder / "app.yaml", [app("green")])  # the fix
        site.wait_for(lambda: site.served_by("/", "app.test") == "green", "the fix")
        site.wait_for(lambda: HELD not in site.metrics(), "the held gauge to clear")
        assert site.metric("ingress2nginx_rejected_ingresses") == 0


def test_deleting_an_ingress_held_at_its_last_good_version_drops_it(
    nginx_runner: NginxRunner, tmp_path: Path, backends: dict[str, EchoBackend]
) -> None:
    start(tmp_path / "manifests", backends)
    with running_sidecar(nginx_runner, tmp_path) as site:
        write_manifests(site.folder / "app.yaml", [app("green", route="no-slash")])
        site.wait_for_metric(HELD, 1)
        assert site.served_by("/", "app.test") == "blue"
        (site.folder / "app.yaml").unlink()
        site.wait_for(lambda: site.served_by("/", "app.test") is None, "the deletion")
        site.wait_for(lambda: HELD not in site.metrics(), "the held gauge to clear")
        # deleted means forgotten: the same invalid Ingress again is new, rejected alone
        write_manifests(site.folder / "app.yaml", [app("green", route="no-slash")])
        site.wait_for_metric("ingress2nginx_rejected_ingresses", 1)
        assert site.served_by("/", "app.test") is None
        assert HELD not in site.metrics()


def test_a_snippet_nginx_refuses_is_isolated_named_with_nginxs_words_and_the_rest_applied(
    nginx_runner: NginxRunner, tmp_path: Path, backends: dict[str, EchoBackend]
) -> None:
    start(tmp_path / "manifests", backends)
    write_manifests(tmp_path / "manifests" / "stable.yaml", [ingress(
        "stable", rules=[rule("stable.test", path("/", to("stable")))])])  # fmt: skip
    with running_sidecar(nginx_runner, tmp_path, *SNIPPETS) as site:
        assert site.served_by("/", "app.test") == "blue"
        refused_edit = app("green", configuration_snippet="bogus_directive on;")
        newcomer = ingress("new", rules=[rule("new.test", path("/", to("green")))])
        newcomer["metadata"]["annotations"] = {
            "nginx.ingress.kubernetes.io/server-snippet": "more_bogus on;"
        }
        good = ingress("good", rules=[rule("good.test", path("/", to("green")))])
        with (
            steady_load(site, "app.test", "blue") as app_load,
            steady_load(site, "stable.test", "stable") as stable_load,
        ):
            write_manifests(site.folder / "app.yaml", [refused_edit])
            write_manifests(site.folder / "new.yaml", [newcomer, good])
            site.wait_for(lambda: site.served_by("/", "good.test") == "green", "the good one")
            site.wait_for(lambda: app_load.answered > 100, "requests after the refusal")
        assert app_load.failures == [] and stable_load.failures == []
        assert site.served_by("/", "new.test") is None  # new: left out
        site.wait_for(lambda: len(problems(site, "refused-by-nginx")) == 2, "the refusals")
        found = problems(site, "refused-by-nginx")
        refused = {event["message"].split(":")[0].strip(): event for event in found}
        assert set(refused) == {"ingress default/app", "ingress default/new"}
        assert 'unknown directive "bogus_directive"' in refused["ingress default/app"]["message"]
        assert "last good version" in refused["ingress default/app"]["message"]
        assert 'unknown directive "more_bogus"' in refused["ingress default/new"]["message"]
        assert "left out" in refused["ingress default/new"]["message"]
        metrics = site.metrics()
        assert metrics[HELD] == 1
        assert metrics["ingress2nginx_refused_ingresses"] == 2
        assert metrics["ingress2nginx_config_in_sync"] == 1
        assert 1 <= metrics["ingress2nginx_isolation_validations_total"] <= MAX_RUNS

        renders = site.metric("ingress2nginx_renders_total")
        validations = metrics["ingress2nginx_isolation_validations_total"]
        write_manifests(site.folder / "stable.yaml", [ingress(
            "stable", rules=[rule("stable.test", path("/", to("blue")))])])  # fmt: skip
        site.wait_for(lambda: site.served_by("/", "stable.test") == "blue", "a later change")
        assert site.metric("ingress2nginx_renders_total") > renders
        # the refused versions stay out without searching again
        assert site.metric("ingress2nginx_isolation_validations_total") == validations

        write_manifests(site.folder / "app.yaml", [app("green", configuration_snippet="")])
        site.wait_for(lambda: site.served_by("/", "app.test") == "green", "the fixed snippet")
        site.wait_for_metric("ingress2nginx_refused_ingresses", 1)
    assert "[emerg]" not in site.nginx.stderr  # type: ignore[union-attr]


def test_a_refusal_no_ingress_explains_installs_nothing_until_it_passes(
    nginx_runner: NginxRunner, tmp_path: Path, backends: dict[str, EchoBackend]
) -> None:
    start(tmp_path / "manifests", backends)
    broken = tmp_path / "validator-broken"
    validate = f'! test -e {broken} && nginx -t -q -e stderr -c "$CONFIG"'
    with running_sidecar(nginx_runner, tmp_path, "--validate-command", validate) as site:
        good = site.output.read_text()
        broken.touch()
        write_manifests(site.folder / "app.yaml", [app("green")])
        site.wait_for(
            lambda: site.metric("ingress2nginx_validation_failures_total") >= 1, "the refusal"
        )
        assert site.output.read_text() == good
        assert site.metric("ingress2nginx_config_in_sync") == 0
        assert site.served_by("/", "app.test") == "blue"
        assert any("isolation budget" in e["message"] for e in site.log_events())
        assert site.metric("ingress2nginx_isolation_validations_total") >= 1
        broken.unlink()
        site.wait_for(lambda: site.served_by("/", "app.test") == "green", "the retry")
        site.wait_for_metric("ingress2nginx_config_in_sync", 1)


def test_a_refused_snippet_present_at_start_is_left_out_of_the_first_config(
    nginx_runner: NginxRunner, tmp_path: Path, backends: dict[str, EchoBackend]
) -> None:
    start(tmp_path / "manifests", backends)
    refused = ingress("snip", rules=[rule("snip.test", path("/", to("green")))])
    refused["metadata"]["annotations"] = {
        "nginx.ingress.kubernetes.io/configuration-snippet": "bogus_directive on;"
    }
    write_manifests(tmp_path / "manifests" / "snip.yaml", [refused])
    with running_sidecar(nginx_runner, tmp_path, *SNIPPETS) as site:  # waits for readiness
        assert site.served_by("/", "app.test") == "blue"
        assert site.served_by("/", "snip.test") is None
        (found,) = problems(site, "refused-by-nginx")
        assert "ingress default/snip" in found["message"] and "left out" in found["message"]
        assert site.metric("ingress2nginx_refused_ingresses") == 1
        assert "ingress2nginx_ingress_held_at_last_good" not in " ".join(site.metrics())
