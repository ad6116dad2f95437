"""Gateway API listener isolation through real nginx: a request reaches only the routes of
the listener it arrived on, and a 404 when none of them matches.

By port: a host attached only to the HTTP listener is not served over HTTPS (the port's
default server answers 404, with the certificate of the HTTPS listener without hostname,
which takes every name), one attached only to the HTTPS listener is
not served over plain HTTP (a 404, not a redirect), and a host with different routes per
listener gets each port's own. By hostname, as the conformance suite's
GatewayHTTPListenerIsolation asks (on a port of its own here): a request belongs to the
listener whose hostname matches it most narrowly, whatever hostnames the other listeners'
routes name.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from e2e import Site, echo_service, serving, started_backends
from gateway_objects import backend_ref, gateway, http_route, listener, parent, path_match
from gateway_objects import route_rule as rule
from harness import free_ports, request
from tls_secrets import tls_secret

ISOLATED = {  # listener name: (hostname, route path)
    "empty-hostname": (None, "/empty-hostname"),
    "wildcard-example-com": ("*.example.com", "/wildcard-example-com"),
    "wildcard-foo-example-com": ("*.foo.example.com", "/wildcard-foo-example-com"),
    "abc-foo-example-com": ("abc.foo.example.com", "/abc-foo-example-com"),
}
ROUTE_HOSTNAMES = ["bar.com", "*.example.com", "*.foo.example.com", "abc.foo.example.com"]


@pytest.fixture(scope="module")
def ports() -> dict[str, int]:
    """nginx's --https-port and the own port of the hostname-isolation Gateway."""
    https, isolated = free_ports(2)
    return {"https": https, "isolated": isolated}


def _by_port() -> list[dict[str, object]]:
    edge = [listener("http", 80), listener("https", 443, secret="site-tls")]
    return [
        gateway("edge", class_name="nginx", listeners=edge),
        http_route("plain-only", parents=[parent("edge", section="http")],
                   hostnames=["plain.test"], rules=[rule(None, [backend_ref("plain")])]),
        http_route("secure-only", parents=[parent("edge", section="https")],
                   hostnames=["secure.test"], rules=[rule(None, [backend_ref("secure")])]),
        http_route("split-http", parents=[parent("edge", port=80)], hostnames=["split.test"],
                   rules=[rule(None, [backend_ref("split-http")])]),
        http_route("split-https", parents=[parent("edge", port=443)], hostnames=["split.test"],
                   rules=[rule(None, [backend_ref("split-https")])]),
        tls_secret("default", "site-tls", ["plain.test", "secure.test", "split.test"]),
    ]  # fmt: skip


def _by_hostname(port: int) -> list[dict[str, object]]:
    listeners = [listener(name, port, hostname=hostname)
                 for name, (hostname, _) in ISOLATED.items()]  # fmt: skip
    routes = [
        http_route(f"attaches-to-{name}", parents=[parent("isolated", section=name)],
                   hostnames=ROUTE_HOSTNAMES,
                   rules=[rule([path_match(path)], [backend_ref("isolated")])])
        for name, (_, path) in ISOLATED.items()
    ]  # fmt: skip
    return [gateway("isolated", class_name="nginx", listeners=listeners), *routes]


@pytest.fixture(scope="module")
def site(nginx_binary: str, ports: dict[str, int]) -> Iterator[Site]:
    objects = [*_by_port(), *_by_hostname(ports["isolated"])]
    names = ("plain", "secure", "split-http", "split-https", "isolated")
    with started_backends(*names) as echo:
        for name in names:
            objects += echo_service(echo[name])
        with serving(objects, "--https-port", str(ports["https"]), binary=nginx_binary) as served:
            yield served


def test_a_host_attached_only_to_the_http_listener_is_not_served_over_https(
    site: Site, ports: dict[str, int]
) -> None:
    assert site.served_by("/", "plain.test") == "plain"
    response = request(ports["https"], "/", host="plain.test", tls=True)
    assert (response.status, response.backend) == (404, None)
    assert response.certificate is not None
    assert response.certificate.subject_alt_names == ("plain.test", "secure.test", "split.test")


def test_a_host_attached_only_to_the_https_listener_gets_404_over_plain_http(
    site: Site, ports: dict[str, int]
) -> None:
    assert request(ports["https"], "/", host="secure.test", tls=True).backend == "secure"
    response = site.get("/a?b=c", "secure.test")
    assert (response.status, response.backend) == (404, None)
    assert "Location" not in response.headers


def test_a_host_gets_the_routes_of_each_port_on_that_port(
    site: Site, ports: dict[str, int]
) -> None:
    assert site.served_by("/", "split.test") == "split-http"
    secure = request(ports["https"], "/", host="split.test", tls=True)
    assert (secure.backend, secure.certificate is not None) == ("split-https", True)


EXPECTED = {  # request host: the listener it belongs to
    "bar.com": "empty-hostname",
    "bar.example.com": "wildcard-example-com",
    "bar.foo.example.com": "wildcard-foo-example-com",
    "abc.foo.example.com": "abc-foo-example-com",
}


@pytest.mark.parametrize("host", EXPECTED)
def test_a_request_reaches_only_the_routes_of_the_narrowest_listener_matching_it(
    site: Site, ports: dict[str, int], host: str
) -> None:
    for name, (_, path) in ISOLATED.items():
        response = request(ports["isolated"], path, host=host)
        expected = (200, "isolated") if name == EXPECTED[host] else (404, None)
        assert (response.status, response.backend) == expected, f"{host}{path}"
