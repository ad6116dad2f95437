"""Gateway API filters through real nginx: header modifiers, redirects, URL rewrites.

The expectations are the Gateway API specification's and its conformance suite's: request
header set/add/remove as the backend sees them (add appends to the client's value), response
headers as the client sees them, redirects that keep what they do not change (scheme, Host,
path and query; no port for the scheme's own), and prefix replacement element by element.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from e2e import Site, echo_service, serving, started_backends
from gateway_objects import backend_ref, gateway, http_route, listener, parent, path_match
from gateway_objects import route_rule as rule
from harness import EchoBackend


def _redirect(**fields: Any) -> dict[str, Any]:
    return {"type": "RequestRedirect", "requestRedirect": fields}


def _rewrite(**fields: Any) -> dict[str, Any]:
    return {"type": "URLRewrite", "urlRewrite": fields}


def _prefix(value: str) -> dict[str, str]:
    return {"type": "ReplacePrefixMatch", "replacePrefixMatch": value}


def _full(value: str) -> dict[str, str]:
    return {"type": "ReplaceFullPath", "replaceFullPath": value}


def _objects() -> list[dict[str, Any]]:
    web = [backend_ref("web")]
    request_headers = {"type": "RequestHeaderModifier", "requestHeaderModifier": {
        "set": [{"name": "X-Set", "value": "set me"}, {"name": "user-agent", "value": "gw"}],
        "add": [{"name": "X-Add", "value": "added"}],
        "remove": ["X-Gone"]}}  # fmt: skip
    response_headers = {"type": "ResponseHeaderModifier", "responseHeaderModifier": {
        "set": [{"name": "Content-Type", "value": "text/x-set"}],
        "add": [{"name": "X-Added", "value": "a"}],
        "remove": ["X-Echo-Backend"]}}  # fmt: skip
    rules = [
        rule([path_match("/hdr")], web, filters=[request_headers]),
        rule([path_match("/resp")], web, filters=[response_headers]),
        rule([path_match("/old")], filters=[_redirect(scheme="https", hostname="new.test",
                                                      port=8443, statusCode=301,
                                                      path=_prefix("/new"))]),
        rule([path_match("/full")], filters=[_redirect(path=_full("/elsewhere"))]),
        rule([path_match("/port")], filters=[_redirect(port=8080)]),
        rule([path_match("/scheme")], filters=[_redirect(scheme="https")]),
        rule([path_match("/rw")], web, filters=[_rewrite(hostname="backend.internal",
                                                         path=_prefix("/v2"))]),
        rule([path_match("/rwroot")], web, filters=[_rewrite(path=_prefix("/"))]),
        rule([path_match("/rwfull")], web, filters=[_rewrite(path=_full("/fixed"))]),
        rule([path_match("/ext")], web, filters=[{"type": "ExtensionRef", "extensionRef": {
            "group": "example.com", "kind": "Thing", "name": "x"}}]),
        rule([path_match("/mirrored")], web, filters=[{"type": "RequestMirror", "requestMirror": {
            "backendRef": {"name": "copy", "port": 80}}}]),
        rule(None, web),
    ]  # fmt: skip
    return [
        gateway("edge", class_name="nginx", listeners=[listener("http", 80)]),
        http_route("filters", parents=[parent("edge")], hostnames=["filter.test"], rules=rules),
    ]


@pytest.fixture(scope="module")
def echo() -> Iterator[dict[str, EchoBackend]]:
    with started_backends("web", "copy") as backends:
        yield backends


@pytest.fixture(scope="module")
def site(nginx_binary: str, echo: dict[str, EchoBackend]) -> Iterator[Site]:
    objects = [*_objects(), *echo_service(echo["web"]), *echo_service(echo["copy"])]
    with serving(objects, binary=nginx_binary) as served:
        yield served


def seen(site: Site, target: str, *headers: tuple[str, str]) -> dict[str, Any]:
    """The request as the backend saw it."""
    response = site.get(target, "filter.test", headers=list(headers))
    assert response.status == 200, response.status
    answer: dict[str, Any] = response.json()
    return answer


def test_request_headers_are_set_added_to_and_removed(site: Site) -> None:
    headers = seen(site, "/hdr", ("X-Add", "mine"), ("X-Gone", "x"), ("User-Agent", "me"))[
        "headers"
    ]
    assert headers["x-set"] == "set me"
    assert headers["x-add"] == "mine,added"
    assert headers["user-agent"] == "gw"
    assert "x-gone" not in headers
    assert seen(site, "/hdr/x")["headers"]["x-add"] == "added"


def test_response_headers_are_set_added_and_removed(site: Site) -> None:
    response = site.get("/resp", "filter.test")
    assert response.status == 200
    assert response.headers.get_all("Content-Type") == ["text/x-set"]
    assert response.headers["X-Added"] == "a"
    assert response.backend is None
    assert response.json()["backend"] == "web"


def test_a_redirect_replaces_scheme_host_port_and_the_matched_prefix(site: Site) -> None:
    response = site.get("/old/a/b?x=1", "filter.test")
    assert response.status == 301
    assert response.headers["Location"] == "https://new.test:8443/new/a/b?x=1"
    assert site.get("/old", "filter.test").headers["Location"] == "https://new.test:8443/new"


def test_a_redirect_keeps_what_it_does_not_change(site: Site) -> None:
    response = site.get("/full/x?q=1", "filter.test")
    assert response.status == 302, "the default status"
    assert response.headers["Location"] == "http://filter.test/elsewhere?q=1"
    assert (
        site.get("/port/y", "filter.test").headers["Location"] == "http://filter.test:8080/port/y"
    )
    location = site.get("/scheme/z?a=b", "filter.test").headers["Location"]
    assert location == "https://filter.test/scheme/z?a=b", "no port: https's own"


def test_a_url_rewrite_replaces_the_prefix_element_wise_and_the_host(site: Site) -> None:
    request = seen(site, "/rw/a?b=1")
    assert request["path"] == "/v2/a?b=1"
    assert request["headers"]["host"] == "backend.internal"
    assert seen(site, "/rw")["path"] == "/v2"
    assert seen(site, "/rw/")["path"] == "/v2/"


def test_a_prefix_replaced_by_slash_leaves_no_double_slash(site: Site) -> None:
    assert seen(site, "/rwroot/a/b")["path"] == "/a/b"
    assert seen(site, "/rwroot")["path"] == "/"


def test_a_full_path_rewrite_keeps_the_query(site: Site) -> None:
    assert seen(site, "/rwfull/x?y=1")["path"] == "/fixed?y=1"


def test_a_filter_nginx_cannot_honour_answers_500(site: Site) -> None:
    assert site.get("/ext", "filter.test").status == 500
    assert seen(site, "/other")["path"] == "/other"
    assert "ExtensionRef" in site.messages


def test_a_mirror_gets_a_copy_of_each_request_and_the_client_the_main_answer(
    site: Site, echo: dict[str, EchoBackend]
) -> None:
    response = site.get("/mirrored/x?y=1", "filter.test", headers=[("X-Probe", "m1")])
    assert (response.status, response.json()["backend"]) == (200, "web")
    for _ in range(100):  # the copy is sent in the background: wait for it, boundedly
        copies = [r for r in echo["copy"].requests if r.headers.get("x-probe") == "m1"]
        if copies:
            break
        time.sleep(0.05)
    assert [copy.path for copy in copies] == ["/mirrored/x?y=1"]
    assert copies[0].headers["host"] == "filter.test"
