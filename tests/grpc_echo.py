"""A gRPC echo backend and a gRPC client call, for end-to-end tests of GRPCRoutes.

``GrpcEchoBackend`` is a real gRPC server (grpcio) on loopback, over h2c or, given a
certificate, over TLS. It answers every unary method, whatever its name, with a JSON message
naming itself, the method path it was called with, the metadata (request headers) it received
and the request message; ``calls`` records each call. It duck-types the ``EchoBackend``
attributes e2e.py's Service and EndpointSlice builders read (``name``, ``address``, ``port``)::

    with GrpcEchoBackend("greeter") as greeter:
        answer = grpc_call(port, "/helloworld.Greeter/SayHello", host="grpc.test")
        assert answer.json()["backend"] == "greeter"

The messages are raw bytes (no protobuf): gRPC's framing, HTTP/2 and status handling are the
real thing, which is what nginx's ``grpc_pass`` must carry.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from concurrent import futures
from dataclasses import dataclass, field
from typing import Any, Self

import grpc
from harness import LOOPBACK, CertificatePair

CALL_TIMEOUT = 5.0
"""Seconds a test's call may take before it fails (bounded, not a timing assertion)."""


@dataclass(frozen=True)
class GrpcCall:
    """One call as a ``GrpcEchoBackend`` received it."""

    method: str
    """The method path, ``/<service>/<method>``."""
    metadata: dict[str, str]
    """Request headers as gRPC metadata (lowercase names; the last value of a repeated one)."""
    message: bytes


@dataclass(frozen=True)
class GrpcAnswer:
    """What the client got: the status code, the message, the response headers."""

    code: grpc.StatusCode
    message: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    details: str = ""

    def json(self) -> dict[str, Any]:
        """The echo backend's description of the call."""
        answer: dict[str, Any] = json.loads(self.message)
        return answer

    @property
    def backend(self) -> str | None:
        """The echo backend that answered; None when none did."""
        return self.json()["backend"] if self.code is grpc.StatusCode.OK else None


class _Handler(grpc.GenericRpcHandler):
    def __init__(self, backend: GrpcEchoBackend) -> None:
        self._backend = backend

    def service(self, details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler:
        method = str(details.method)

        def answer(message: bytes, context: grpc.ServicerContext) -> bytes:
            return self._backend.answer(method, message, context)

        return grpc.unary_unary_rpc_method_handler(answer)


class GrpcEchoBackend:
    """A gRPC echo server on loopback that says who it is (h2c, or TLS with `certificate`)."""

    def __init__(self, name: str, certificate: CertificatePair | None = None) -> None:
        self.name = name
        self.calls: list[GrpcCall] = []
        self._certificate = certificate
        self._server: grpc.Server | None = None
        self._port = 0
        self._lock = threading.Lock()

    def start(self) -> Self:
        """Bind a free loopback port and serve; returns ``self``."""
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=8), handlers=[_Handler(self)])
        address = f"{LOOPBACK}:0"
        if self._certificate is None:
            self._port = server.add_insecure_port(address)
        else:
            pair = [(self._certificate.key_pem, self._certificate.cert_pem)]
            self._port = server.add_secure_port(address, grpc.ssl_server_credentials(pair))
        server.start()
        self._server = server
        return self

    def close(self) -> None:
        """Stop serving (calls in flight are cut)."""
        server, self._server = self._server, None
        if server is not None:
            server.stop(grace=None).wait(CALL_TIMEOUT)

    def answer(self, method: str, message: bytes, context: grpc.ServicerContext) -> bytes:
        """Record the call and describe it."""
        metadata = {key: str(value) for key, value in context.invocation_metadata()}
        with self._lock:
            self.calls.append(GrpcCall(method, metadata, message))
        context.send_initial_metadata((("x-echo-backend", self.name),))
        described = {"backend": self.name, "method": method, "metadata": metadata,
                     "message": message.decode("utf-8", "replace")}  # fmt: skip
        return json.dumps(described).encode()

    def calls_with(self, key: str, value: str) -> list[GrpcCall]:
        """The calls carrying metadata `key` = `value`."""
        with self._lock:
            return [call for call in self.calls if call.metadata.get(key) == value]

    @property
    def address(self) -> str:
        return LOOPBACK

    @property
    def port(self) -> int:
        return self._port

    @property
    def endpoint(self) -> str:
        return f"{LOOPBACK}:{self._port}"

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def grpc_call(
    port: int,
    method: str,
    host: str,
    *,
    metadata: Sequence[tuple[str, str]] = (),
    ca_pem: bytes | None = None,
    message: bytes = b"ping",
) -> GrpcAnswer:
    """Call unary `method` (``/<service>/<method>``) through ``127.0.0.1:port`` with
    ``:authority`` `host`: h2c with prior knowledge, or TLS (SNI `host`) trusting `ca_pem`."""
    options: list[tuple[str, Any]] = [("grpc.default_authority", host),
                                      ("grpc.enable_http_proxy", 0)]  # fmt: skip
    target = f"{LOOPBACK}:{port}"
    if ca_pem is None:
        channel = grpc.insecure_channel(target, options=options)
    else:
        options.append(("grpc.ssl_target_name_override", host))
        credentials = grpc.ssl_channel_credentials(root_certificates=ca_pem)
        channel = grpc.secure_channel(target, credentials, options=options)
    with channel:
        call: Callable[..., Any] = channel.unary_unary(method)
        try:
            response, outcome = call.with_call(message, metadata=metadata, timeout=CALL_TIMEOUT)
        except grpc.RpcError as error:
            headers = {key: str(value) for key, value in error.initial_metadata() or ()}
            return GrpcAnswer(error.code(), b"", headers, error.details() or "")
        headers = {key: str(value) for key, value in outcome.initial_metadata() or ()}
        return GrpcAnswer(grpc.StatusCode.OK, response, headers)
