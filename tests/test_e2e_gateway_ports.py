"""Gateway API listeners on ports of their own, through real nginx: nginx listens on them as
given (with TLS and the listener's certificate by SNI for HTTPS), serves there only the routes
attached to them (with a 404 for hosts none names); a redirect keeping the scheme names that
port, as clients see it (none on 80 and 443, whatever nginx listens on), and backends are told
the listener's port and scheme."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from e2e import Site, echo_service, serving, started_backends
from gateway_objects import backend_ref, gateway, http_route, listener, parent, path_match
from gateway_objects import route_rule as rule
from harness import free_port, free_ports, request
from tls_secrets import tls_secret


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


# --------------------------------------------------------------------------- HTTPS off 443

DEFAULT_CN = "ingress2nginx default certificate"


@pytest.fixture(scope="module")
def ports() -> dict[str, int]:
    """nginx's --https-port, and the own ports of an HTTPS and an HTTP listener."""
    https, tls, plain = free_ports(3)
    return {"https": https, "tls": tls, "plain": plain}


@pytest.fixture(scope="module")
def tls_site(nginx_binary: str, ports: dict[str, int]) -> Iterator[Site]:
    redirect = {"type": "RequestRedirect", "requestRedirect": {"path": {
        "type": "ReplaceFullPath", "replaceFullPath": "/moved"}}}  # fmt: skip
    listeners = [
        listener("http", 80), listener("https", 443, secret="shop-tls"),
        listener("alt-tls", ports["tls"], hostname="shop.test", secret="shop-tls"),
        listener("alt-http", ports["plain"]),
    ]  # fmt: skip
    objects = [
        gateway("edge", class_name="nginx", listeners=listeners),
        http_route("shop", parents=[parent("edge")], hostnames=["shop.test"],
                   rules=[rule([path_match("/r")], filters=[redirect]),
                          rule(None, [backend_ref("web")])]),
        tls_secret("default", "shop-tls", ["shop.test"]),
    ]  # fmt: skip
    with started_backends("web") as echo:
        objects += echo_service(echo["web"])
        with serving(objects, "--https-port", str(ports["https"]), binary=nginx_binary) as served:
            yield served


def test_an_https_listener_off_443_terminates_tls_with_its_certificate_by_sni(
    tls_site: Site, ports: dict[str, int]
) -> None:
    response = request(ports["tls"], "/x", host="shop.test", tls=True)
    assert (response.status, response.backend) == (200, "web")
    assert response.certificate is not None
    assert response.certificate.subject_alt_names == ("shop.test",)


def test_another_name_on_that_port_gets_404_with_the_default_certificate(
    tls_site: Site, ports: dict[str, int]
) -> None:
    response = request(ports["tls"], "/x", host="other.test", tls=True)
    assert (response.status, response.backend) == (404, None)
    assert response.certificate is not None
    assert response.certificate.common_name == DEFAULT_CN


def test_a_redirect_on_an_https_listener_off_443_names_its_port(
    tls_site: Site, ports: dict[str, int]
) -> None:
    response = request(ports["tls"], "/r?a=1", host="shop.test", tls=True)
    assert response.status == 302
    assert response.headers["Location"] == f"https://shop.test:{ports['tls']}/moved?a=1"


def test_a_redirect_on_80_and_443_names_no_port_whatever_nginx_listens_on(
    tls_site: Site, ports: dict[str, int]
) -> None:
    plain = tls_site.get("/r", "shop.test")
    assert plain.headers["Location"] == "http://shop.test/moved"
    secure = request(ports["https"], "/r", host="shop.test", tls=True)
    assert secure.headers["Location"] == "https://shop.test/moved"


def test_backends_are_told_the_listener_port_and_scheme_the_client_used(
    tls_site: Site, ports: dict[str, int]
) -> None:
    seen = {
        "80": tls_site.get("/x", "shop.test"),
        "443": request(ports["https"], "/x", host="shop.test", tls=True),
        str(ports["tls"]): request(ports["tls"], "/x", host="shop.test", tls=True),
        str(ports["plain"]): request(ports["plain"], "/x", host="shop.test"),
    }
    schemes = {"80": "http", "443": "https", str(ports["tls"]): "https",
               str(ports["plain"]): "http"}  # fmt: skip
    for port, response in seen.items():
        headers = response.json()["headers"]
        assert headers["x-forwarded-port"] == port
        assert headers["x-forwarded-proto"] == schemes[port]


def test_behind_a_trusted_proxy_x_forwarded_port_is_kept_and_else_the_listener_port(
    nginx_binary: str, tmp_path: Path
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"use-forwarded-headers": "true"}))
    port = free_port()
    objects = [
        gateway("edge", class_name="nginx", listeners=[listener("alt", port)]),
        http_route("alt", parents=[parent("edge")], rules=[rule(None, [backend_ref("alt")])]),
    ]
    with started_backends("alt") as echo:
        objects += echo_service(echo["alt"])
        with serving(objects, "--config", str(config), binary=nginx_binary):
            told = request(port, "/", host="a.test", headers={"X-Forwarded-Port": "8443"})
            assert told.json()["headers"]["x-forwarded-port"] == "8443"
            own = request(port, "/", host="a.test")
            assert own.json()["headers"]["x-forwarded-port"] == str(port)
