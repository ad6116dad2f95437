"""CORS, source ranges, access logs, nginx's own redirects and per-host TLS ciphers, proven
through real nginx with echo backends: real requests (and TLS handshakes) from 127.0.0.1."""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Iterator

import pytest
from e2e import Obj, Site, echo_service, ingress, path, rule, serving, started_backends, to
from harness import LOOPBACK, Response, free_port, request
from tls_secrets import tls_secret

PREFIX = "nginx.ingress.kubernetes.io/"
PARTNERS = "https://partner.test, https://*.apps.test:8443"
AES128 = "ECDHE-ECDSA-AES128-GCM-SHA256"
AES256 = "ECDHE-ECDSA-AES256-GCM-SHA384"


def annotated(**values: str) -> dict[str, str]:
    return {PREFIX + name.replace("_", "-"): value for name, value in values.items()}


def on(host: str, name: str, route: str = "/", backend: str = "api", **values: str) -> Obj:
    """An Ingress `name` serving `route` on `host` with annotations `values`."""
    return ingress(name, rules=[rule(host, path(route, to(backend)))],
                   annotations=annotated(**values))  # fmt: skip


@pytest.fixture(scope="module")
def site(nginx_binary: str) -> Iterator[Site]:
    objects = [
        on("open.test", "open", enable_cors="true"),
        on("partners.test", "partners", enable_cors="true", cors_allow_origin=PARTNERS,
           cors_allow_methods="GET, POST", cors_expose_headers="X-Trace", cors_max_age="600"),
        on("private.test", "private", enable_cors="true", cors_allow_origin=PARTNERS,
           cors_allow_credentials="false"),
        ingress("rewritten", rules=[rule("rewrite.test", path("/api(/|$)(.*)", to("api"),
                "ImplementationSpecific"))], annotations=annotated(
                use_regex="true", rewrite_target="/$2", enable_cors="true")),
        on("access.test", "inside", "/inside", allowlist_source_range="127.0.0.0/8"),
        on("access.test", "outside", "/outside", allowlist_source_range="10.0.0.0/8, ::1"),
        on("access.test", "old-name", "/old-name", whitelist_source_range="10.0.0.0/8"),
        on("access.test", "new-name-wins", "/new-name-wins",
           whitelist_source_range="10.0.0.0/8", allowlist_source_range="127.0.0.1"),
        on("access.test", "denied", "/denied", denylist_source_range="127.0.0.0/8"),
        on("access.test", "deny-first", "/deny-first", allowlist_source_range="127.0.0.0/8",
           denylist_source_range="127.0.0.1"),
        on("access.test", "not-denied", "/not-denied", denylist_source_range="10.0.0.0/8"),
        on("access.test", "any-check", "/any-check", allowlist_source_range="127.0.0.0/8",
           satisfy="any"),
        on("log.test", "quiet", "/quiet", enable_access_log="false"),
        on("log.test", "loud", "/loud"),
        on("redirect.test", "relative", "/relative", permanent_redirect="/elsewhere",
           relative_redirects="true"),
        on("redirect.test", "absolute", "/absolute", permanent_redirect="/elsewhere"),
        on("redirect.test", "portless", "/portless", permanent_redirect="/elsewhere",
           use_port_in_redirects="false"),
    ]  # fmt: skip
    with started_backends("api") as echo:
        objects.extend(echo_service(echo["api"]))
        with serving(objects, binary=nginx_binary) as served:
            yield served


def preflight(site: Site, host: str, origin: str, target: str = "/x") -> Response:
    headers = {"Origin": origin, "Access-Control-Request-Method": "POST"}
    return site.get(target, host=host, method="OPTIONS", headers=headers)


# --------------------------------------------------------------------------- CORS


def test_enable_cors_allows_every_origin_with_ingress_nginx_defaults(site: Site) -> None:
    response = site.get("/x", host="open.test", headers={"Origin": "https://anyone.test"})
    assert response.backend == "api"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers["Access-Control-Allow-Credentials"] == "true"
    assert response.headers["Access-Control-Allow-Methods"] == (
        "GET, PUT, POST, DELETE, PATCH, OPTIONS"
    )
    assert response.headers["Access-Control-Allow-Headers"].startswith("DNT,Keep-Alive,")
    assert response.headers["Access-Control-Max-Age"] == "1728000"
    assert "Access-Control-Expose-Headers" not in response.headers


def test_a_preflight_is_answered_by_nginx_with_204_and_never_reaches_the_backend(
    site: Site,
) -> None:
    response = preflight(site, "open.test", "https://anyone.test")
    assert (response.status, response.backend, response.body) == (204, None, b"")
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers["Access-Control-Allow-Methods"].startswith("GET, PUT")


def test_an_allowed_origin_is_echoed_back_with_the_configured_headers(site: Site) -> None:
    origin = "https://partner.test"
    response = site.get("/x", host="partners.test", headers={"Origin": origin})
    assert response.backend == "api"
    assert response.headers["Access-Control-Allow-Origin"] == origin
    assert response.headers["Access-Control-Allow-Credentials"] == "true"
    assert response.headers["Access-Control-Allow-Methods"] == "GET, POST"
    assert response.headers["Access-Control-Expose-Headers"] == "X-Trace"
    assert response.headers["Access-Control-Max-Age"] == "600"


def test_a_wildcard_origin_allows_exactly_one_subdomain_label_on_its_port(site: Site) -> None:
    def allowed(origin: str) -> str | None:
        response = site.get("/x", host="partners.test", headers={"Origin": origin})
        return response.headers.get("Access-Control-Allow-Origin")

    assert allowed("https://shop.apps.test:8443") == "https://shop.apps.test:8443"
    assert allowed("https://a.b.apps.test:8443") is None
    assert allowed("https://apps.test:8443") is None
    assert allowed("https://shop.apps.test") is None
    assert allowed("http://shop.apps.test:8443") is None


def test_a_disallowed_origin_gets_no_cors_headers_but_is_still_proxied(site: Site) -> None:
    for origin in ("https://evil.test", "https://partner.test.evil.test", "null"):
        response = site.get("/x", host="partners.test", headers={"Origin": origin})
        assert response.backend == "api"
        assert not [name for name in response.headers if name.startswith("Access-Control-")]


def test_a_request_without_origin_gets_no_cors_headers_from_an_origin_list(site: Site) -> None:
    response = site.get("/x", host="partners.test")
    assert response.backend == "api"
    assert "Access-Control-Allow-Origin" not in response.headers


def test_a_preflight_from_an_allowed_origin_is_answered_by_nginx(site: Site) -> None:
    response = preflight(site, "partners.test", "https://shop.apps.test:8443")
    assert (response.status, response.backend) == (204, None)
    assert response.headers["Access-Control-Allow-Origin"] == "https://shop.apps.test:8443"
    assert response.headers["Access-Control-Allow-Methods"] == "GET, POST"


def test_a_preflight_from_a_disallowed_origin_goes_to_the_backend(site: Site) -> None:
    response = preflight(site, "partners.test", "https://evil.test")
    assert (response.status, response.backend) == (200, "api")
    assert response.json()["method"] == "OPTIONS"
    assert "Access-Control-Allow-Origin" not in response.headers


def test_cors_allow_credentials_false_leaves_the_credentials_header_out(site: Site) -> None:
    response = site.get("/x", host="private.test", headers={"Origin": "https://partner.test"})
    assert response.headers["Access-Control-Allow-Origin"] == "https://partner.test"
    assert "Access-Control-Allow-Credentials" not in response.headers


def test_a_preflight_is_answered_before_rewrite_target_ends_the_rewrite_phase(
    site: Site,
) -> None:
    assert preflight(site, "rewrite.test", "https://a.test", "/api/x").status == 204
    response = site.get("/api/x", host="rewrite.test", headers={"Origin": "https://a.test"})
    assert response.json()["path"] == "/x"
    assert response.headers["Access-Control-Allow-Origin"] == "*"


# --------------------------------------------------------------------------- source ranges


@pytest.mark.parametrize(
    ("route", "status"),
    [
        ("/inside", 200),
        ("/outside", 403),
        ("/old-name", 403),
        ("/new-name-wins", 200),
        ("/denied", 403),
        ("/deny-first", 403),
        ("/not-denied", 200),
        ("/any-check", 200),
    ],
)
def test_source_ranges_decide_who_reaches_the_backend(site: Site, route: str, status: int) -> None:
    response = site.get(f"{route}/page", host="access.test")
    assert response.status == status
    assert response.backend == ("api" if status == 200 else None)


# --------------------------------------------------------------------------- logs, redirects


def test_enable_access_log_false_keeps_that_ingress_out_of_the_access_log(site: Site) -> None:
    marker = f"m{time.monotonic_ns()}"
    assert site.get(f"/quiet?{marker}", host="log.test").backend == "api"
    assert site.get(f"/loud?{marker}", host="log.test").backend == "api"
    deadline = time.monotonic() + 5
    while f"/loud?{marker}" not in site.nginx.stderr and time.monotonic() < deadline:
        time.sleep(0.05)
    assert f"/loud?{marker}" in site.nginx.stderr
    assert f"/quiet?{marker}" not in site.nginx.stderr


def test_relative_redirects_keep_nginx_redirects_relative(site: Site) -> None:
    response = site.get("/relative", host="redirect.test")
    assert (response.status, response.headers["Location"]) == (301, "/elsewhere")


def test_nginx_redirects_are_absolute_and_name_the_port_by_default(site: Site) -> None:
    location = site.get("/absolute", host="redirect.test").headers["Location"]
    assert location == f"http://redirect.test:{site.port}/elsewhere"


def test_use_port_in_redirects_false_leaves_the_port_out(site: Site) -> None:
    location = site.get("/portless", host="redirect.test").headers["Location"]
    assert location == "http://redirect.test/elsewhere"


# --------------------------------------------------------------------------- TLS hosts


@pytest.fixture(scope="module")
def https_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def tls_site(nginx_binary: str, https_port: int) -> Iterator[Site]:
    hosts = ["shop.test", "prefer.test", "client-order.test", "plain-tls.test"]
    objects = [
        ingress("shop", rules=[rule("shop.test", path("/", to("api")))],
                created="2026-01-01T00:00:00Z",
                annotations=annotated(ssl_ciphers=AES256, enable_cors="true",
                                      use_port_in_redirects="true")),
        ingress("shop-newer", rules=[rule("shop.test", path("/newer", to("api")))],
                created="2026-02-01T00:00:00Z", annotations=annotated(ssl_ciphers=AES128)),
        ingress("prefer", rules=[rule("prefer.test", path("/", to("api")))],
                annotations=annotated(ssl_ciphers=f"{AES256}:{AES128}",
                                      ssl_prefer_server_ciphers="true")),
        ingress("client-order", rules=[rule("client-order.test", path("/", to("api")))],
                annotations=annotated(ssl_ciphers=f"{AES128}:{AES256}",
                                      ssl_prefer_server_ciphers="false")),
        ingress("plain-tls", rules=[rule("plain-tls.test", path("/", to("api")))]),
        *(tls_secret("default", f"{host}-tls", [host]) for host in hosts),
    ]  # fmt: skip
    for entry in objects[:5]:
        host = entry["spec"]["rules"][0]["host"]
        entry["spec"]["tls"] = [{"hosts": [host], "secretName": f"{host}-tls"}]
    with started_backends("api") as echo:
        objects.extend(echo_service(echo["api"]))
        with serving(objects, "--https-port", str(https_port), "--published-https-port", "8443",
                     binary=nginx_binary) as served:  # fmt: skip
            yield served


def handshake(port: int, host: str, ciphers: str) -> str | None:
    """The cipher a TLS 1.2 handshake offering `ciphers` (in that order) ends with; None when
    the server refuses every one of them."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers(ciphers)
    with socket.create_connection((LOOPBACK, port), timeout=5) as raw:
        try:
            with context.wrap_socket(raw, server_hostname=host) as tls:
                cipher = tls.cipher()
        except ssl.SSLError:
            return None
    return cipher[0] if cipher else None


def test_ssl_ciphers_restricts_the_hosts_handshakes_and_the_oldest_ingress_wins(
    tls_site: Site, https_port: int
) -> None:
    assert handshake(https_port, "shop.test", AES256) == AES256
    assert handshake(https_port, "shop.test", AES128) is None
    assert handshake(https_port, "plain-tls.test", AES128) == AES128


def test_ssl_prefer_server_ciphers_decides_whose_order_wins(
    tls_site: Site, https_port: int
) -> None:
    client_order = f"{AES128}:{AES256}"
    assert handshake(https_port, "prefer.test", client_order) == AES256
    assert handshake(https_port, "client-order.test", f"{AES256}:{AES128}") == AES256
    assert handshake(https_port, "client-order.test", client_order) == AES128


def test_cors_headers_on_a_tls_host_keep_hsts(tls_site: Site, https_port: int) -> None:
    for method in ("GET", "OPTIONS"):
        response = request(https_port, "/x", host="shop.test", method=method, tls=True,
                           headers={"Origin": "https://a.test"})  # fmt: skip
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_the_https_redirect_names_the_port_only_with_use_port_in_redirects(
    tls_site: Site, https_port: int
) -> None:
    location = tls_site.get("/a", host="shop.test").headers["Location"]
    assert https_port != 8443
    assert location == "https://shop.test:8443/a", "the published port, not nginx's own"
    assert tls_site.get("/a", host="plain-tls.test").headers["Location"] == (
        "https://plain-tls.test/a"
    )
