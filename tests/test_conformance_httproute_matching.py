"""The Gateway API conformance suite's HTTPRoute matching scenarios, through real nginx.

Each test below is one of the suite's: the same objects (our own manifests, built on
conformance_base's copy of the suite's infrastructure), rendered by the command line and
served by nginx, and the same expectation for each request: the backend that answers, or
nginx's 404. Requests carry the Gateway's address as Host, as the suite's do.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from conformance_base import (
    INFRA,
    V1,
    V2,
    V3,
    Gateway,
    scenario,
    suite_backends,
    suite_route,
    to,
)
from gateway_objects import path_match
from gateway_objects import route_rule as rule
from golden_cases import run_cli
from harness import EchoBackend

Obj = dict[str, Any]


def _header(name: str, value: str) -> dict[str, str]:
    return {"name": name, "value": value}


def _headers(*pairs: tuple[str, str]) -> Obj:
    return {"headers": [_header(name, value) for name, value in pairs]}


def _query(*pairs: tuple[str, str]) -> list[dict[str, str]]:
    return [_header(name, value) for name, value in pairs]


@pytest.fixture(scope="module")
def backends() -> Iterator[dict[str, EchoBackend]]:
    with suite_backends() as started:
        yield started


# --------------------------------------------------------------- HTTPRouteExactPathMatching


@pytest.fixture(scope="module")
def exact(request: pytest.FixtureRequest) -> Iterator[Gateway]:
    yield from scenario(request, [suite_route("exact-matching", [
        rule([path_match("/one", "Exact")], to(V1)),
        rule([path_match("/two", "Exact")], to(V2)),
    ])])  # fmt: skip


def test_exact_path_matching_serves_only_the_exact_paths(exact: Gateway) -> None:
    for target, expected in (("/one", V1), ("/two", V2), ("/", 404), ("/one/example", 404),
                             ("/two/", 404), ("/Two", 404)):  # fmt: skip
        assert exact.backend(target) == expected, target
        assert exact.explain(target) == expected, target


# ----------------------------------------------------------------- HTTPRouteHeaderMatching


@pytest.fixture(scope="module")
def headers(request: pytest.FixtureRequest) -> Iterator[Gateway]:
    yield from scenario(request, [suite_route("header-matching", [
        rule([_headers(("version", "one"))], to(V1)),
        rule([_headers(("version", "two"))], to(V2)),
        rule([_headers(("version", "two"), ("color", "orange"))], to(V1)),
        rule([_headers(("color", "blue")), _headers(("color", "green"))], to(V1)),
        rule([_headers(("color", "red")), _headers(("color", "yellow"))], to(V2)),
    ])])  # fmt: skip


@pytest.mark.parametrize(
    ("sent", "expected"),
    [
        ({"Version": "one"}, V1),
        ({"Version": "two"}, V2),
        ({"Version": "two", "Color": "orange"}, V1),
        ({"Version": "two", "Color": "blue"}, V2),
        ({"Color": "orange"}, 404),
        ({"Some-Other-Header": "one"}, 404),
        ({"Color": "blue"}, V1),
        ({"Color": "green"}, V1),
        ({"Color": "red"}, V2),
        ({"Color": "yellow"}, V2),
        ({"Color": "purple"}, 404),
    ],
)
def test_header_matching_ands_within_a_match_and_ors_across_matches(
    headers: Gateway, sent: dict[str, str], expected: str | int
) -> None:
    assert headers.backend("/", headers=sent) == expected
    assert headers.explain("/") == 404, "without headers"


# ----------------------------------------------------------------------- HTTPRouteMatching


def _path_or_header_rules() -> list[Obj]:
    return [
        rule([path_match("/"), _headers(("version", "one"))], to(V1)),
        rule([path_match("/v2"), _headers(("version", "two"))], to(V2)),
    ]


@pytest.fixture(scope="module")
def matching(request: pytest.FixtureRequest) -> Iterator[Gateway]:
    yield from scenario(request, [suite_route("matching", _path_or_header_rules())])


@pytest.mark.parametrize(
    ("target", "sent", "expected"),
    [
        ("/", {}, V1),
        ("/example", {}, V1),
        ("/", {"Version": "one"}, V1),
        ("/v2", {}, V2),
        ("/v2/example", {}, V2),
        ("/", {"Version": "two"}, V2),
        ("/v2/", {}, V2),
        ("/v2example", {}, V1),
        ("/foo/v2/example", {}, V1),
    ],
)
def test_path_and_header_matches_of_one_route(
    matching: Gateway, target: str, sent: dict[str, str], expected: str
) -> None:
    assert matching.backend(target, headers=sent) == expected
    if not sent:
        assert matching.explain(target) == expected


# --------------------------------------------------------- HTTPRouteMatchingAcrossRoutes


@pytest.fixture(scope="module")
def across(request: pytest.FixtureRequest) -> Iterator[Gateway]:
    first, second = _path_or_header_rules()
    yield from scenario(request, [
        suite_route("matching-part1", [first], hostnames=["example.com", "example.net"]),
        suite_route("matching-part2", [second], hostnames=["example.com"]),
    ])  # fmt: skip


@pytest.mark.parametrize(
    ("host", "target", "sent", "expected"),
    [
        ("example.com", "/", {}, V1),
        ("example.com", "/example", {}, V1),
        ("example.net", "/example", {}, V1),
        ("example.com", "/example", {"Version": "one"}, V1),
        ("example.com", "/v2", {}, V2),
        ("example.net", "/v2", {}, V1),
        ("example.com", "/v2/example", {}, V2),
        ("example.com", "/", {"Version": "two"}, V2),
    ],
)
def test_matches_of_two_routes_on_one_host_combine(
    across: Gateway, host: str, target: str, sent: dict[str, str], expected: str
) -> None:
    assert across.backend(target, host, headers=sent) == expected
    if not sent:
        assert across.explain(target, host) == expected


# ------------------------------------------------------------------ HTTPRoutePathMatchOrder


@pytest.fixture(scope="module")
def order(request: pytest.FixtureRequest) -> Iterator[Gateway]:
    yield from scenario(request, [suite_route("path-matching-order", [
        rule([path_match("/match", "Exact")], to(V1)),
        rule([path_match("/match/exact", "Exact")], to(V2)),
        rule([path_match("/match/exact/one", "Exact")], to(V3)),
        rule([path_match("/match/")], to(V3)),
        rule([path_match("/match/prefix/")], to(V1)),
        rule([path_match("/match/prefix/one")], to(V2)),
    ])])  # fmt: skip


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/match/exact/one", V3),
        ("/match/exact", V2),
        ("/match", V1),
        ("/match/prefix/one/any", V2),
        ("/match/prefix/any", V1),
        ("/match/any", V3),
    ],
)
def test_path_matches_follow_the_precedence_order(
    order: Gateway, target: str, expected: str
) -> None:
    assert order.backend(target) == expected
    assert order.explain(target) == expected


# ------------------------------------------------------------- HTTPRouteQueryParamMatching


@pytest.fixture(scope="module")
def query(request: pytest.FixtureRequest) -> Iterator[Gateway]:
    yield from scenario(request, [suite_route("query-param-matching", [
        rule([{"queryParams": _query(("animal", "whale"))}], to(V1)),
        rule([{"queryParams": _query(("animal", "dolphin"))}], to(V2)),
        rule([{"queryParams": _query(("animal", "dolphin"), ("color", "blue"))},
              {"queryParams": _query(("ANIMAL", "Whale"))}], to(V3)),
        rule([path_match("/path1", queryParams=_query(("animal", "whale")))], to(V1)),
        rule([{**_headers(("version", "one")), "queryParams": _query(("animal", "whale"))}],
             to(V2)),
        rule([path_match("/path2", queryParams=_query(("animal", "whale")),
                         **_headers(("version", "two")))], to(V3)),
        rule([path_match("/path3", queryParams=_query(("animal", "shark"))),
              path_match("/path4", queryParams=_query(("animal", "kraken")),
                         **_headers(("version", "three")))], to(V1)),
        rule([path_match("/path5")], to(V1)),
        rule([{"queryParams": _query(("animal", "hydra"))}], to(V2)),
        rule([_headers(("version", "four"))], to(V3)),
    ])])  # fmt: skip


@pytest.mark.parametrize(
    ("target", "sent", "expected"),
    [
        ("/?animal=whale", {}, V1),
        ("/?animal=dolphin", {}, V2),
        ("/?animal=dolphin&color=blue", {}, V3),
        ("/?ANIMAL=Whale", {}, V3),
        ("/?animal=whale&otherparam=irrelevant", {}, V1),
        ("/?animal=dolphin&color=yellow", {}, V2),
        ("/?color=blue", {}, 404),
        ("/?animal=dog", {}, 404),
        ("/?animal=whaledolphin", {}, 404),
        ("/", {}, 404),
        ("/path1?animal=whale", {}, V1),
        ("/?animal=whale", {"version": "one"}, V2),
        ("/path2?animal=whale", {"version": "two"}, V3),
        ("/path3?animal=shark", {}, V1),
        ("/path4?animal=kraken", {"version": "three"}, V1),
        ("/?animal=shark", {}, 404),
        ("/path4?animal=kraken", {}, 404),
        ("/path5?animal=hydra", {}, V1),
        ("/?animal=hydra", {"version": "four"}, V3),
    ],
)
def test_query_param_matching_with_its_precedence(
    query: Gateway, target: str, sent: dict[str, str], expected: str | int
) -> None:
    assert query.backend(target, headers=sent) == expected
    if not sent:  # explain --request replays a GET without headers
        assert query.explain(target) == expected


# ----------------------------------------------------------------- HTTPRouteMethodMatching


@pytest.fixture(scope="module")
def methods(request: pytest.FixtureRequest) -> Iterator[Gateway]:
    yield from scenario(request, [suite_route("method-matching", [
        rule([{"method": "POST"}], to(V1)),
        rule([{"method": "GET"}], to(V2)),
        rule([path_match("/path1", method="GET")], to(V1)),
        rule([{**_headers(("version", "one")), "method": "PUT"}], to(V2)),
        rule([path_match("/path2", method="POST", **_headers(("version", "two")))], to(V3)),
        rule([path_match("/path3", method="PATCH"),
              path_match("/path4", method="DELETE", **_headers(("version", "three")))],
             to(V1)),
        rule([path_match("/path5")], to(V1)),
        rule([{"method": "PATCH"}], to(V2)),
        rule([_headers(("version", "four"))], to(V3)),
    ])])  # fmt: skip


@pytest.mark.parametrize(
    ("method", "target", "sent", "expected"),
    [
        ("POST", "/", {}, V1),
        ("GET", "/", {}, V2),
        ("HEAD", "/", {}, 404),
        ("GET", "/path1", {}, V1),
        ("PUT", "/", {"version": "one"}, V2),
        ("POST", "/path2", {"version": "two"}, V3),
        ("PATCH", "/path3", {}, V1),
        ("DELETE", "/path4", {"version": "three"}, V1),
        ("PUT", "/", {}, 404),
        ("DELETE", "/path4", {}, 404),
        ("PATCH", "/path5", {}, V1),
        ("PATCH", "/", {"version": "four"}, V2),
    ],
)
def test_method_matching_with_its_precedence(
    methods: Gateway, method: str, target: str, sent: dict[str, str], expected: str | int
) -> None:
    assert methods.backend(target, headers=sent, method=method) == expected
    if method == "GET" and not sent:
        assert methods.explain(target) == expected


@pytest.mark.parametrize(
    ("target", "source"),
    [("/?ANIMAL=Whale", "spec.rules[2].matches[1]"),
     ("/?animal=dolphin", "spec.rules[1].matches[0]"),
     ("/path5?animal=hydra", "spec.rules[7].matches[0]")],
)  # fmt: skip
def test_explain_names_the_rule_and_match_a_request_takes(
    query: Gateway, target: str, source: str
) -> None:
    url = f"http://{query.address}{target}"
    answer = run_cli(["explain", "-", *query.flags, "--request", url], query.manifests)
    assert f"source:   HTTPRoute {INFRA}/query-param-matching {source}\n" in answer.config
