"""A Gateway API HTTP listener on a port of its own, through real nginx: nginx listens on it
as given, serves there only the routes attached to it (with a 404 for hosts none names), and
a redirect keeping the scheme names that port, as clients see it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from e2e import Site, echo_service, serving, started_backends
from gateway_objects import backend_ref, gateway, http_route, listener, parent, path_match
from gateway_objects import route_rule as rule
from harness import free_port, request


@pytest.fixture(scope="module")
def alt_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def site(nginx_binary: str, alt_port: int) -> Iterator[Site]:
    redirect = {"type": "RequestRedirect", "requestRedirect": {"path": {
        "type": "ReplaceFullPath", "replaceFullPath": "/moved"}}}  # fmt: skip
    objects = [
        gateway("edge", class_name="nginx",
                listeners=[listener("http", 80), listener("alt", alt_port)]),
        http_route("main", parents=[parent("edge", section="http")], hostnames=["ports.test"],
                   rules=[rule(None, [backend_ref("web")])]),
        http_route("alt", parents=[parent("edge", port=alt_port)], hostnames=["ports.test"],
                   rules=[rule([path_match("/r")], filters=[redirect]),
                          rule(None, [backend_ref("alt")])]),
    ]  # fmt: skip
    with started_backends("web", "alt") as echo:
        objects += [*echo_service(echo["web"]), *echo_service(echo["alt"])]
        with serving(objects, binary=nginx_binary) as served:
            yield served


def test_each_port_serves_the_routes_attached_to_its_listener(site: Site, alt_port: int) -> None:
    assert site.served_by("/x", "ports.test") == "web"
    assert request(alt_port, "/x", host="ports.test").backend == "alt"


def test_a_host_no_route_of_the_port_names_gets_404_there(site: Site, alt_port: int) -> None:
    response = request(alt_port, "/", host="other.test")
    assert (response.status, response.backend) == (404, None)


def test_a_redirect_keeping_the_scheme_names_the_listener_port(site: Site, alt_port: int) -> None:
    response = request(alt_port, "/r?a=1", host="ports.test")
    assert response.status == 302
    assert response.headers["Location"] == f"http://ports.test:{alt_port}/moved?a=1"
