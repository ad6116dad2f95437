"""TLS through real nginx: certificates chosen by SNI, redirects, HSTS, the default certificate.

Certificates are generated at test time (tests/tls_secrets.py); each check is a real TLS
handshake against nginx on loopback, looking at which certificate it presented.
"""

from __future__ import annotations

import socket
import ssl
import stat
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e import Site, echo_service, ingress, path, rule, serving, started_backends, to
from harness import LOOPBACK, free_port, request
from tls_secrets import tls_secret

DEFAULT_CN = "ingress2nginx default certificate"


@pytest.fixture(scope="module")
def https_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def site(nginx_binary: str, https_port: int) -> Iterator[Site]:
    objects = [
        ingress(
            "shop",
            namespace="default",
            rules=[
                rule(
                    "shop.test",
                    path("/", to("shop")),
                    path("/.well-known/acme-challenge/t0k3n", to("acme"), "Exact"),
                ),
                rule("*.apps.test", path("/", to("apps"))),
                rule("missing.test", path("/", to("shop"))),
                rule("plain.test", path("/", to("shop"))),
            ],
            created="2026-01-01T00:00:00Z",
        ),
        ingress(
            "no-redirect",
            rules=[rule("shop.test", path("/insecure-ok", to("plain")))],
            annotations={"nginx.ingress.kubernetes.io/ssl-redirect": "false"},
        ),
        ingress(
            "forced",
            rules=[rule("forced.test", path("/", to("shop")))],
            annotations={"nginx.ingress.kubernetes.io/force-ssl-redirect": "true"},
        ),
        tls_secret("default", "shop-tls", ["shop.test"]),
        tls_secret("default", "apps-tls", ["*.apps.test"]),
    ]
    objects[0]["spec"]["tls"] = [
        {"hosts": ["shop.test"], "secretName": "shop-tls"},
        {"hosts": ["*.apps.test"], "secretName": "apps-tls"},
        {"hosts": ["missing.test"], "secretName": "nowhere"},
    ]
    objects[1]["spec"]["tls"] = [{"hosts": ["shop.test"], "secretName": "shop-tls"}]
    with started_backends("shop", "apps", "plain", "acme") as echo:
        for backend in echo.values():
            objects.extend(echo_service(backend))
        with serving(objects, "--https-port", str(https_port), binary=nginx_binary) as served:
            yield served


def https_get(https_port: int, target: str, host: str, sni: str | None = None):  # type: ignore[no-untyped-def]
    return request(https_port, target, host=host, tls=True, server_name=sni)


def test_each_tls_host_is_served_with_its_own_certificate_chosen_by_sni(
    site: Site, https_port: int
) -> None:
    response = https_get(https_port, "/", "shop.test")
    assert response.backend == "shop"
    assert response.certificate is not None
    assert response.certificate.subject_alt_names == ("shop.test",)


def test_a_wildcard_host_is_served_with_the_wildcard_certificate(
    site: Site, https_port: int
) -> None:
    response = https_get(https_port, "/", "tenant.apps.test")
    assert response.backend == "apps"
    assert response.certificate is not None
    assert response.certificate.subject_alt_names == ("*.apps.test",)


def test_the_backend_is_told_the_request_came_over_https_on_the_published_port(
    site: Site, https_port: int
) -> None:
    headers = https_get(https_port, "/x", "shop.test").json()["headers"]
    assert headers["x-forwarded-proto"] == "https"
    assert https_port != 443
    assert headers["x-forwarded-port"] == "443", "the Service's port, not nginx's own"


def test_plain_http_on_a_tls_host_is_redirected_with_308_keeping_path_and_query(
    site: Site, https_port: int
) -> None:
    response = site.get("/cart/items?page=2&sort=asc", host="shop.test")
    assert response.status == 308
    assert response.backend is None
    expected = "https://shop.test/cart/items?page=2&sort=asc"
    assert response.headers["Location"] == expected


def test_the_acme_challenge_path_stays_reachable_over_plain_http(site: Site) -> None:
    response = site.get("/.well-known/acme-challenge/t0k3n", host="shop.test")
    assert (response.status, response.backend) == (200, "acme")


def test_ssl_redirect_false_serves_that_ingress_over_plain_http(site: Site) -> None:
    response = site.get("/insecure-ok", host="shop.test")
    assert (response.status, response.backend) == (200, "plain")


def test_force_ssl_redirect_redirects_a_host_without_tls(site: Site, https_port: int) -> None:
    response = site.get("/a?b=c", host="forced.test")
    assert response.status == 308
    assert response.headers["Location"] == "https://forced.test/a?b=c"


def test_a_host_without_tls_is_not_redirected(site: Site) -> None:
    assert site.get("/", host="plain.test").backend == "shop"


def test_https_responses_of_tls_hosts_carry_hsts_with_ingress_nginx_defaults(
    site: Site, https_port: int
) -> None:
    response = https_get(https_port, "/", "shop.test")
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


def test_plain_http_responses_carry_no_hsts(site: Site) -> None:
    assert "Strict-Transport-Security" not in site.get("/insecure-ok", host="shop.test").headers


def test_a_missing_secret_falls_back_to_the_default_certificate_with_a_warning(
    site: Site, https_port: int
) -> None:
    response = https_get(https_port, "/", "missing.test")
    assert response.backend == "shop"
    assert response.certificate is not None
    assert response.certificate.common_name == DEFAULT_CN
    assert "ingress default/shop: spec.tls[2].secretName: secret default/nowhere" in site.messages
    assert "missing.test uses the default certificate" in site.messages


def test_other_hosts_keep_their_certificates_when_one_secret_is_missing(
    site: Site, https_port: int
) -> None:
    certificate = https_get(https_port, "/", "shop.test").certificate
    assert certificate is not None and certificate.subject_alt_names == ("shop.test",)


def test_an_unknown_server_name_gets_the_default_certificate(site: Site, https_port: int) -> None:
    response = https_get(https_port, "/", "unknown.test")
    assert response.certificate is not None
    assert response.certificate.common_name == DEFAULT_CN
    assert response.status == 404


def test_https_negotiates_http2(site: Site, https_port: int) -> None:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.set_alpn_protocols(["h2", "http/1.1"])
    with (
        socket.create_connection((LOOPBACK, https_port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname="shop.test") as tls,
    ):
        assert tls.selected_alpn_protocol() == "h2"
        assert tls.version() in ("TLSv1.2", "TLSv1.3")


def test_tls_versions_older_than_1_2_are_refused(site: Site, https_port: int) -> None:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = ssl.TLSVersion.TLSv1
        context.maximum_version = ssl.TLSVersion.TLSv1_1
    try:
        context.set_ciphers("ALL:@SECLEVEL=0")
    except ssl.SSLError:
        pytest.skip("this OpenSSL cannot even offer TLS 1.1")
    with (
        socket.create_connection((LOOPBACK, https_port), timeout=5) as raw,
        pytest.raises(ssl.SSLError),
    ):
        context.wrap_socket(raw, server_hostname="shop.test")


def test_certificate_files_are_private_and_named_after_the_secret(site: Site) -> None:
    cert_dir = Path(site.nginx.prefix) / "certs"
    assert stat.S_IMODE(cert_dir.stat().st_mode) == 0o700
    names = sorted(entry.name for entry in cert_dir.iterdir())
    assert names == [
        "default-server.crt",
        "default-server.key",
        "tls-default_apps-tls.crt",
        "tls-default_apps-tls.key",
        "tls-default_shop-tls.crt",
        "tls-default_shop-tls.key",
    ]
    for entry in cert_dir.iterdir():
        assert stat.S_IMODE(entry.stat().st_mode) == 0o600, entry.name


# --------------------------------------------------------------------------- wildcard TLS hosts


@pytest.fixture(scope="module")
def wildcard_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def wildcard_site(nginx_binary: str, wildcard_port: int) -> Iterator[Site]:
    """``spec.tls`` naming ``*.example.test`` only, with rules for hosts one label below it;
    a second Ingress lists its own host by name beside the wildcard."""
    hosts = ["echo.example.test", "quote.example.test", "deep.er.example.test"]
    star = ingress("star", rules=[rule(host, path("/", to("echo"))) for host in hosts],
                   created="2026-01-01T00:00:00Z")  # fmt: skip
    star["spec"]["tls"] = [{"hosts": ["*.example.test"], "secretName": "star"}]
    named = ("own.example.test", "other.example.test")
    own = ingress("own", rules=[rule(host, path("/", to("quote"))) for host in named])
    own["spec"]["tls"] = [
        {"hosts": ["*.example.test"], "secretName": "star"},
        {"hosts": ["own.example.test"], "secretName": "own"},
    ]
    objects = [star, own, tls_secret("default", "star", ["*.example.test"]),
               tls_secret("default", "own", ["own.example.test"])]  # fmt: skip
    with started_backends("echo", "quote") as echo:
        for backend in echo.values():
            objects.extend(echo_service(backend))
        with serving(objects, "--https-port", str(wildcard_port), binary=nginx_binary) as served:
            yield served


@pytest.mark.parametrize("host", ["echo.example.test", "quote.example.test"])
def test_a_wildcard_tls_host_serves_its_certificate_to_the_rule_hosts_below_it(
    wildcard_site: Site, wildcard_port: int, host: str
) -> None:
    response = https_get(wildcard_port, "/", host)
    assert response.backend == "echo"
    assert response.certificate is not None
    assert response.certificate.subject_alt_names == ("*.example.test",)


@pytest.mark.parametrize("host", ["echo.example.test", "quote.example.test"])
def test_a_wildcard_tls_host_redirects_plain_http_of_the_hosts_below_it(
    wildcard_site: Site, host: str
) -> None:
    response = wildcard_site.get("/a?b=c", host=host)
    assert response.status == 308
    assert response.headers["Location"] == f"https://{host}/a?b=c"


def test_a_wildcard_tls_host_is_not_reported_as_having_no_rule(wildcard_site: Site) -> None:
    assert "has no rule" not in wildcard_site.messages
    assert "default certificate" not in wildcard_site.messages


def test_a_wildcard_tls_host_covers_one_label_only(wildcard_site: Site, wildcard_port: int) -> None:
    response = https_get(wildcard_port, "/", "deep.er.example.test")
    assert response.backend == "echo"
    assert response.certificate is not None
    assert response.certificate.common_name == DEFAULT_CN
    assert wildcard_site.get("/", host="deep.er.example.test").status == 200, "not redirected"


def test_a_tls_host_listed_by_name_wins_over_a_wildcard_listed_before_it(
    wildcard_site: Site, wildcard_port: int
) -> None:
    own = https_get(wildcard_port, "/", "own.example.test").certificate
    other = https_get(wildcard_port, "/", "other.example.test").certificate
    assert own is not None and own.subject_alt_names == ("own.example.test",)
    assert other is not None and other.subject_alt_names == ("*.example.test",)
