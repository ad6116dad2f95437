"""The Gateway API conformance suite's HTTPRoute redirect scenarios, through real nginx.

RequestRedirect's status, hostname, path, port and scheme, and the ports of Locations as the
listener has them (80, a port of its own, HTTPS on 443): the suite's objects (our own
manifests on conformance_base's infrastructure) and its expectations, the Location's parts.
A Location leaves out the port of its scheme (80, 443), as the suite requires; what the
filter does not change is the request's own (the Host without its port).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import pytest
from conformance_base import (
    Gateway,
    replace_full,
    replace_prefix,
    scenario,
    suite_backends,
    suite_gateway,
    suite_route,
)
from gateway_objects import listener, parent, path_match
from gateway_objects import route_rule as rule
from harness import EchoBackend, Response, free_port, request

Obj = dict[str, Any]


def _redirect(prefix: str, **fields: Any) -> Obj:
    return rule([path_match(prefix)], filters=[{"type": "RequestRedirect",
                                                "requestRedirect": fields}])  # fmt: skip


class Location(NamedTuple):
    scheme: str
    host: str
    port: int | None
    path: str


def _location(response: Response) -> Location:
    parts = urlsplit(response.headers["Location"])
    return Location(parts.scheme, parts.hostname or "", parts.port, parts.path)


@pytest.fixture(scope="module")
def backends() -> Iterator[dict[str, EchoBackend]]:
    with suite_backends() as started:
        yield started


# ------------------ HTTPRoute303Redirect, 307, 308, HTTPRouteRedirectHostAndStatus, ...Path,
# ------------------ HTTPRouteRedirectPort, HTTPRouteRedirectScheme (one route each)


@pytest.fixture(scope="module")
def redirects(request: pytest.FixtureRequest) -> Iterator[Gateway]:
    host, prefix, full = "example.org", replace_prefix, replace_full
    routes = {
        "303-redirect": [_redirect("/see-other", statusCode=303)],
        "307-redirect": [_redirect("/temporary", statusCode=307)],
        "308-redirect": [_redirect("/permanent", statusCode=308)],
        "redirect-host-and-status": [
            _redirect("/hostname-redirect", hostname=host),
            _redirect("/host-and-status", statusCode=301, hostname=host)],
        "redirect-path": [
            _redirect("/original-prefix", path=prefix("/replacement-prefix")),
            _redirect("/full", path=full("/full-path-replacement")),
            _redirect("/path-and-host", hostname=host, path=prefix("/replacement-prefix")),
            _redirect("/path-and-status", path=prefix("/replacement-prefix"), statusCode=301),
            _redirect("/full-path-and-host", hostname=host, path=full("/replacement-full")),
            _redirect("/full-path-and-status", path=full("/replacement-full"), statusCode=301)],
        "redirect-port": [
            _redirect("/port", port=8083),
            _redirect("/port-and-host", hostname=host, port=8083),
            _redirect("/port-and-status", port=8083, statusCode=301),
            _redirect("/port-and-host-and-status", port=8083, hostname=host, statusCode=302)],
        "redirect-scheme": [
            _redirect("/scheme", scheme="https"),
            _redirect("/scheme-and-host", hostname=host, scheme="https"),
            _redirect("/scheme-and-status", scheme="https", statusCode=301),
            _redirect("/scheme-and-host-and-status", scheme="https", statusCode=302,
                      hostname=host)],
    }  # fmt: skip
    # The suite applies one of these at a time; their paths do not overlap: all served at once.
    yield from scenario(request, [suite_route(name, rules) for name, rules in routes.items()])


ASKED = "request"  # the part of the Location that must be the request's own
REDIRECTS = [
    # route, method, target, status, scheme, host, port, path
    ("303-redirect", "POST", "/see-other", 303, "http", ASKED, None, "/see-other"),
    ("307-redirect", "GET", "/temporary", 307, "http", ASKED, None, "/temporary"),
    ("308-redirect", "GET", "/permanent", 308, "http", ASKED, None, "/permanent"),
    ("redirect-host-and-status", "GET", "/hostname-redirect", 302, "http", "example.org",
     None, "/hostname-redirect"),
    ("redirect-host-and-status", "GET", "/host-and-status", 301, "http", "example.org", None,
     "/host-and-status"),
    ("redirect-path", "GET", "/original-prefix/lemon", 302, "http", ASKED, None,
     "/replacement-prefix/lemon"),
    ("redirect-path", "GET", "/full/path/original", 302, "http", ASKED, None,
     "/full-path-replacement"),
    ("redirect-path", "GET", "/path-and-host", 302, "http", "example.org", None,
     "/replacement-prefix"),
    ("redirect-path", "GET", "/path-and-status", 301, "http", ASKED, None,
     "/replacement-prefix"),
    ("redirect-path", "GET", "/full-path-and-host", 302, "http", "example.org", None,
     "/replacement-full"),
    ("redirect-path", "GET", "/full-path-and-status", 301, "http", ASKED, None,
     "/replacement-full"),
    ("redirect-port", "GET", "/port", 302, "http", ASKED, 8083, "/port"),
    ("redirect-port", "GET", "/port-and-host", 302, "http", "example.org", 8083,
     "/port-and-host"),
    ("redirect-port", "GET", "/port-and-status", 301, "http", ASKED, 8083, "/port-and-status"),
    ("redirect-port", "GET", "/port-and-host-and-status", 302, "http", "example.org", 8083,
     "/port-and-host-and-status"),
    ("redirect-scheme", "GET", "/scheme", 302, "https", ASKED, None, "/scheme"),
    ("redirect-scheme", "GET", "/scheme-and-host", 302, "https", "example.org", None,
     "/scheme-and-host"),
    ("redirect-scheme", "GET", "/scheme-and-status", 301, "https", ASKED, None,
     "/scheme-and-status"),
    ("redirect-scheme", "GET", "/scheme-and-host-and-status", 302, "https", "example.org",
     None, "/scheme-and-host-and-status"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("route", "method", "target", "status", "scheme", "host", "port", "path"), REDIRECTS
)
def test_redirects_give_the_status_and_location_the_filter_asks_for(
    redirects: Gateway, route: str, method: str, target: str, status: int, scheme: str,
    host: str, port: int | None, path: str,
) -> None:  # fmt: skip
    response = redirects.get(target, method=method)  # Host: the Gateway's address
    assert (response.status, response.backend) == (status, None)
    expected_host = "127.0.0.1" if host == ASKED else host
    assert _location(response) == Location(scheme, expected_host, port, path)
    assert redirects.explain(target) == f"{status} {response.headers['Location']}"


# ------------------------------------------------------------ HTTPRouteRedirectPortAndScheme


def _port_and_scheme_rules(*cases: tuple[str, str | None, int | None]) -> list[Obj]:
    rules = []
    for prefix, scheme, port in cases:
        fields: Obj = {"hostname": "example.org"}
        if scheme:
            fields["scheme"] = scheme
        if port:
            fields["port"] = port
        rules.append(_redirect(prefix, **fields))
    return rules


@pytest.fixture(scope="module")
def listener_port() -> int:
    """A free port standing for the suite's listener on 8080."""
    return free_port()


@pytest.fixture(scope="module")
def port_and_scheme(request: pytest.FixtureRequest, listener_port: int) -> Iterator[Gateway]:
    own = "same-namespace-with-http-listener-on-8080"
    yield from scenario(request, [
        suite_gateway(own, [listener("http", listener_port, namespaces="Same")]),
        suite_route("http-route-for-listener-on-port-80", _port_and_scheme_rules(
            ("/scheme-nil-and-port-nil", None, None), ("/scheme-nil-and-port-80", None, 80),
            ("/scheme-nil-and-port-8080", None, 8080),
            ("/scheme-https-and-port-nil", "https", None),
            ("/scheme-https-and-port-443", "https", 443),
            ("/scheme-https-and-port-8443", "https", 8443))),
        suite_route("http-route-for-listener-on-port-8080", _port_and_scheme_rules(
            ("/scheme-nil-and-port-nil", None, None), ("/scheme-nil-and-port-80", None, 80),
            ("/scheme-https-and-port-nil", "https", None)), parents=[parent(own)]),
        suite_route("http-route-for-listener-on-port-443", _port_and_scheme_rules(
            ("/scheme-nil-and-port-nil", None, None), ("/scheme-nil-and-port-443", None, 443),
            ("/scheme-nil-and-port-8443", None, 8443),
            ("/scheme-http-and-port-nil", "http", None),
            ("/scheme-http-and-port-80", "http", 80),
            ("/scheme-http-and-port-8080", "http", 8080)),
            parents=[parent("same-namespace-with-https-listener")]),
    ], extra_ports=[listener_port])  # fmt: skip


@pytest.mark.parametrize(
    ("target", "scheme", "port"),
    [("/scheme-nil-and-port-nil", "http", None), ("/scheme-nil-and-port-80", "http", None),
     ("/scheme-nil-and-port-8080", "http", 8080), ("/scheme-https-and-port-nil", "https", None),
     ("/scheme-https-and-port-443", "https", None),
     ("/scheme-https-and-port-8443", "https", 8443)],
)  # fmt: skip
def test_redirects_from_the_listener_on_80_name_ports_but_the_schemes_own(
    port_and_scheme: Gateway, target: str, scheme: str, port: int | None
) -> None:
    response = port_and_scheme.get(target)
    assert response.status == 302
    assert _location(response) == Location(scheme, "example.org", port, target)
    assert port_and_scheme.explain(target) == f"302 {response.headers['Location']}"


@pytest.mark.parametrize(
    ("target", "scheme", "own_port"),
    [("/scheme-nil-and-port-nil", "http", True), ("/scheme-nil-and-port-80", "http", False),
     ("/scheme-https-and-port-nil", "https", False)],
)  # fmt: skip
def test_redirects_from_a_listener_on_another_port_keep_that_port_with_the_scheme(
    port_and_scheme: Gateway, listener_port: int, target: str, scheme: str, own_port: bool
) -> None:
    response = request(listener_port, target, host=f"127.0.0.1:{listener_port}")
    assert response.status == 302
    expected = Location(scheme, "example.org", listener_port if own_port else None, target)
    assert _location(response) == expected
    url = f"http://127.0.0.1:{listener_port}{target}"
    assert port_and_scheme.explained(url) == f"302 {response.headers['Location']}"


@pytest.mark.parametrize(
    ("target", "scheme", "port"),
    [("/scheme-nil-and-port-nil", "https", None), ("/scheme-nil-and-port-443", "https", None),
     ("/scheme-nil-and-port-8443", "https", 8443), ("/scheme-http-and-port-nil", "http", None),
     ("/scheme-http-and-port-80", "http", None), ("/scheme-http-and-port-8080", "http", 8080)],
)  # fmt: skip
def test_redirects_from_the_https_listener_keep_https_and_its_port_unless_asked(
    port_and_scheme: Gateway, target: str, scheme: str, port: int | None
) -> None:
    response = port_and_scheme.get_tls(target, "example.org")
    assert response.status == 302
    assert _location(response) == Location(scheme, "example.org", port, target)
    explained = port_and_scheme.explain(target, "example.org", "https")
    assert explained == f"302 {response.headers['Location']}"
