"""Balancing annotations proven through real nginx, with several echo backends as the endpoints
of one Service: cookie affinity (emulated by consistent hashing of the cookie), hashing by a
header, least_conn, and service-upstream reaching the ClusterIP instead of the endpoints."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from e2e import (
    Obj,
    Site,
    endpoint_slice,
    ingress,
    path,
    rule,
    service,
    serving,
    started_backends,
    to,
)
from harness import EchoBackend, Response, free_port, request
from tls_secrets import tls_secret

PREFIX = "nginx.ingress.kubernetes.io/"
OLD_CHROME = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/59.0.3071.115 Safari/537.36"
)
NEW_CHROME = OLD_CHROME.replace("Chrome/59", "Chrome/120")
FRESH_COOKIE = re.compile(r"INGRESSCOOKIE=([0-9a-f]{32}); ")


def annotated(**values: str) -> dict[str, str]:
    return {PREFIX + name.replace("_", "-"): value for name, value in values.items()}


def pool(name: str, *backends: EchoBackend) -> list[Obj]:
    """A Service whose endpoints are all of `backends` (one EndpointSlice each)."""
    return [service(name), *(endpoint_slice(name, backend) for backend in backends)]


def cluster_ip_service(name: str, cluster_ip: EchoBackend, endpoint: EchoBackend) -> list[Obj]:
    """A Service whose ClusterIP:port is `cluster_ip` and whose only endpoint is `endpoint`."""
    port = {"name": "http", "port": cluster_ip.port, "targetPort": "web", "protocol": "TCP"}
    body = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"clusterIP": cluster_ip.address, "ports": [port]},
    }
    return [body, endpoint_slice(name, endpoint)]


@pytest.fixture(scope="module")
def https_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def site(nginx_binary: str, https_port: int) -> Iterator[Site]:
    names = ("s1", "s2", "h1", "h2", "h3", "l1", "l2", "cluster-ip", "endpoint")
    with started_backends(*names) as echo:
        objects = [
            *ingresses(cluster_ip_port=echo["cluster-ip"].port),
            tls_secret("default", "secure-tls", ["secure.test"]),
            *pool("sticky-pool", echo["s1"], echo["s2"]),
            *pool("hash-pool", echo["h1"], echo["h2"], echo["h3"]),
            *pool("least-pool", echo["l1"], echo["l2"]),
            *cluster_ip_service("direct", echo["cluster-ip"], echo["endpoint"]),
        ]
        with serving(objects, "--https-port", str(https_port), binary=nginx_binary) as served:
            yield served


def ingresses(cluster_ip_port: int) -> list[Obj]:
    sticky = ingress(
        "sticky",
        rules=[
            rule("sticky.test", path("/", to("sticky-pool"))),
            rule("secure.test", path("/", to("sticky-pool"))),
        ],
        annotations=annotated(
            affinity="cookie",
            session_cookie_samesite="None",
            session_cookie_conditional_samesite_none="true",
        ),
        created="2026-01-01T00:00:00Z",
    )
    sticky["spec"]["tls"] = [{"hosts": ["secure.test"], "secretName": "secure-tls"}]
    direct = to("direct", cluster_ip_port)
    return [
        sticky,
        ingress(
            "follower",
            rules=[rule("follow.test", path("/", to("sticky-pool")))],
            created="2026-01-02T00:00:00Z",
        ),
        ingress(
            "hashed",
            rules=[rule("hash.test", path("/", to("hash-pool")))],
            annotations=annotated(upstream_hash_by="$http_x_user"),
        ),
        ingress(
            "least",
            rules=[rule("least.test", path("/", to("least-pool")))],
            annotations=annotated(load_balance="least_conn"),
        ),
        ingress(
            "direct",
            rules=[rule("direct.test", path("/", direct))],
            annotations=annotated(service_upstream="true"),
        ),
        ingress("endpoints", rules=[rule("endpoints.test", path("/", direct))]),
    ]


def fresh_cookie(response: Response) -> str:
    """The INGRESSCOOKIE value a response hands out (it must hand one out)."""
    cookies = response.headers.get_all("Set-Cookie") or []
    values = [found.group(1) for cookie in cookies if (found := FRESH_COOKIE.match(cookie))]
    assert len(values) == 1, f"expected one fresh INGRESSCOOKIE, got {cookies}"
    return values[0]


def with_cookie(site: Site, host: str, value: str) -> Response:
    return site.get("/", host=host, headers={"Cookie": f"theme=dark; INGRESSCOOKIE={value}"})


def test_a_client_without_the_cookie_gets_one_with_the_default_attributes(site: Site) -> None:
    response = site.get("/", host="sticky.test", headers={"User-Agent": NEW_CHROME})
    assert response.status == 200
    cookie = response.headers["Set-Cookie"]
    value = fresh_cookie(response)
    assert cookie == f"INGRESSCOOKIE={value}; Path=/; HttpOnly; SameSite=None"


def test_every_request_with_the_cookie_reaches_the_endpoint_that_gave_it(site: Site) -> None:
    for _ in range(4):
        first = site.get("/", host="sticky.test")
        value = fresh_cookie(first)
        answers = [with_cookie(site, "sticky.test", value) for _ in range(8)]
        assert {answer.backend for answer in answers} == {first.backend}
        assert all(answer.headers.get("Set-Cookie") is None for answer in answers)


def test_different_cookies_spread_over_every_endpoint(site: Site) -> None:
    reached = {with_cookie(site, "sticky.test", f"client-{n}").backend for n in range(24)}
    assert reached == {"s1", "s2"}


def test_requests_without_the_cookie_spread_over_every_endpoint(site: Site) -> None:
    reached = {site.get("/", host="sticky.test").backend for _ in range(24)}
    assert reached == {"s1", "s2"}


def test_samesite_none_is_left_out_for_browsers_known_to_reject_it(site: Site) -> None:
    response = site.get("/", host="sticky.test", headers={"User-Agent": OLD_CHROME})
    value = fresh_cookie(response)
    assert response.headers["Set-Cookie"] == f"INGRESSCOOKIE={value}; Path=/; HttpOnly"


def test_over_https_the_cookie_is_secure_and_hsts_is_still_sent(
    site: Site, https_port: int
) -> None:
    response = request(https_port, "/", host="secure.test", tls=True)
    assert response.status == 200
    value = fresh_cookie(response)
    expected = f"INGRESSCOOKIE={value}; Path=/; HttpOnly; Secure; SameSite=None"
    assert response.headers["Set-Cookie"] == expected
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_a_younger_ingress_on_the_same_service_follows_the_affinity_without_cookies(
    site: Site,
) -> None:
    for n in range(6):
        expected = with_cookie(site, "sticky.test", f"shared-{n}").backend
        answers = [with_cookie(site, "follow.test", f"shared-{n}") for _ in range(3)]
        assert {answer.backend for answer in answers} == {expected}
    assert site.get("/", host="follow.test").headers.get("Set-Cookie") is None


def test_hashing_by_a_header_sends_each_value_to_one_endpoint_every_time(site: Site) -> None:
    chosen = {}
    for n in range(40):
        user = f"user-{n}"
        answers = {
            site.get("/", host="hash.test", headers={"X-User": user}).backend for _ in range(4)
        }
        assert len(answers) == 1, f"{user} reached {answers}"
        chosen[user] = answers.pop()
    assert set(chosen.values()) == {"h1", "h2", "h3"}


def test_least_conn_is_written_and_spreads_requests(site: Site) -> None:
    assert "least_conn;" in site.rendered.config
    reached = {site.get("/", host="least.test").backend for _ in range(12)}
    assert reached == {"l1", "l2"}


def test_service_upstream_proxies_to_the_cluster_ip_not_the_endpoints(site: Site) -> None:
    assert {site.get("/", host="direct.test").backend for _ in range(4)} == {"cluster-ip"}


def test_without_service_upstream_the_same_service_uses_its_endpoints(site: Site) -> None:
    assert {site.get("/", host="endpoints.test").backend for _ in range(4)} == {"endpoint"}
