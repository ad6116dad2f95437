"""check's shadowed paths agree with nginx (issue 15): a path check calls shadowed is never
answered by nginx for any request it matches, and every other path is reachable. Both sides
come from one decision procedure (explaining.py), proven here through real nginx."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from e2e import (
    Site,
    echo_service,
    ingress,
    manifest_text,
    path,
    rule,
    serving,
    started_backends,
    to,
)
from golden_cases import run_cli

from ingress2nginx.core.objects import Inventory
from ingress2nginx.core.settings import Settings
from ingress2nginx.model import Config, Route
from ingress2nginx.normalize.normalizing import normalize
from ingress2nginx.report.explaining import probes, shadowed
from ingress2nginx.sources.loading import load_text

REGEX = {"nginx.ingress.kubernetes.io/use-regex": "true"}
SERVICES = ("e-exact", "e-prefix", "fallback", "status", "wide", "b-regex", "narrow", "n-exact",
            "b-prefix", "root")  # fmt: skip
EXTRA_REQUESTS = ("/", "/api", "/api/", "/api/v1", "/ab", "/abc", "/ab/c/d", "/ac", "/ac/",
                  "/b", "/b/", "/b/x", "/b/X_1", "/other")  # fmt: skip


def objects() -> list[dict[str, object]]:
    return [
        # Exact /api beside Prefix /api: the Exact answers /api, the Prefix everything below
        ingress("exact-api", rules=[rule("exact.test", path("/api", to("e-exact"), "Exact"))]),
        ingress("prefix-api", rules=[rule("exact.test", path("/api", to("e-prefix")),
                                          path("/", to("root")))]),
        # samples/default-backend.yaml: the default backend answers what Exact / does not
        ingress("fallback", default_backend=to("fallback")),
        ingress("status", rules=[rule("status.test", path("/", to("status"), "Exact"))]),
        # a use-regex host: /a.* is tried before the shorter /ab, which never answers
        ingress("wide", annotations=REGEX, rules=[rule("regex.test",
            path("/a.*", to("wide"), "ImplementationSpecific"),
            path("/b/[a-z]+", to("b-regex"), "ImplementationSpecific"))]),
        ingress("narrow", rules=[rule("regex.test", path("/ab", to("narrow")),
                                      path("/ac", to("n-exact"), "Exact"),
                                      path("/b", to("b-prefix")))]),
    ]  # fmt: skip


def config_of(manifests: list[dict[str, object]]) -> Config:
    loaded = load_text(manifest_text(manifests), "test")
    return normalize(Inventory.build(loaded.manifests), Settings()).config


def service_of(route: Route) -> str:
    return route.backend.split("/")[1].split(":")[0]


@pytest.fixture(scope="module")
def site(nginx_binary: str) -> Iterator[tuple[Site, list[dict[str, object]]]]:
    with started_backends(*SERVICES) as echo:
        manifests = objects() + [item for name in SERVICES for item in echo_service(echo[name])]
        with serving(manifests, binary=nginx_binary) as served:
            yield served, manifests


def answers(site: Site, route: Route) -> set[str | None]:
    """The backends nginx answers on the route's host, for its probes and other requests."""
    host = route.host or "any.test"
    targets = [*probes(route), *EXTRA_REQUESTS]
    return {site.get(quote(target), host=host).backend for target in targets}


def test_check_reports_exactly_the_path_no_request_reaches(tmp_path: Path) -> None:
    source = tmp_path / "in.yaml"
    source.write_text(manifest_text(objects()))
    result = run_cli(["check", "--format", "json", str(source)])
    found = [(p["object"]["name"], p["field"]) for p in json.loads(result.config)["problems"]
             if p["code"] == "shadowed"]  # fmt: skip
    assert found == [("narrow", "spec.rules[0].http.paths[0].path")]
    (problem,) = [p for p in json.loads(result.config)["problems"] if p["code"] == "shadowed"]
    assert problem["reason"] == (
        "path /ab (Prefix) on host regex.test never answers: default/wide"
        " spec.rules[0].http.paths[0] always matches first"
    )


def test_a_shadowed_path_is_never_answered_by_nginx_and_every_other_path_is(
    site: tuple[Site, list[dict[str, object]]],
) -> None:
    served, manifests = site
    config = config_of(manifests)
    hidden = {item.route.origin for item in shadowed(config)}
    assert hidden, "the case must hold a shadowed path"
    for route in config.routes:
        reached = answers(served, route)
        if route.origin in hidden:
            assert service_of(route) not in reached, route
        else:
            assert service_of(route) in reached, route


def test_the_default_backend_answers_beside_an_exact_root(
    site: tuple[Site, list[dict[str, object]]],
) -> None:
    served, _ = site
    assert served.served_by("/", "status.test") == "status"
    assert served.served_by("/x", "status.test") == "fallback"
    assert served.served_by("/api/x", "exact.test") == "e-prefix"
    assert served.served_by("/api", "exact.test") == "e-exact"
