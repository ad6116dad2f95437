"""An Ingress with ``backend-protocol: GRPC`` (or ``GRPCS``) through real nginx, called by a
real gRPC client over HTTPS (HTTP/2 by ALPN) and answered by a real gRPC server: the config
ingress-nginx users migrate with carries gRPC calls, metadata and status as it did."""

from __future__ import annotations

import base64
import contextlib
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from e2e import Site, endpoint_slice, ingress, path, rule, service, serving, to
from grpc_echo import GrpcEchoBackend, grpc_call
from harness import free_port, make_self_signed_cert
from tls_secrets import tls_secret

HOST = "grpc.test"
PROTOCOL = "nginx.ingress.kubernetes.io/backend-protocol"


@pytest.fixture(scope="module")
def secret() -> dict[str, Any]:
    return tls_secret("default", "grpc-tls", [HOST])


@pytest.fixture(scope="module")
def https_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def site(nginx_binary: str, secret: dict[str, Any], https_port: int) -> Iterator[Site]:
    with contextlib.ExitStack() as stack:
        plain = stack.enter_context(GrpcEchoBackend("plain"))
        tls = stack.enter_context(GrpcEchoBackend("tls", make_self_signed_cert("127.0.0.1")))
        routes = [
            ingress("h2c", rules=[rule(HOST, path("/plain.Svc", to("plain")))],
                    annotations={PROTOCOL: "GRPC"}),
            ingress("tls", rules=[rule(HOST, path("/tls.Svc", to("tls")))],
                    annotations={PROTOCOL: "GRPCS"}),
        ]  # fmt: skip
        for route in routes:
            route["spec"]["tls"] = [{"hosts": [HOST], "secretName": "grpc-tls"}]
        objects: list[Any] = [*routes, secret]
        for backend in (plain, tls):
            objects += [service(backend.name), endpoint_slice(backend.name, backend)]  # type: ignore[arg-type]
        with serving(objects, "--https-port", str(https_port), binary=nginx_binary) as served:
            yield served


def test_grpc_and_grpcs_backends_answer_calls_over_https(
    site: Site, secret: dict[str, Any], https_port: int
) -> None:
    ca_pem = base64.b64decode(secret["data"]["tls.crt"])
    answer = grpc_call(https_port, "/plain.Svc/Do", HOST, ca_pem=ca_pem, metadata=[("x-a", "1")])
    assert answer.backend == "plain"
    assert answer.json()["metadata"]["x-a"] == "1"
    assert answer.json()["metadata"]["x-forwarded-proto"] == "https"
    assert grpc_call(https_port, "/tls.Svc/Do", HOST, ca_pem=ca_pem).backend == "tls"
    missing = grpc_call(https_port, "/other.Svc/Do", HOST, ca_pem=ca_pem)
    assert missing.code is grpc.StatusCode.UNIMPLEMENTED, "nginx's 404"
