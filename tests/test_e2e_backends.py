"""Backends through real nginx, and what reaches them.

The ``site`` serves Services with EndpointSlices or Endpoints leading to echo backends; the
``dns_site`` serves Services that nginx resolves at request time (no Service in the input, and
an ExternalName Service) through ``dnsstub.DnsStub``, which answers 127.0.0.1 for every name.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from dnsstub import DnsStub
from e2e import (
    Obj,
    Site,
    echo_service,
    endpoint_slice,
    ingress,
    path,
    rule,
    service,
    serving,
    started_backends,
    to,
)
from harness import EchoBackend, websocket_roundtrip

BACKENDS = (
    "named", "named-metrics", "rr-1", "rr-2", "mixed-ready", "mixed-unready", "none-unready",
    "alpha-web", "beta-web", "legacy", "legacy-unready", "props", "unnamed", "no-conditions",
)  # fmt: skip


def named_port_service(echo: dict[str, EchoBackend]) -> list[Obj]:
    """Service ``named`` with ports ``metrics`` and ``http``, each to its own echo backend."""
    svc = service("named")
    svc["spec"]["ports"].insert(0, {"name": "metrics", "port": 9090, "targetPort": 9090})
    endpoints = endpoint_slice("named", echo["named"])
    endpoints["ports"].append(
        {"name": "metrics", "port": echo["named-metrics"].port, "protocol": "TCP"}
    )
    return [svc, endpoints]


def unnamed_port_service(backend: EchoBackend) -> list[Obj]:
    """A single-port Service whose port has no name, as most Services are written."""
    svc = service("unnamed")
    del svc["spec"]["ports"][0]["name"]
    endpoints = endpoint_slice("unnamed", backend)
    del endpoints["ports"][0]["name"]
    return [svc, endpoints]


def slice_without_conditions(backend: EchoBackend) -> Obj:
    """An EndpointSlice whose endpoint has no ``conditions``: Kubernetes reads that as ready."""
    endpoints = endpoint_slice("no-conditions", backend)
    del endpoints["endpoints"][0]["conditions"]
    return endpoints


def legacy_endpoints(ready: EchoBackend, unready: EchoBackend) -> Obj:
    """A v1 Endpoints object: ``ready`` among addresses, ``unready`` among notReadyAddresses."""
    return {
        "apiVersion": "v1",
        "kind": "Endpoints",
        "metadata": {"name": "legacy", "namespace": "default"},
        "subsets": [
            {"addresses": [{"ip": ready.address}], "ports": [{"name": "http", "port": ready.port}]},
            {
                "notReadyAddresses": [{"ip": unready.address}],
                "ports": [{"name": "http", "port": unready.port}],
            },
        ],
    }


def manifests(echo: dict[str, EchoBackend]) -> list[Obj]:
    def only(host: str, backend: Obj) -> list[Obj]:
        return [rule(host, path("/", backend))]

    return [
        ingress("backends", rules=[
            *only("named.test", to("named", "http")),
            *only("rr.test", to("rr")),
            *only("mixed.test", to("mixed")),
            *only("none.test", to("none")),
            *only("legacy.test", to("legacy")),
            *only("props.test", to("props")),
            *only("unnamed.test", to("unnamed")),
            *only("no-conditions.test", to("no-conditions")),
            *only("ipv6.test", to("ipv6")),
            *only("port-name-without-service.test", to("absent", "http")),
        ]),
        ingress("web", namespace="alpha", rules=only("alpha.test", to("web"))),
        ingress("web", namespace="beta", rules=only("beta.test", to("web"))),
        *named_port_service(echo),
        service("rr"), endpoint_slice("rr", echo["rr-1"]), endpoint_slice("rr", echo["rr-2"]),
        service("mixed"), endpoint_slice("mixed", echo["mixed-ready"]),
        endpoint_slice("mixed", echo["mixed-unready"], ready=False),
        service("none"), endpoint_slice("none", echo["none-unready"], ready=False),
        *echo_service(echo["alpha-web"], "web", "alpha"),
        *echo_service(echo["beta-web"], "web", "beta"),
        service("legacy"), legacy_endpoints(echo["legacy"], echo["legacy-unready"]),
        *echo_service(echo["props"]),
        *unnamed_port_service(echo["unnamed"]),
        service("no-conditions"), slice_without_conditions(echo["no-conditions"]),
        *echo_service(echo["ipv6"]),
    ]  # fmt: skip


@pytest.fixture(scope="module")
def echo() -> Iterator[dict[str, EchoBackend]]:
    with started_backends(*BACKENDS) as backends, EchoBackend("ipv6", address="::1") as ipv6:
        yield {**backends, "ipv6": ipv6}


@pytest.fixture(scope="module")
def site(echo: dict[str, EchoBackend], nginx_binary: str) -> Iterator[Site]:
    with serving(manifests(echo), binary=nginx_binary) as served:
        yield served


@pytest.fixture(scope="module")
def dns_site(nginx_binary: str) -> Iterator[tuple[Site, DnsStub, dict[str, EchoBackend]]]:
    with DnsStub() as dns, started_backends("ghost", "partner") as echo:
        objects = [
            ingress("by-dns", rules=[
                rule("ghost.test", path("/", to("ghost", echo["ghost"].port))),
                rule("external.test", path("/", to("partner", echo["partner"].port))),
            ]),
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "partner", "namespace": "default"},
                "spec": {"type": "ExternalName", "externalName": "api.partner.example.net"},
            },
        ]  # fmt: skip
        with serving(objects, "--resolver", dns.endpoint, binary=nginx_binary) as served:
            yield served, dns, echo


def backends_seen(site: Site, host: str, count: int = 10) -> list[str | None]:
    """The backend of each of ``count`` requests (status 200 required)."""
    seen = []
    for _ in range(count):
        response = site.get("/", host)
        assert response.status == 200, f"{host}: {response.status}"
        seen.append(response.backend)
    return seen


def test_a_service_port_given_by_name_reaches_the_endpoints_of_that_port(site: Site) -> None:
    assert set(backends_seen(site, "named.test", 4)) == {"named"}


def test_a_service_port_without_a_name_reaches_its_endpoints(site: Site) -> None:
    assert site.served_by("/", "unnamed.test") == "unnamed"


def test_an_endpoint_without_conditions_counts_as_ready(site: Site) -> None:
    assert site.served_by("/", "no-conditions.test") == "no-conditions"


def test_an_ipv6_endpoint_receives_traffic(site: Site) -> None:
    assert site.served_by("/", "ipv6.test") == "ipv6"


def test_a_port_name_without_its_service_answers_503_and_is_reported(site: Site) -> None:
    response = site.get("/", "port-name-without-service.test")
    assert (response.status, response.backend) == (503, None)
    assert "default/absent" in site.messages


def test_every_ready_endpoint_receives_traffic(site: Site) -> None:
    assert set(backends_seen(site, "rr.test")) == {"rr-1", "rr-2"}


def test_a_not_ready_endpoint_never_receives_traffic(
    site: Site, echo: dict[str, EchoBackend]
) -> None:
    assert set(backends_seen(site, "mixed.test")) == {"mixed-ready"}
    assert echo["mixed-unready"].requests == []


def test_a_service_without_ready_endpoints_answers_503_from_nginx(
    site: Site, echo: dict[str, EchoBackend]
) -> None:
    response = site.get("/", "none.test")
    assert (response.status, response.backend) == (503, None)
    assert echo["none-unready"].requests == []
    assert "default/none" in site.messages


def test_one_service_name_in_two_namespaces_is_two_backends(site: Site) -> None:
    assert site.served_by("/", "alpha.test") == "alpha-web"
    assert site.served_by("/", "beta.test") == "beta-web"


def test_endpoints_objects_serve_like_endpoint_slices_ready_addresses_only(
    site: Site, echo: dict[str, EchoBackend]
) -> None:
    assert set(backends_seen(site, "legacy.test")) == {"legacy"}
    assert echo["legacy-unready"].requests == []


def test_a_service_missing_from_the_input_is_resolved_by_dns_at_request_time(
    dns_site: tuple[Site, DnsStub, dict[str, EchoBackend]],
) -> None:
    site, dns, _ = dns_site
    assert site.served_by("/x", "ghost.test") == "ghost"
    assert "ghost.default.svc.cluster.local" in dns.names()


def test_an_external_name_service_proxies_to_its_external_name(
    dns_site: tuple[Site, DnsStub, dict[str, EchoBackend]],
) -> None:
    site, dns, _ = dns_site
    assert site.served_by("/x", "external.test") == "partner"
    assert "api.partner.example.net" in dns.names()


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
def test_the_method_and_body_reach_the_backend_unchanged(site: Site, method: str) -> None:
    body = f"{method} body: a=1&b=%20&c=ü" if method != "GET" else None
    response = site.get("/submit", "props.test", method=method, body=body)
    echoed = response.json()
    assert (response.backend, echoed["method"]) == ("props", method)
    assert echoed["body"] == (body or "")


def test_a_large_request_body_reaches_the_backend_whole(site: Site) -> None:
    body = "0123456789abcdef" * 8192  # 128 KiB: nginx buffers it to a temp file
    response = site.get("/upload", "props.test", method="POST", body=body)
    assert response.status == 200
    assert response.json()["body"] == body


@pytest.mark.parametrize(
    "target",
    [
        "/a%20b/c",
        "/caf%C3%A9/%E2%9C%93?q=a%20b&r=%2F&s=1+2",
        "/x%2Fy/%25/./../z?",
        "/search?q=/foo&q=bar#",
        "/a;b=c/d:e@f!$&'()*+,",
    ],
)
def test_the_raw_path_and_query_reach_the_backend_unchanged(site: Site, target: str) -> None:
    response = site.get(target, "props.test")
    assert (response.status, response.backend) == (200, "props")
    assert response.json()["path"] == target


@pytest.mark.parametrize("host", ["props.test", "props.test:8443", "Props.Test"])
def test_the_original_host_header_reaches_the_backend(site: Site, host: str) -> None:
    assert site.get("/", host).json()["headers"]["host"] == host


def test_forwarding_headers_describe_the_client_request(site: Site) -> None:
    headers = site.get("/", "props.test").json()["headers"]
    assert headers["x-forwarded-for"] == "127.0.0.1"
    assert headers["x-real-ip"] == "127.0.0.1"
    assert headers["x-forwarded-proto"] == "http"
    assert headers["x-forwarded-host"] == "props.test"
    assert headers["x-forwarded-port"] == "80", "the port the Service publishes, not nginx's"


def test_requests_reach_the_backend_over_http_1_1(site: Site) -> None:
    assert site.get("/", "props.test").json()["version"] == "HTTP/1.1"


def test_a_websocket_upgrade_works_end_to_end(site: Site, echo: dict[str, EchoBackend]) -> None:
    reply = websocket_roundtrip(site.port, "/chat", host="props.test", message="ping?")
    assert reply == "props: ping?"
    assert any(recorded.websocket for recorded in echo["props"].requests)
