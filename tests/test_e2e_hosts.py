"""Host matching and default backends through real nginx.

Two sites: ``hosts`` has precise hosts, a one-label wildcard and a rule without host, and no
default backend anywhere; ``defaults`` has a global default backend (an Ingress without rules)
and a host with its own ``spec.defaultBackend``. Every answer names the echo backend that
served it, or is None when nginx answered by itself.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from e2e import Site, echo_service, ingress, path, rule, serving, started_backends, to

HOSTS_BACKENDS = ("www", "wildcard", "under-wildcard", "wildcard-w", "api", "anyhost")
DEFAULTS_BACKENDS = ("fallback", "app-api", "app-fallback", "other-only", "hostless")


def hosts_manifests() -> list[dict[str, object]]:
    return [
        ingress("hosts", rules=[
            rule("*.foo.test", path("/", to("wildcard"))),
            rule("www.example.test", path("/", to("www"))),
            rule(None, path("/", to("anyhost"))),
        ]),
        ingress("more-hosts", rules=[
            rule("api.example.test", path("/v1", to("api"))),
            rule("precise.foo.test", path("/only", to("under-wildcard"), "Exact")),
            rule("*.wild.test", path("/w", to("wildcard-w"))),
        ]),
    ]  # fmt: skip


def defaults_manifests() -> list[dict[str, object]]:
    return [
        ingress("global-default", default_backend=to("fallback")),
        ingress("app", default_backend=to("app-fallback"), rules=[
            rule("app.example.test", path("/api", to("app-api"))),
        ]),
        ingress("hostless", rules=[rule(None, path("/hostless", to("hostless")))]),
        ingress("other", rules=[
            rule("other.example.test", path("/only", to("other-only"), "Exact")),
        ]),
    ]  # fmt: skip


@pytest.fixture(scope="module")
def hosts(nginx_binary: str) -> Iterator[Site]:
    with started_backends(*HOSTS_BACKENDS) as echo:
        services = [obj for backend in echo.values() for obj in echo_service(backend)]
        with serving([*hosts_manifests(), *services], binary=nginx_binary) as site:
            yield site


@pytest.fixture(scope="module")
def defaults(nginx_binary: str) -> Iterator[Site]:
    with started_backends(*DEFAULTS_BACKENDS) as echo:
        services = [obj for backend in echo.values() for obj in echo_service(backend)]
        with serving([*defaults_manifests(), *services], binary=nginx_binary) as site:
            yield site


@pytest.mark.parametrize(
    "host",
    ["www.example.test", "WWW.Example.TEST", "www.example.test:8080", "Www.Example.Test:1"],
)
def test_a_precise_host_matches_case_insensitively_and_ignores_the_port(
    hosts: Site, host: str
) -> None:
    assert hosts.served_by("/", host) == "www"


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("bar.foo.test", "wildcard"),
        ("BAR.Foo.Test", "wildcard"),
        ("bar.foo.test:99", "wildcard"),
        ("x-1.foo.test", "wildcard"),
        ("a.bar.foo.test", "anyhost"),
        ("foo.test", "anyhost"),
        ("barfoo.test", "anyhost"),
        ("bar.foo.test.evil", "anyhost"),
    ],
)
def test_a_wildcard_host_matches_exactly_one_label(hosts: Site, host: str, expected: str) -> None:
    assert hosts.served_by("/x", host) == expected


def test_a_precise_host_beats_a_wildcard(hosts: Site) -> None:
    assert hosts.served_by("/only", "precise.foo.test") == "under-wildcard"


def test_a_precise_host_under_a_wildcard_never_falls_back_to_the_wildcard(hosts: Site) -> None:
    assert hosts.served_by("/elsewhere", "precise.foo.test") is None


@pytest.mark.parametrize(
    "host", ["unknown.test", "example.test", "127.0.0.1", "localhost:8080", "www.example.test.x"]
)
def test_a_rule_without_host_serves_every_unclaimed_host(hosts: Site, host: str) -> None:
    assert hosts.served_by("/anything", host) == "anyhost"


@pytest.mark.parametrize("target", ["/", "/v2", "/v1x", "/other/v1"])
def test_a_matched_host_with_an_unmatched_path_never_goes_to_the_rule_without_host(
    hosts: Site, target: str
) -> None:
    response = hosts.get(target, "api.example.test")
    assert (response.status, response.backend) == (404, None)


def test_a_matched_host_serves_its_own_paths(hosts: Site) -> None:
    assert hosts.served_by("/v1/users", "api.example.test") == "api"


@pytest.mark.parametrize(("target", "expected"), [("/w/x", "wildcard-w"), ("/x", None)])
def test_a_host_matched_by_a_wildcard_never_goes_to_the_rule_without_host(
    hosts: Site, target: str, expected: str | None
) -> None:
    assert hosts.served_by(target, "any.wild.test") == expected


@pytest.mark.parametrize("host", ["unknown.test", "127.0.0.1", "www.example.test"])
def test_the_global_default_backend_takes_hosts_no_rule_names(defaults: Site, host: str) -> None:
    assert defaults.served_by("/anything", host) == "fallback"


@pytest.mark.parametrize("target", ["/", "/other", "/only/x", "/Only"])
def test_the_global_default_backend_takes_unmatched_paths_of_a_host(
    defaults: Site, target: str
) -> None:
    assert defaults.served_by(target, "other.example.test") == "fallback"


@pytest.mark.parametrize(
    ("target", "expected"),
    [("/api", "app-api"), ("/api/x", "app-api"), ("/", "app-fallback"), ("/apix", "app-fallback")],
)
def test_an_ingress_default_backend_takes_the_unmatched_paths_of_its_hosts(
    defaults: Site, target: str, expected: str
) -> None:
    assert defaults.served_by(target, "app.example.test") == expected


@pytest.mark.parametrize(("target", "expected"), [("/hostless/x", "hostless"), ("/x", "fallback")])
def test_a_rule_without_host_sends_its_unmatched_paths_to_the_default_backend(
    defaults: Site, target: str, expected: str
) -> None:
    assert defaults.served_by(target, "unknown.test") == expected


def test_a_host_path_still_wins_over_the_default_backend(defaults: Site) -> None:
    assert defaults.served_by("/only", "other.example.test") == "other-only"


def test_without_any_default_backend_nginx_itself_answers_404(hosts: Site) -> None:
    response = hosts.get("/nothing-here", "api.example.test")
    assert response.status == 404
    assert response.backend is None
