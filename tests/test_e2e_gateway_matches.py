"""Gateway API header, query parameter and method matches through real nginx.

Matches within one entry are ANDed, entries of a rule ORed; among matches of one request the
Gateway API's precedence holds: the exact path, then the longest prefix, then a method, then
the most headers, then the most query parameters, then the oldest route, then the first rule.
Header names are case-insensitive and values case-sensitive; query parameters are compared
exactly. A request no match takes falls to the next match of its path, or gets 404.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from e2e import Site, echo_service, serving, started_backends
from gateway_objects import backend_ref, gateway, http_route, listener, parent, path_match
from gateway_objects import route_rule as rule

BACKENDS = ("one", "two", "two-orange", "whale", "dolphin-blue", "post", "headered", "web",
            "regex", "exact", "newer", "prefixed", "strict")  # fmt: skip


def _header(name: str, value: str, kind: str = "Exact") -> dict[str, str]:
    return {"name": name, "value": value, "type": kind}


def _query(name: str, value: str) -> dict[str, str]:
    return {"name": name, "value": value}


def _objects() -> list[dict[str, object]]:
    edge = [parent("edge")]
    root = "/"
    older = http_route("older", parents=edge, hostnames=["match.test"],
                       created="2026-01-01T00:00:00Z", rules=[
        rule([path_match(root, headers=[_header("version", "one")])], [backend_ref("one")]),
        rule([path_match(root, headers=[_header("version", "two")])], [backend_ref("two")]),
        rule([path_match(root, headers=[_header("version", "two"), _header("color", "orange")])],
             [backend_ref("two-orange")]),
        rule([path_match("/q", queryParams=[_query("animal", "whale")])], [backend_ref("whale")]),
        rule([path_match("/q", queryParams=[_query("animal", "dolphin"), _query("color", "blue")])],
             [backend_ref("dolphin-blue")]),
        rule([path_match("/m", headers=[_header("x", "1")])], [backend_ref("headered")]),
        rule([path_match("/m", method="POST")], [backend_ref("post")]),
        rule([path_match("/re", headers=[_header("version", "^v[0-9]+$", "RegularExpression")])],
             [backend_ref("regex")]),
        rule([path_match("/api", headers=[_header("x", "1")])], [backend_ref("prefixed")]),
        rule(None, [backend_ref("web")]),
    ])  # fmt: skip
    newer = http_route("newer", parents=edge, hostnames=["match.test"],
                       created="2026-02-01T00:00:00Z", rules=[
        rule([path_match(root, headers=[_header("version", "one")])], [backend_ref("newer")]),
        rule([path_match("/exact", "Exact", headers=[_header("version", "one")])],
             [backend_ref("exact")]),
    ])  # fmt: skip
    strict = http_route("strict", parents=edge, hostnames=["strict.test"], rules=[
        rule([path_match(root, headers=[_header("token", "s3cr3t")])], [backend_ref("strict")]),
    ])  # fmt: skip
    return [gateway("edge", class_name="nginx", listeners=[listener("http", 80)]), older, newer,
            strict]  # fmt: skip


@pytest.fixture(scope="module")
def site(nginx_binary: str) -> Iterator[Site]:
    objects = _objects()
    with started_backends(*BACKENDS) as echo:
        for name in BACKENDS:
            objects.extend(echo_service(echo[name]))
        with serving(objects, binary=nginx_binary) as served:
            yield served


def backend(site: Site, target: str, *headers: tuple[str, str], method: str = "GET") -> str | None:
    response = site.get(target, "match.test", headers=list(headers), method=method)
    return response.backend


def test_a_header_match_compares_the_value_exactly_and_the_name_in_any_case(site: Site) -> None:
    assert backend(site, "/", ("version", "one")) == "one"
    assert backend(site, "/", ("VERSION", "one")) == "one"
    assert backend(site, "/", ("version", "One")) == "web"
    assert backend(site, "/", ("version", "one-more")) == "web"
    assert backend(site, "/") == "web"


def test_the_match_with_more_headers_wins(site: Site) -> None:
    assert backend(site, "/", ("version", "two")) == "two"
    assert backend(site, "/", ("version", "two"), ("color", "orange")) == "two-orange"
    assert backend(site, "/", ("version", "one"), ("color", "orange")) == "one"


def test_query_parameters_are_anded_and_compared_exactly(site: Site) -> None:
    assert backend(site, "/q?animal=whale") == "whale"
    assert backend(site, "/q?x=1&animal=whale&y=2") == "whale"
    assert backend(site, "/q?Animal=whale") == "web"
    assert backend(site, "/q?animal=whales") == "web"
    assert backend(site, "/q?animal=dolphin") == "web"
    assert backend(site, "/q?color=blue&animal=dolphin") == "dolphin-blue"


def test_a_method_match_beats_a_header_match(site: Site) -> None:
    assert backend(site, "/m", ("x", "1"), method="POST") == "post"
    assert backend(site, "/m", ("x", "1")) == "headered"
    assert backend(site, "/m", method="POST") == "post"
    assert backend(site, "/m", method="PUT") == "web"


def test_a_regular_expression_header_match_searches_the_value(site: Site) -> None:
    assert backend(site, "/re", ("version", "v12")) == "regex"
    assert backend(site, "/re", ("version", "v1x")) == "web"


def test_a_longer_prefix_with_unmet_conditions_falls_to_a_shorter_one(site: Site) -> None:
    assert backend(site, "/api/x", ("x", "1")) == "prefixed"
    assert backend(site, "/api/x") == "web"
    assert backend(site, "/api/x", ("version", "two")) == "two"


def test_the_older_route_wins_equal_matches_and_an_exact_path_beats_any_prefix(
    site: Site,
) -> None:
    assert backend(site, "/anything", ("version", "one")) == "one"
    assert backend(site, "/exact", ("version", "one")) == "exact"
    assert backend(site, "/exact", ("version", "two")) == "two"


def test_a_request_no_match_takes_gets_404(site: Site) -> None:
    assert site.get("/", "strict.test", headers=[("token", "s3cr3t")]).backend == "strict"
    response = site.get("/", "strict.test")
    assert (response.status, response.backend) == (404, None)
