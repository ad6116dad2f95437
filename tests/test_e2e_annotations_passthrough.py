"""ssl-passthrough through real nginx: TLS for a passthrough host reaches its backend untouched
(the client sees the backend's certificate, and the backend the client's own request), while
every other host on the same HTTPS port still gets nginx's TLS termination, with the client's
address carried through by the PROXY protocol.

These tests need nginx's stream module with ssl_preread. Debian ships it as a dynamic module
(libnginx-mod-stream, which scripts/test.sh installs); where it cannot be loaded the tests are
skipped with the reason.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from e2e import Site, echo_service, ingress, path, render, rule, serving, started_backends, to
from harness import EchoBackend, free_port
from tls_backends import TLSEchoBackend, https_request, stream_module_arguments
from tls_secrets import tls_secret

PASSTHROUGH = {"nginx.ingress.kubernetes.io/ssl-passthrough": "true"}
CLIENT_ADDRESS = "127.0.0.2"
"""A loopback address other than nginx's own, to tell the client's address from nginx's."""


@pytest.fixture(scope="module")
def stream_module(nginx_binary: str) -> list[str]:
    arguments, reason = stream_module_arguments(nginx_binary)
    if arguments is None:
        pytest.skip(f"ssl-passthrough needs nginx's stream module: {reason}")
    return arguments


@dataclass(frozen=True)
class Passthrough:
    site: Site
    https_port: int
    backends: dict[str, EchoBackend]


def manifests(backends: dict[str, EchoBackend]) -> list[dict[str, object]]:
    shop = ingress("shop", rules=[rule("shop.test", path("/", to("shop")))])
    shop["spec"]["tls"] = [{"hosts": ["shop.test"], "secretName": "shop-tls"}]
    return [
        ingress(
            "vault",
            rules=[
                rule("vault.test", path("/", to("vault"))),
                rule("*.db.test", path("/", to("db"))),
            ],
            annotations=PASSTHROUGH,
        ),
        shop,
        tls_secret("default", "shop-tls", ["shop.test"]),
        *(item for backend in backends.values() for item in echo_service(backend)),
    ]


@pytest.fixture(scope="module")
def passthrough(nginx_binary: str, stream_module: list[str]) -> Iterator[Passthrough]:
    https_port, proxy_port, relay_port = free_port(), free_port(), free_port()
    arguments = [
        "--https-port",
        str(https_port),
        "--enable-ssl-passthrough",
        "--ssl-passthrough-proxy-port",
        str(proxy_port),
        "--ssl-passthrough-relay-port",
        str(relay_port),
        *stream_module,
    ]
    with (
        TLSEchoBackend("vault", "vault.test") as vault,
        TLSEchoBackend("db", "orders.db.test") as db,
        started_backends("shop") as echo,
    ):
        backends = {"vault": vault, "db": db, "shop": echo["shop"]}
        with serving(manifests(backends), *arguments, binary=nginx_binary) as site:
            yield Passthrough(site, https_port, backends)


def test_a_passthrough_host_gets_the_raw_tls_connection_to_its_backend(
    passthrough: Passthrough,
) -> None:
    vault = passthrough.backends["vault"]
    assert isinstance(vault, TLSEchoBackend)
    response = https_request(passthrough.https_port, "vault.test", path="/secret?v=1")
    assert response.certificate is not None
    assert response.certificate.der == vault.certificate_der
    assert response.backend == "vault"
    echoed = response.json()
    assert echoed["path"] == "/secret?v=1"
    assert "x-forwarded-for" not in echoed["headers"]
    assert "x-real-ip" not in echoed["headers"]


def test_a_wildcard_passthrough_host_matches_one_label(passthrough: Passthrough) -> None:
    db = passthrough.backends["db"]
    assert isinstance(db, TLSEchoBackend)
    response = https_request(passthrough.https_port, "orders.db.test")
    assert response.certificate is not None
    assert response.certificate.der == db.certificate_der
    assert response.backend == "db"


def test_other_hosts_on_the_https_port_still_get_nginx_tls_termination(
    passthrough: Passthrough,
) -> None:
    response = https_request(passthrough.https_port, "shop.test", source=CLIENT_ADDRESS)
    assert response.certificate is not None
    assert response.certificate.subject_alt_names == ("shop.test",)
    assert response.backend == "shop"
    headers = response.json()["headers"]
    assert headers["x-forwarded-proto"] == "https"
    assert headers["x-forwarded-port"] == "443", "the port the Service publishes, not nginx's"


def test_the_client_address_survives_the_stream_hop_to_nginx_https_servers(
    passthrough: Passthrough,
) -> None:
    response = https_request(passthrough.https_port, "shop.test", source=CLIENT_ADDRESS)
    headers = response.json()["headers"]
    assert headers["x-real-ip"] == CLIENT_ADDRESS
    assert headers["x-forwarded-for"] == CLIENT_ADDRESS


def test_tls_without_a_passthrough_name_is_terminated_by_nginx(passthrough: Passthrough) -> None:
    response = https_request(passthrough.https_port, "vault.test", sni="unknown.test")
    assert response.certificate is not None
    assert response.certificate.common_name == "ingress2nginx default certificate"


def test_nginx_https_servers_are_reachable_only_through_the_front_server(
    passthrough: Passthrough,
) -> None:
    config = passthrough.site.rendered.config
    assert f"listen 127.0.0.1:{passthrough.https_port};" in config
    assert "ssl proxy_protocol" in config
    assert f"127.0.0.1:{passthrough.https_port} ssl" not in config
    assert "set_real_ip_from 127.0.0.1;" in config


def vault_only() -> list[dict[str, object]]:
    return [
        ingress(
            "vault", rules=[rule("vault.test", path("/", to("vault")))], annotations=PASSTHROUGH
        ),
    ]


def test_without_the_flag_the_annotation_is_refused_and_the_output_does_not_change() -> None:
    refused = render(vault_only())
    assert (
        "warning: ingress default/vault: metadata.annotations"
        "[nginx.ingress.kubernetes.io/ssl-passthrough]: refused: ssl-passthrough is disabled"
        " (see --enable-ssl-passthrough); ignored"
    ) in refused.messages
    plain = vault_only()
    del plain[0]["metadata"]["annotations"]  # type: ignore[attr-defined]
    assert refused.config == render(plain).config
    assert "stream {" not in refused.config


def test_the_stream_module_is_loaded_only_when_there_is_a_stream_block() -> None:
    module = ["--stream-module", "/usr/lib/nginx/modules/ngx_stream_module.so"]
    assert "load_module" not in render(vault_only(), *module).config
    enabled = render(vault_only(), "--enable-ssl-passthrough", *module).config
    assert enabled.count("load_module /usr/lib/nginx/modules/ngx_stream_module.so;") == 1
    assert "load_module" not in render(vault_only(), "--enable-ssl-passthrough").config


def test_a_passthrough_host_without_a_backend_for_the_root_path_is_ignored() -> None:
    objects = [
        ingress("api", rules=[rule("api.test", path("/api", to("api")))], annotations=PASSTHROUGH),
    ]
    rendered = render(objects, "--enable-ssl-passthrough")
    assert (
        "warning: ingress default/api: metadata.annotations"
        "[nginx.ingress.kubernetes.io/ssl-passthrough]: host api.test has no backend for / to"
        " pass TLS connections to; ignored"
    ) in rendered.messages
    assert "stream {" not in rendered.config
