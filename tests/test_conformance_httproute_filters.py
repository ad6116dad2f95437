"""The Gateway API conformance suite's HTTPRoute filter scenarios, through real nginx.

Redirects (status, hostname, path, port, scheme, and ports as the listener has them), URL
rewrites of host and path, request and response header modifiers, mirrors and timeouts: the
suite's objects (our own manifests on conformance_base's infrastructure) and its
expectations: the Location's parts, the request the backend saw, the headers the client got.
A redirect's Location leaves out the port of its scheme (80, 443), as the suite requires.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import pytest
from conformance_base import (
    INFRA,
    V1,
    V2,
    V3,
    Gateway,
    serving_suite,
    suite_backends,
    suite_gateway,
)
from gateway_objects import backend_ref, http_route, listener, parent, path_match
from gateway_objects import route_rule as rule
from harness import EchoBackend, Response, free_port, request

Obj = dict[str, Any]
SAME = [parent("same-namespace")]


def _to(service: str) -> list[Obj]:
    return [backend_ref(service, 8080)]


def _route(name: str, rules: list[Obj], **fields: Any) -> Obj:
    parents = fields.pop("parents", SAME)
    return http_route(name, namespace=INFRA, parents=parents, rules=rules, **fields)


def _redirect(prefix: str, **fields: Any) -> Obj:
    return rule([path_match(prefix)], filters=[{"type": "RequestRedirect",
                                                "requestRedirect": fields}])  # fmt: skip


def _replace_prefix(value: str) -> Obj:
    return {"type": "ReplacePrefixMatch", "replacePrefixMatch": value}


def _replace_full(value: str) -> Obj:
    return {"type": "ReplaceFullPath", "replaceFullPath": value}


def _rewrite(**fields: Any) -> Obj:
    return {"type": "URLRewrite", "urlRewrite": fields}


def _pairs(**values: str) -> list[dict[str, str]]:
    return [{"name": name.replace("_", "-"), "value": value} for name, value in values.items()]


def _header_modifier(kind: str, set_: list[Obj], add: list[Obj], remove: list[str]) -> Obj:
    key = "requestHeaderModifier" if kind == "Request" else "responseHeaderModifier"
    body = {name: value for name, value in (("set", set_), ("add", add), ("remove", remove))
            if value}  # fmt: skip
    return {"type": f"{kind}HeaderModifier", key: body}


MODIFY_REQUEST = _header_modifier(
    "Request",
    _pairs(X_Header_Set="set-overwrites-values"),
    _pairs(X_Header_Add="header-val-1", X_Header_Add_Append="header-val-2"),
    ["X-Header-Remove"],
)
SENT_FOR_MODIFY = {"X-Header-Remove": "remove-val", "X-Header-Add-Append": "append-val-1"}


def _check_modified(headers: dict[str, str]) -> None:
    """What MODIFY_REQUEST leaves of SENT_FOR_MODIFY (echo headers are lowercased)."""
    assert headers["x-header-add"] == "header-val-1"
    assert headers["x-header-add-append"] == "append-val-1,header-val-2"
    assert headers["x-header-set"] == "set-overwrites-values"
    assert "x-header-remove" not in headers


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


def _serve(request: pytest.FixtureRequest, objects: list[Obj], **options: Any) -> Iterator[Gateway]:
    backends = request.getfixturevalue("backends")
    binary = request.getfixturevalue("nginx_binary")
    with serving_suite(backends, objects, binary=binary, **options) as gateway:
        yield gateway


# ------------------ HTTPRoute303Redirect, 307, 308, HTTPRouteRedirectHostAndStatus, ...Path,
# ------------------ HTTPRouteRedirectPort, HTTPRouteRedirectScheme (one route each, one host)


@pytest.fixture(scope="module")
def redirects(request: pytest.FixtureRequest) -> Iterator[Gateway]:
    host, prefix, full = "example.org", _replace_prefix, _replace_full
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
    yield from _serve(request, [_route(name, rules) for name, rules in routes.items()])


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
    yield from _serve(request, [
        suite_gateway(own, [listener("http", listener_port, namespaces="Same")]),
        _route("http-route-for-listener-on-port-80", _port_and_scheme_rules(
            ("/scheme-nil-and-port-nil", None, None), ("/scheme-nil-and-port-80", None, 80),
            ("/scheme-nil-and-port-8080", None, 8080),
            ("/scheme-https-and-port-nil", "https", None),
            ("/scheme-https-and-port-443", "https", 443),
            ("/scheme-https-and-port-8443", "https", 8443))),
        _route("http-route-for-listener-on-port-8080", _port_and_scheme_rules(
            ("/scheme-nil-and-port-nil", None, None), ("/scheme-nil-and-port-80", None, 80),
            ("/scheme-https-and-port-nil", "https", None)), parents=[parent(own)]),
        _route("http-route-for-listener-on-port-443", _port_and_scheme_rules(
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


# ----------------------------------------------------------------- HTTPRouteRewriteHost


@pytest.fixture(scope="module")
def rewrite_host(request: pytest.FixtureRequest) -> Iterator[Gateway]:
    yield from _serve(request, [_route("rewrite-host", [
        rule([path_match("/one")], _to(V1), filters=[_rewrite(hostname="one.example.org")]),
        rule(None, _to(V2), filters=[_rewrite(hostname="example.org")]),
        rule([path_match("/rewrite-host-and-modify-headers")], _to(V2),
             filters=[_rewrite(hostname="test.example.org"), MODIFY_REQUEST]),
    ], hostnames=["rewrite.example"])])  # fmt: skip


@pytest.mark.parametrize(
    ("target", "backend", "host"),
    [("/one", V1, "one.example.org"), ("/two", V2, "example.org")],
)
def test_a_url_rewrite_gives_the_backend_the_new_host(
    rewrite_host: Gateway, target: str, backend: str, host: str
) -> None:
    seen = rewrite_host.seen(target, "rewrite.example")
    assert (seen["backend"], seen["path"], seen["headers"]["host"]) == (backend, target, host)


def test_a_host_rewrite_and_a_header_modifier_apply_together(rewrite_host: Gateway) -> None:
    target = "/rewrite-host-and-modify-headers"
    seen = rewrite_host.seen(target, "rewrite.example", headers=SENT_FOR_MODIFY)
    assert (seen["backend"], seen["path"], seen["headers"]["host"]) == (
        V2, target, "test.example.org")  # fmt: skip
    _check_modified(seen["headers"])


# ----------------------------------------------------------------- HTTPRouteRewritePath


@pytest.fixture(scope="module")
def rewrite_path(request: pytest.FixtureRequest) -> Iterator[Gateway]:
    prefix, full = _replace_prefix, _replace_full
    yield from _serve(request, [_route("rewrite-path", [
        rule([path_match("/prefix/one")], _to(V1), filters=[_rewrite(path=prefix("/one"))]),
        rule([path_match("/strip-prefix")], _to(V1), filters=[_rewrite(path=prefix("/"))]),
        rule([path_match("/full/one")], _to(V1), filters=[_rewrite(path=full("/one"))]),
        rule([path_match("/full/rewrite-path-and-modify-headers")], _to(V1),
             filters=[_rewrite(path=full("/test")), MODIFY_REQUEST]),
        rule([path_match("/prefix/rewrite-path-and-modify-headers")], _to(V1),
             filters=[_rewrite(path=prefix("/prefix")), MODIFY_REQUEST]),
    ])])  # fmt: skip


@pytest.mark.parametrize(
    ("target", "rewritten"),
    [("/prefix/one/two", "/one/two"), ("/strip-prefix/three", "/three"),
     ("/strip-prefix", "/"), ("/full/one/two", "/one")],
)  # fmt: skip
def test_a_url_rewrite_replaces_the_prefix_or_the_full_path(
    rewrite_path: Gateway, target: str, rewritten: str
) -> None:
    assert rewrite_path.seen(target)["path"] == rewritten


@pytest.mark.parametrize(
    ("target", "rewritten"),
    [("/full/rewrite-path-and-modify-headers/test", "/test"),
     ("/prefix/rewrite-path-and-modify-headers/one", "/prefix/one")],
)  # fmt: skip
def test_a_path_rewrite_and_a_header_modifier_apply_together(
    rewrite_path: Gateway, target: str, rewritten: str
) -> None:
    seen = rewrite_path.seen(target, headers={**SENT_FOR_MODIFY, "X-Header-Set": "set-val"})
    assert seen["path"] == rewritten
    _check_modified(seen["headers"])


# ------------------------------------------------------- HTTPRouteRequestHeaderModifier


def _modifier_rules(kind: str) -> list[Obj]:
    def each(prefix: str, set_: list[Obj], add: list[Obj], remove: list[str]) -> Obj:
        return rule([path_match(prefix)], _to(V1),
                    filters=[_header_modifier(kind, set_, add, remove)])  # fmt: skip

    case_add = _pairs(X_Header_Add="header-add")
    if kind == "Response":
        case_add += [{"name": "x-lowercase-add", "value": "lowercase-add"},
                     {"name": "x-Mixedcase-ADD-1", "value": "mixedcase-add-1"},
                     {"name": "X-mixeDcase-add-2", "value": "mixedcase-add-2"},
                     {"name": "X-UPPERCASE-ADD", "value": "uppercase-add"}]  # fmt: skip
    return [
        each("/set", _pairs(X_Header_Set="set-overwrites-values"), [], []),
        each("/add", [], _pairs(X_Header_Add="add-appends-values"), []),
        each("/remove", [], [], ["X-Header-Remove"]),
        each("/multiple", _pairs(X_Header_Set_1="header-set-1", X_Header_Set_2="header-set-2"),
             _pairs(X_Header_Add_1="header-add-1", X_Header_Add_2="header-add-2",
                    X_Header_Add_3="header-add-3"), ["X-Header-Remove-1", "X-Header-Remove-2"]),
        each("/case-insensitivity", _pairs(X_Header_Set="header-set"), case_add,
             ["X-Header-Remove"]),
    ]  # fmt: skip


@pytest.fixture(scope="module")
def request_headers(request: pytest.FixtureRequest) -> Iterator[Gateway]:
    yield from _serve(request, [_route("request-header-modifier", _modifier_rules("Request"))])


HEADER_CASES = [
    # target, headers sent (by the client, or by the backend), expected, absent
    ("/set", {"Some-Other-Header": "val"},
     {"Some-Other-Header": "val", "X-Header-Set": "set-overwrites-values"}, []),
    ("/set", {"Some-Other-Header": "val", "X-Header-Set": "some-other-value"},
     {"Some-Other-Header": "val", "X-Header-Set": "set-overwrites-values"}, []),
    ("/add", {"Some-Other-Header": "val"},
     {"Some-Other-Header": "val", "X-Header-Add": "add-appends-values"}, []),
    ("/add", {"Some-Other-Header": "val", "X-Header-Add": "some-other-value"},
     {"Some-Other-Header": "val", "X-Header-Add": "some-other-value,add-appends-values"}, []),
    ("/remove", {"X-Header-Remove": "val"}, {}, ["X-Header-Remove"]),
    ("/multiple", {"X-Header-Set-2": "set-val-2", "X-Header-Add-2": "add-val-2",
                   "X-Header-Remove-2": "remove-val-2", "Another-Header": "another-header-val",
                   "X-Header-Remove-1": "val"},
     {"X-Header-Set-1": "header-set-1", "X-Header-Set-2": "header-set-2",
      "X-Header-Add-1": "header-add-1", "X-Header-Add-2": "add-val-2,header-add-2",
      "X-Header-Add-3": "header-add-3", "Another-Header": "another-header-val"},
     ["X-Header-Remove-1", "X-Header-Remove-2"]),
    ("/case-insensitivity", {"x-header-set": "original-val-set",
                             "x-header-add": "original-val-add",
                             "x-header-remove": "original-val-remove",
                             "Another-Header": "another-header-val"},
     {"X-Header-Set": "header-set", "X-Header-Add": "original-val-add,header-add",
      "Another-Header": "another-header-val"}, ["X-Header-Remove"]),
]  # fmt: skip


def _joined(values: list[str] | None) -> str | None:
    """Several fields of one name as the suite compares them: joined with ','."""
    return ",".join(values) if values else None


@pytest.mark.parametrize(("target", "sent", "expected", "absent"), HEADER_CASES)
def test_request_headers_are_set_added_and_removed_by_the_filter(
    request_headers: Gateway, target: str, sent: dict[str, str], expected: dict[str, str],
    absent: list[str],
) -> None:  # fmt: skip
    seen = request_headers.seen(target, headers=sent)
    assert seen["backend"] == V1
    got = {name.lower(): value.replace(", ", ",") for name, value in seen["headers"].items()}
    for name, value in expected.items():
        assert got.get(name.lower()) == value, name
    for name in absent:
        assert name.lower() not in got


# ------------------------------------------------------ HTTPRouteResponseHeaderModifier


@pytest.fixture(scope="module")
def response_headers(request: pytest.FixtureRequest) -> Iterator[Gateway]:
    both = rule([path_match("/response-and-request-header-modifiers")], _to(V1), filters=[
        _header_modifier("Response", _pairs(X_Header_Set_1="header-set-1",
                                            X_Header_Set_2="header-set-2"),
                         _pairs(X_Header_Add_1="header-add-1", X_Header_Add_2="header-add-2"),
                         ["X-Header-Remove-1", "X-Header-Remove-2"]),
        MODIFY_REQUEST])  # fmt: skip
    rules = [*_modifier_rules("Response"), both]
    yield from _serve(request, [_route("response-header-modifier", rules)])


RESPONSE_CASE_ADDS = {
    "X-Lowercase-Add": "lowercase-add",
    "X-Mixedcase-Add-1": "mixedcase-add-1",
    "X-Mixedcase-Add-2": "mixedcase-add-2",
    "X-Uppercase-Add": "uppercase-add",
}


def _answered(gateway: Gateway, target: str, set_by_backend: dict[str, str], **options: Any
              ) -> Response:  # fmt: skip
    asked = [("X-Echo-Set-Header", f"{name}: {value}") for name, value in set_by_backend.items()]
    response = gateway.get(target, headers=[*asked, *options.pop("headers", [])], **options)
    assert response.status == 200
    assert response.json()["backend"] == V1
    return response


@pytest.mark.parametrize(("target", "sent", "expected", "absent"), HEADER_CASES)
def test_response_headers_are_set_added_and_removed_by_the_filter(
    response_headers: Gateway, target: str, sent: dict[str, str], expected: dict[str, str],
    absent: list[str],
) -> None:  # fmt: skip
    response = _answered(response_headers, target, sent)
    if target == "/case-insensitivity":
        expected = {**expected, **RESPONSE_CASE_ADDS}
    for name, value in expected.items():
        assert _joined(response.headers.get_all(name)) == value, name
    for name in absent:
        assert response.headers.get_all(name) is None, name


def test_response_and_request_header_modifiers_apply_together(response_headers: Gateway) -> None:
    set_by_backend = {"X-Header-Set-2": "set-val-2", "X-Header-Add-2": "add-val-2",
                      "X-Header-Remove-2": "remove-val-2", "Another-Header": "another-header-val",
                      "X-Header-Remove-1": "remove-val-1", "X-Header-Echo": "echo"}  # fmt: skip
    sent = [*SENT_FOR_MODIFY.items(), ("X-Header-Echo", "echo")]
    response = _answered(response_headers, "/response-and-request-header-modifiers",
                         set_by_backend, headers=sent)  # fmt: skip
    seen = response.json()["headers"]
    _check_modified({name: value.replace(", ", ",") for name, value in seen.items()})
    assert seen["x-header-echo"] == "echo"
    expected = {"X-Header-Set-1": "header-set-1", "X-Header-Set-2": "header-set-2",
                "X-Header-Add-1": "header-add-1", "X-Header-Add-2": "add-val-2,header-add-2",
                "Another-Header": "another-header-val", "X-Header-Echo": "echo"}  # fmt: skip
    for name, value in expected.items():
        assert _joined(response.headers.get_all(name)) == value, name
    for name in ("X-Header-Remove-1", "X-Header-Remove-2"):
        assert response.headers.get_all(name) is None, name


# ------------------------------------------ HTTPRouteRequestMirror, ...RequestMultipleMirrors


def _mirror(service: str) -> Obj:
    return {"type": "RequestMirror", "requestMirror": {
        "backendRef": {"name": service, "namespace": INFRA, "port": 8080}}}  # fmt: skip


@pytest.fixture(scope="module")
def mirrors(request: pytest.FixtureRequest) -> Iterator[Gateway]:
    main = [backend_ref(V1, 8080, namespace=INFRA)]
    yield from _serve(request, [
        _route("request-mirror", [
            rule([path_match("/mirror")], main, filters=[_mirror(V2)]),
            rule([path_match("/mirror-and-modify-headers")], main,
                 filters=[MODIFY_REQUEST, _mirror(V2)]),
        ], hostnames=["mirror.test"]),
        _route("request-multiple-mirrors", [
            rule([path_match("/multi-mirror")], main, filters=[_mirror(V2), _mirror(V3)]),
            rule([path_match("/multi-mirror-and-modify-request-headers")], main,
                 filters=[MODIFY_REQUEST, _mirror(V2), _mirror(V3)]),
        ], hostnames=["multi-mirror.test"]),
    ])  # fmt: skip


def _copies(backend: EchoBackend, target: str) -> list[Any]:
    """The mirrored copies of ``target`` (sent in the background: waited for, boundedly)."""
    for _ in range(100):
        copies = [seen for seen in backend.requests if seen.path == target]
        if copies:
            return copies
        time.sleep(0.05)
    return []


@pytest.mark.parametrize(
    ("host", "target", "modified", "mirrored_to"),
    [("mirror.test", "/mirror", False, [V2]),
     ("mirror.test", "/mirror-and-modify-headers", True, [V2]),
     ("multi-mirror.test", "/multi-mirror", False, [V2, V3]),
     ("multi-mirror.test", "/multi-mirror-and-modify-request-headers", True, [V2, V3])],
)  # fmt: skip
def test_a_mirror_gets_a_copy_and_the_client_the_main_backend_answer(
    mirrors: Gateway, backends: dict[str, EchoBackend], host: str, target: str,
    modified: bool, mirrored_to: list[str],
) -> None:  # fmt: skip
    target = f"{target}?request-id={uuid.uuid4()}"
    seen = mirrors.seen(target, host, headers=SENT_FOR_MODIFY if modified else {})
    assert (seen["backend"], seen["path"]) == (V1, target)
    if modified:
        _check_modified({name: value.replace(", ", ",") for name, value in seen["headers"].items()})
    for name in mirrored_to:  # the suite checks the copy's path only
        assert len(_copies(backends[name], target)) == 1, name


# --------------------------------------------------------------- HTTPRouteRequestPercentageMirror


@pytest.fixture(scope="module")
def percent_mirror(request: pytest.FixtureRequest) -> Iterator[Gateway]:
    copy = {"type": "RequestMirror", "requestMirror": {
        "backendRef": {"name": V2, "namespace": INFRA, "port": 8080}, "percent": 20}}  # fmt: skip
    yield from _serve(request, [_route("request-percentage-mirror", [
        rule([path_match("/percent-mirror")], _to(V1), filters=[copy])])])  # fmt: skip


@pytest.mark.xfail(reason="RequestMirror percent/fraction is not honoured yet (every request is "
                   "mirrored): a gwgrpc item", strict=False)  # fmt: skip
def test_a_mirror_percent_mirrors_that_share_of_the_requests(
    percent_mirror: Gateway, backends: dict[str, EchoBackend]
) -> None:
    run = uuid.uuid4()
    for index in range(100):
        assert percent_mirror.backend(f"/percent-mirror?run={run}&n={index}") == V1
    time.sleep(0.5)  # let the copies in flight arrive (bounded)
    copies = [seen for seen in backends[V2].requests if f"run={run}" in seen.path]
    assert 5 <= len(copies) <= 40, len(copies)  # 20% of 100 is 20 (sd 4)


# ------------------------------------ HTTPRouteTimeoutBackendRequest, HTTPRouteTimeoutRequest


@pytest.fixture(scope="module")
def timeouts(request: pytest.FixtureRequest) -> Iterator[Gateway]:
    def timed(prefix: str, field: str, value: str) -> Obj:
        return rule([path_match(prefix)], _to(V1), timeouts={field: value})

    yield from _serve(request, [
        _route("backend-request-timeout", [
            timed("/backend-timeout", "backendRequest", "500ms"),
            timed("/disable-backend-timeout", "backendRequest", "0s")]),
        _route("request-timeout", [
            timed("/request-timeout", "request", "500ms"),
            timed("/disable-request-timeout", "request", "0s")]),
    ])  # fmt: skip


@pytest.mark.parametrize("prefix", ["/backend-timeout", "/request-timeout"])
def test_a_backend_slower_than_the_timeout_gets_504(timeouts: Gateway, prefix: str) -> None:
    assert timeouts.backend(prefix) == V1
    slow = [("X-Echo-Delay", "1")]
    assert timeouts.backend(f"{prefix}?delay=1s", headers=slow) == 504


@pytest.mark.parametrize("prefix", ["/disable-backend-timeout", "/disable-request-timeout"])
def test_a_zero_timeout_disables_it(timeouts: Gateway, prefix: str) -> None:
    slow = [("X-Echo-Delay", "1")]
    assert timeouts.backend(f"{prefix}?delay=1s", headers=slow) == V1


# ------------------------------ HTTPRouteBackendRequestHeaderModifier, ...BackendWeights


@pytest.fixture(scope="module")
def backend_filters(request: pytest.FixtureRequest) -> Iterator[Gateway]:
    def with_header(service: str) -> Obj:
        modifier = _header_modifier("Request", _pairs(Backend=service), [], [])
        return backend_ref(service, 8080, weight=10, filters=[modifier])

    yield from _serve(request, [_route("request-header-modifier-backend-weights", [
        rule(None, [with_header(V1), with_header(V2)])])])  # fmt: skip


@pytest.mark.xfail(reason="backendRef filters are not rendered yet (such a backendRef answers "
                   "500): a gwgrpc item", strict=False)  # fmt: skip
def test_each_backend_ref_applies_its_own_header_filter(backend_filters: Gateway) -> None:
    answered = Counter()
    for index in range(40):
        seen = backend_filters.seen(f"/?n={index}")
        assert seen["headers"]["backend"] == seen["backend"]
        answered[seen["backend"]] += 1
    assert set(answered) == {V1, V2}
