"""GRPCRoutes through real nginx, with a real gRPC client and real gRPC servers (grpcio).

What the GRPCRoute specification asks: a call reaches the backend of the match with the most
characters of service, then of method, then the most header matches; an unusable backendRef
answers UNAVAILABLE; weighted backendRefs share the calls; filters change the request and
response headers and mirror calls; HTTPS listeners speak HTTP/2 by ALPN and plain HTTP
listeners h2c with prior knowledge, beside HTTP/1.1 on the same port (nginx 1.25.1 and later:
the current nginx); an HTTPRoute and a GRPCRoute overlapping on a listener serve the older.
Backends are passed with ``grpc_pass``, over TLS when the Service port's appProtocol says so.
"""

from __future__ import annotations

import base64
import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from e2e import Site, echo_service, endpoint_slice, service, serving, started_backends
from gateway_objects import backend_ref, gateway, grpc_route, http_route, listener, method_match
from gateway_objects import parent as parent_ref
from gateway_objects import route_rule as rule
from golden_cases import run_cli
from grpc_echo import GrpcEchoBackend, grpc_call
from harness import free_port, make_self_signed_cert
from test_mainline_nginx import find_mainline_nginx, version_of
from tls_secrets import tls_secret

GRPC_HOST = "grpc.test"
GRPC_BACKENDS = ("greeter", "canary", "fallback", "checker", "regex", "copy")
EDGE = [parent_ref("edge")]


def _grpc_service(backend: GrpcEchoBackend, app_protocol: str | None = None) -> list[Any]:
    made = service(backend.name)
    if app_protocol is not None:
        made["spec"]["ports"][0]["appProtocol"] = app_protocol
    return [made, endpoint_slice(backend.name, backend)]  # type: ignore[arg-type]


def _routes(https: bool) -> list[dict[str, Any]]:
    headers = {
        "type": "RequestHeaderModifier",
        "requestHeaderModifier": {"set": [{"name": "x-added", "value": "yes"}]},
    }
    answer = {
        "type": "ResponseHeaderModifier",
        "responseHeaderModifier": {"add": [{"name": "x-served-by", "value": "gateway"}]},
    }
    mirror = {"type": "RequestMirror", "requestMirror": {"backendRef": backend_ref("copy")}}
    canary = [{"name": "x-canary", "value": "yes"}]
    rules = [
        rule([method_match("helloworld.Greeter", "SayHello")], [backend_ref("greeter")],
             filters=[headers, answer]),
        rule([method_match("helloworld.Greeter", headers=canary)], [backend_ref("canary")]),
        rule([method_match("helloworld.Greeter")], [backend_ref("fallback")]),
        rule([method_match(method="Check")], [backend_ref("checker")]),
        rule([method_match(headers=canary)], [backend_ref("canary")]),
        rule([method_match(r"grpc\.reflection\..*", kind="RegularExpression")],
             [backend_ref("regex")]),
        rule([method_match("broken.Svc")], [backend_ref("absent")]),
        rule([method_match("split.Svc")], [backend_ref("greeter"), backend_ref("canary")]),
        rule([method_match("secure.Svc")], [backend_ref("secure")]),
        rule([method_match("mirrored.Svc")], [backend_ref("greeter")], filters=[mirror]),
    ]  # fmt: skip
    listeners = [listener("http", 80)]
    if https:
        listeners.append(listener("https", 443, secret="edge-tls"))
    return [
        gateway("edge", class_name="nginx", listeners=listeners),
        grpc_route("greeter", parents=EDGE, hostnames=[GRPC_HOST], rules=rules,
                   created="2026-01-01T00:00:00Z"),
        http_route("web", parents=EDGE, hostnames=["web.test"],
                   rules=[rule(None, [backend_ref("web")])], created="2026-01-01T00:00:00Z"),
        http_route("late", parents=EDGE, hostnames=[GRPC_HOST],
                   rules=[rule(None, [backend_ref("web")])], created="2026-06-01T00:00:00Z"),
        grpc_route("young", parents=EDGE, hostnames=["web.test"],
                   rules=[rule(None, [backend_ref("greeter")])], created="2026-07-01T00:00:00Z"),
    ]  # fmt: skip


@pytest.fixture(scope="module")
def edge_secret() -> dict[str, Any]:
    return tls_secret("default", "edge-tls", [GRPC_HOST, "web.test"])


@pytest.fixture(scope="module")
def ca_pem(edge_secret: dict[str, Any]) -> bytes:
    return base64.b64decode(edge_secret["data"]["tls.crt"])


@pytest.fixture(scope="module")
def backends() -> Iterator[dict[str, GrpcEchoBackend]]:
    secure_pair = make_self_signed_cert("secure.test", "127.0.0.1")
    with contextlib.ExitStack() as stack:
        found = {name: stack.enter_context(GrpcEchoBackend(name)) for name in GRPC_BACKENDS}
        found["secure"] = stack.enter_context(GrpcEchoBackend("secure", secure_pair))
        yield found


@pytest.fixture(scope="module")
def services(backends: dict[str, GrpcEchoBackend]) -> Iterator[list[Any]]:
    made = _grpc_service(backends["secure"], "grpcs")
    for name in GRPC_BACKENDS:
        made += _grpc_service(backends[name], "kubernetes.io/h2c")
    with started_backends("web") as echo:
        yield [*made, *echo_service(echo["web"])]


@pytest.fixture(scope="module")
def site(services: list[Any]) -> Iterator[Site]:
    """The current nginx, told its version, on a plain HTTP listener only: h2c beside
    HTTP/1.1 on one port (no HTTPS anywhere, which would turn HTTP/2 on by itself)."""
    binary = find_mainline_nginx()
    objects = [*_routes(https=False), *services]
    with serving(objects, "--nginx-version", version_of(binary), binary=binary) as served:
        yield served


def call(site: Site, method: str, *metadata: tuple[str, str]) -> Any:
    return grpc_call(site.port, method, GRPC_HOST, metadata=metadata)


def test_a_service_and_method_match_is_proxied_over_h2c(site: Site) -> None:
    answer = call(site, "/helloworld.Greeter/SayHello", ("x-canary", "yes"))
    assert answer.backend == "greeter", "an Exact service and method comes first"
    assert answer.json()["method"] == "/helloworld.Greeter/SayHello"
    assert answer.json()["metadata"]["x-added"] == "yes"
    assert answer.headers["x-served-by"] == "gateway"
    assert "http2 on;" in site.rendered.config


def test_a_service_match_takes_its_methods_and_headers_choose_among_them(site: Site) -> None:
    assert call(site, "/helloworld.Greeter/Other", ("x-canary", "yes")).backend == "canary"
    assert call(site, "/helloworld.Greeter/Other").backend == "fallback"
    assert call(site, "/helloworld.GreeterV2/Check").backend == "checker", "element-wise"


def test_a_method_match_and_a_regex_match_take_any_service_they_fit(site: Site) -> None:
    assert call(site, "/any.Service/Check").backend == "checker"
    assert call(site, "/any.Service/Check", ("x-canary", "yes")).backend == "checker", (
        "method characters count before header matches"
    )
    assert call(site, "/any.Service/Other", ("x-canary", "yes")).backend == "canary"
    assert call(site, "/grpc.reflection.v1.ServerReflection/Info").backend == "regex"


def test_a_call_no_rule_matches_is_unimplemented(site: Site) -> None:
    assert call(site, "/any.Service/Nope").code is grpc.StatusCode.UNIMPLEMENTED


def test_an_unusable_backend_ref_answers_unavailable(site: Site) -> None:
    assert call(site, "/broken.Svc/Do").code is grpc.StatusCode.UNAVAILABLE
    assert "BackendNotFound" in site.messages


def test_weighted_backend_refs_share_the_calls(site: Site) -> None:
    seen = {call(site, "/split.Svc/Do").backend for _ in range(40)}
    assert seen == {"greeter", "canary"}


def test_a_backend_whose_app_protocol_says_tls_is_reached_over_tls(site: Site) -> None:
    assert call(site, "/secure.Svc/Do").backend == "secure"
    assert "grpc_pass grpcs://" in site.rendered.config


def test_a_mirror_gets_a_copy_of_each_call_and_the_client_the_main_answer(
    site: Site, backends: dict[str, GrpcEchoBackend]
) -> None:
    assert call(site, "/mirrored.Svc/Do", ("x-probe", "m1")).backend == "greeter"
    for _ in range(100):  # the copy is sent in the background: wait for it, boundedly
        copies = backends["copy"].calls_with("x-probe", "m1")
        if copies:
            break
        time.sleep(0.05)
    assert [copy.method for copy in copies] == ["/mirrored.Svc/Do"]


def test_http_1_1_clients_are_served_beside_h2c_on_the_same_port(site: Site) -> None:
    response = site.get("/page", "web.test")
    assert (response.status, response.backend) == (200, "web")
    assert response.json()["version"] == "HTTP/1.1"


def test_of_an_http_route_and_a_grpc_route_overlapping_the_older_is_served(site: Site) -> None:
    assert "HTTPRoute default/late" not in site.rendered.config
    assert "GRPCRoute default/young" not in site.rendered.config
    assert site.get("/", GRPC_HOST).status == 404, "the younger HTTPRoute is not served"
    assert site.get("/", "web.test").backend == "web", "the older HTTPRoute is"
    assert "overlap those of GRPCRoute default/greeter" in site.messages
    assert "overlap those of HTTPRoute default/web" in site.messages


@pytest.fixture(scope="module")
def stable_https_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def stable_site(
    nginx_binary: str, services: list[Any], edge_secret: dict[str, Any], stable_https_port: int
) -> Iterator[Site]:
    """Debian stable's nginx, with the default (1.22) syntax: no h2c beside HTTP/1.1, and an
    HTTPS listener too."""
    objects = [*_routes(https=True), edge_secret, *services]
    port = str(stable_https_port)
    with serving(objects, "--https-port", port, binary=nginx_binary) as served:
        yield served


def test_an_https_listener_serves_grpc_over_http2_by_alpn(
    stable_site: Site, stable_https_port: int, ca_pem: bytes
) -> None:
    answer = grpc_call(stable_https_port, "/helloworld.Greeter/SayHello", GRPC_HOST, ca_pem=ca_pem)
    assert answer.backend == "greeter"
    assert answer.json()["metadata"]["x-added"] == "yes"


def test_for_an_older_nginx_grpc_is_served_on_https_listeners_only(
    stable_site: Site, stable_https_port: int, ca_pem: bytes
) -> None:
    answer = grpc_call(stable_https_port, "/helloworld.Greeter/Other", GRPC_HOST, ca_pem=ca_pem)
    assert answer.backend == "fallback"
    assert "needs h2c beside HTTP/1.1" in stable_site.messages
    assert "http2 on;" not in stable_site.rendered.config
    response = stable_site.get("/page", "web.test")
    assert (response.status, response.backend) == (200, "web"), "HTTP/1.1 is untouched"
    plain = grpc_call(stable_site.port, "/helloworld.Greeter/Other", GRPC_HOST)
    assert plain.code is not grpc.StatusCode.OK


def test_check_and_explain_name_grpc_routes() -> None:
    case = Path(__file__).parent / "golden" / "gateway-grpc" / "gateway.yaml"
    checked = run_cli(["check", str(case)])
    assert "0 Ingress(es) and 1 GRPCRoute(s) would be served" in checked.messages
    explained = run_cli(["explain", str(case)]).config
    assert "/helloworld.Greeter/SayHello  Exact" in explained
    assert "GRPCRoute default/greeter spec.rules[0].matches[0]" in explained
