"""``check`` and ``explain`` on HTTPRoutes: the routing table names routes and their rules,
a request is followed to the route that answers it, a path an older route always takes is
reported as shadowed (a path answered through a choice by header never is)."""

from __future__ import annotations

from e2e import manifest_text
from gateway_objects import backend_ref, gateway, http_route, listener, parent, path_match
from gateway_objects import route_rule as rule
from golden_cases import Rendered, run_cli


def _objects() -> list[dict[str, object]]:
    edge = [parent("edge")]
    return [
        gateway("edge", class_name="nginx", listeners=[listener("http", 80)]),
        http_route("older", parents=edge, hostnames=["s.test"], created="2026-01-01T00:00:00Z",
                   rules=[rule([path_match("/x")], [backend_ref("a")]),
                          rule([path_match("/h", headers=[{"name": "v", "value": "1"}])],
                               [backend_ref("a")])]),
        http_route("newer", parents=edge, hostnames=["s.test"], created="2026-02-01T00:00:00Z",
                   rules=[rule([path_match("/x/")], [backend_ref("b")]),
                          rule([path_match("/h")], [backend_ref("b")])]),
    ]  # fmt: skip


def run(*argv: str) -> Rendered:
    return run_cli([*argv, "-"], manifest_text(_objects()))


def test_explain_lists_each_route_match_with_its_gateway_api_path_type_and_source() -> None:
    table = run("explain").config.splitlines()
    assert table[0].split() == ["HOST", "PATH", "TYPE", "BACKEND", "SOURCE"]
    rows = [line.split() for line in table[1:]]
    assert ["s.test", "/x", "PathPrefix", "default/a:80", "HTTPRoute", "default/older",
            "spec.rules[0].matches[0]"] in rows  # fmt: skip


def test_explain_follows_a_request_to_the_route_that_answers_it() -> None:
    answer = run("explain", "--request", "http://s.test/x/y").config
    assert "source:   HTTPRoute default/older spec.rules[0].matches[0]" in answer
    assert "proxied to default/a:80" in answer


def test_check_reports_a_path_an_older_route_always_takes_and_not_one_taken_by_header() -> None:
    checked = run("check")
    assert checked.code == 1
    assert (
        "httproute default/newer: spec.rules[0].matches[0].path: path /x/ (PathPrefix) on host"
        " s.test never answers: HTTPRoute default/older spec.rules[0].matches[0]"
    ) in checked.messages
    assert "spec.rules[1].matches[0].path" not in checked.messages
    assert "0 Ingress(es) and 2 HTTPRoute(s) would be served" in checked.messages


def _per_listener() -> str:
    edge = [listener("http", 80), listener("https", 443, secret="none-tls")]
    return manifest_text([
        gateway("edge", class_name="nginx", listeners=edge),
        http_route("split-http", parents=[parent("edge", port=80)], hostnames=["split.test"],
                   rules=[rule([path_match("/a")], [backend_ref("plain")])]),
        http_route("split-https", parents=[parent("edge", port=443)], hostnames=["split.test"],
                   rules=[rule([path_match("/a")], [backend_ref("secure")])]),
    ])  # fmt: skip


def test_explain_follows_a_request_to_the_routes_of_the_listener_port_it_uses() -> None:
    plain = run_cli(["explain", "--request", "http://split.test/a", "-"], _per_listener())
    assert "source:   HTTPRoute default/split-http spec.rules[0].matches[0]" in plain.config
    secure = run_cli(["explain", "--request", "https://split.test/a", "-"], _per_listener())
    assert "source:   HTTPRoute default/split-https spec.rules[0].matches[0]" in secure.config


def test_check_does_not_call_a_route_shadowed_by_the_route_of_another_port() -> None:
    checked = run_cli(["check", "-"], _per_listener())
    assert "never answers" not in checked.messages
