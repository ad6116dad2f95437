"""Gateway API routing through real nginx: attachment, hostnames, paths, weights, 500s.

One site serves every case below from one set of Gateways and HTTPRoutes; each test sends
real requests and asks the echo backends who answered. The expectations are the Gateway API
specification's and its conformance suite's (docs/gateway-api.md).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
from e2e import Site, echo_service, ingress, path, rule, serving, started_backends, to
from gateway_objects import (
    backend_ref,
    gateway,
    gateway_class,
    http_route,
    listener,
    namespace,
    parent,
    path_match,
    reference_grant,
    route_rule,
)
from harness import free_port, request
from tls_secrets import tls_secret

BACKENDS = {
    "web": "default", "api": "default", "login": "default", "later": "default",
    "v2": "default", "wild": "default", "precise": "default", "teama": "a",
    "regex": "default", "alpha": "default", "beta": "default", "granted": "c",
    "secure": "default", "ingsvc": "default", "routed": "default", "flag": "default",
}  # fmt: skip

WEB = parent("web", namespace="infra", section="http")


def _routes() -> list[dict[str, object]]:
    return [
        http_route("shop", parents=[WEB], hostnames=["shop.test"], created="2026-01-01T00:00:00Z",
                   rules=[route_rule([path_match("/api")], [backend_ref("api")]),
                          route_rule([path_match("/login", "Exact")], [backend_ref("login")]),
                          route_rule(None, [backend_ref("web")])]),
        http_route("shop-later", parents=[WEB], hostnames=["shop.test"],
                   created="2026-02-01T00:00:00Z",
                   rules=[route_rule([path_match("/api")], [backend_ref("later")]),
                          route_rule([path_match("/api/v2/")], [backend_ref("v2")])]),
        http_route("wild", parents=[WEB], hostnames=["*.wild.test"],
                   rules=[route_rule(None, [backend_ref("wild")])]),
        http_route("precise", parents=[WEB], hostnames=["a.wild.test"],
                   rules=[route_rule(None, [backend_ref("precise")])]),
        http_route("team-a", namespace="a", parents=[parent("web", namespace="infra",
                   section="team")], rules=[route_rule(None, [backend_ref("teama")])]),
        http_route("team-b", namespace="b", parents=[parent("web", namespace="infra",
                   section="team")], hostnames=["only-b.test"],
                   rules=[route_rule(None, [backend_ref("web", namespace="default")])]),
        http_route("regex", parents=[WEB], hostnames=["regex.test"],
                   rules=[route_rule([path_match("/v[0-9]+/items", "RegularExpression")],
                                     [backend_ref("regex")]),
                          route_rule(None, [backend_ref("web")])]),
        http_route("split", parents=[WEB], hostnames=["split.test"],
                   rules=[route_rule(None, [backend_ref("alpha", weight=3),
                                            backend_ref("beta", weight=1)])]),
        http_route("broken", parents=[WEB], hostnames=["broken.test"],
                   rules=[route_rule([path_match("/gone")], [backend_ref("x", kind="Foo")]),
                          route_rule([path_match("/other-ns")],
                                     [backend_ref("web", namespace="elsewhere")]),
                          route_rule([path_match("/granted")],
                                     [backend_ref("granted", namespace="c")]),
                          route_rule([path_match("/missing")], [backend_ref("nowhere")]),
                          route_rule([path_match("/half")],
                                     [backend_ref("web"), backend_ref("x", kind="Foo")]),
                          route_rule(None, [backend_ref("web")])]),
        http_route("secure", parents=[parent("web", namespace="infra", section="https")],
                   rules=[route_rule(None, [backend_ref("secure")])]),
        http_route("granted", parents=[parent("web", namespace="infra", section="granted")],
                   rules=[route_rule(None, [backend_ref("secure")])]),
        http_route("conflicting", parents=[WEB], hostnames=["conflict.test", "free.test"],
                   rules=[route_rule(None, [backend_ref("routed")])]),
        http_route("flagged", parents=[parent("by-flag")], hostnames=["flag.test"],
                   rules=[route_rule(None, [backend_ref("flag")])]),
        http_route("foreign", parents=[parent("foreign")], hostnames=["foreign.test"],
                   rules=[route_rule(None, [backend_ref("web")])]),
    ]  # fmt: skip


def _objects() -> list[dict[str, object]]:
    listeners = [
        listener("http", 80, namespaces="All"),
        listener("https", 443, hostname="secure.test", secret="secure-tls", namespaces="All"),
        listener("granted", 443, hostname="granted.test", secret="granted-tls",
                 secret_namespace="certs", namespaces="All"),
        listener("team", 80, hostname="*.team.test", namespaces="Selector",
                 selector={"matchLabels": {"team": "a"}}),
    ]  # fmt: skip
    return [
        gateway_class(),
        gateway("web", namespace="infra", listeners=listeners),
        gateway("by-flag", class_name="nginx", listeners=[listener("http", 80)]),
        gateway("foreign", class_name="someone-else", listeners=[listener("http", 80)]),
        namespace("a", {"team": "a"}),
        namespace("b", {"team": "b"}),
        reference_grant("c", "HTTPRoute", "default", "Service"),
        reference_grant("certs", "Gateway", "infra", "Secret"),
        tls_secret("infra", "secure-tls", ["secure.test"]),
        tls_secret("certs", "granted-tls", ["granted.test"]),
        ingress("legacy", rules=[rule("conflict.test", path("/", to("ingsvc")))]),
        *_routes(),
    ]


@pytest.fixture(scope="module")
def https_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def site(nginx_binary: str, https_port: int) -> Iterator[Site]:
    objects = _objects()
    with started_backends(*BACKENDS) as echo:
        for name, space in BACKENDS.items():
            objects.extend(echo_service(echo[name], name, space))
        with serving(objects, "--https-port", str(https_port), binary=nginx_binary) as served:
            yield served


def test_a_pathprefix_match_is_element_wise_and_served_without_a_redirect(site: Site) -> None:
    assert site.served_by("/api", "shop.test") == "api"
    assert site.served_by("/api/", "shop.test") == "api"
    assert site.served_by("/api/cart", "shop.test") == "api"
    assert site.served_by("/apis", "shop.test") == "web"


def test_an_exact_match_serves_only_that_path(site: Site) -> None:
    assert site.served_by("/login", "shop.test") == "login"
    assert site.served_by("/login/", "shop.test") == "web"
    assert site.served_by("/login/x", "shop.test") == "web"


def test_the_longest_prefix_wins_across_routes_and_the_older_route_wins_a_tie(
    site: Site,
) -> None:
    assert site.served_by("/api/v2/x", "shop.test") == "v2"
    assert site.served_by("/api/v2", "shop.test") == "v2", "a trailing / is ignored"
    assert site.served_by("/api/v1", "shop.test") == "api", "shop is older than shop-later"


def test_a_request_no_rule_matches_gets_404_from_nginx(site: Site) -> None:
    assert site.served_by("/", "nobody.test") is None


def test_a_wildcard_hostname_matches_one_or_more_labels_but_not_the_bare_domain(
    site: Site,
) -> None:
    assert site.served_by("/", "b.wild.test") == "wild"
    assert site.served_by("/", "x.y.wild.test") == "wild"
    assert site.served_by("/", "wild.test") is None


def test_a_precise_hostname_beats_a_wildcard(site: Site) -> None:
    assert site.served_by("/", "a.wild.test") == "precise"


def test_a_route_takes_the_listener_hostname_and_a_namespace_selector_admits_it(
    site: Site,
) -> None:
    assert site.served_by("/", "x.team.test") == "teama"
    assert site.served_by("/", "x.y.team.test") == "teama"


def test_a_route_from_a_namespace_the_listener_does_not_select_is_not_attached(
    site: Site,
) -> None:
    assert site.served_by("/", "only-b.test") is None
    assert "httproute b/team-b: spec.parentRefs[0]" in site.messages
    assert "NotAllowedByListeners" in site.messages


def test_a_regular_expression_must_match_the_whole_path_case_sensitively(site: Site) -> None:
    assert site.served_by("/v1/items", "regex.test") == "regex"
    assert site.served_by("/v12/items", "regex.test") == "regex"
    assert site.served_by("/v1/items/x", "regex.test") == "web"
    assert site.served_by("/V1/items", "regex.test") == "web"


def test_weighted_backends_share_requests_by_weight(site: Site) -> None:
    counts = Counter(site.served_by(f"/r{index}", "split.test") for index in range(120))
    assert set(counts) == {"alpha", "beta"}
    assert 65 <= counts["alpha"] <= 110, counts  # 3:1 of 120 is 90 (sd 4.7)


def test_an_invalid_backend_ref_answers_500_without_costing_the_other_rules(site: Site) -> None:
    assert site.get("/gone", "broken.test").status == 500
    assert site.get("/other-ns", "broken.test").status == 500
    assert site.get("/missing", "broken.test").status == 500
    assert site.served_by("/granted", "broken.test") == "granted"
    assert site.served_by("/anything", "broken.test") == "web"
    assert "RefNotPermitted" in site.messages and "InvalidKind" in site.messages


def test_an_invalid_backend_ref_among_weighted_ones_answers_500_for_its_share(
    site: Site,
) -> None:
    statuses = Counter(site.get(f"/half/{index}", "broken.test").status for index in range(40))
    assert set(statuses) == {200, 500}, statuses


def test_an_https_listener_terminates_tls_with_its_certificate(site: Site, https_port: int) -> None:
    response = request(https_port, "/", host="secure.test", tls=True)
    assert response.backend == "secure"
    assert response.certificate is not None
    assert response.certificate.subject_alt_names == ("secure.test",)


def test_a_certificate_in_another_namespace_is_used_with_a_reference_grant(
    site: Site, https_port: int
) -> None:
    response = request(https_port, "/", host="granted.test", tls=True)
    assert response.backend == "secure"
    assert response.certificate is not None
    assert response.certificate.subject_alt_names == ("granted.test",)


def test_plain_http_to_a_host_only_an_https_listener_serves_gets_404(site: Site) -> None:
    response = site.get("/a/?b=c", "secure.test")
    assert (response.status, response.backend) == (404, None), "listener isolation"


def test_a_host_an_ingress_has_rules_for_stays_the_ingress_and_the_route_is_told(
    site: Site,
) -> None:
    assert site.served_by("/", "conflict.test") == "ingsvc"
    assert site.served_by("/", "free.test") == "routed"
    assert "httproute default/conflicting" in site.messages
    assert "conflict.test is served by Ingresses" in site.messages


def test_gateways_of_the_gateway_class_option_are_served_and_others_are_not(
    site: Site,
) -> None:
    assert site.served_by("/", "flag.test") == "flag"
    assert site.served_by("/", "foreign.test") is None
