"""Helpers for ssl-passthrough tests: a TLS echo backend, a TLS client with a chosen source
address, and whether this nginx can load the stream module.

``TLSEchoBackend`` is an ``EchoBackend`` that terminates TLS itself with its own self-signed
certificate: a client that reaches it through nginx's passthrough sees that certificate, and
its echo shows the request exactly as the client sent it (no ``X-Forwarded-*`` headers, which
nginx would have added had it proxied at the HTTP level).
"""

from __future__ import annotations

import functools
import re
import socket
import ssl
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Any, Self

from harness import (
    LOOPBACK,
    EchoBackend,
    PeerCertificate,
    Response,
    _EchoServer,
    _parse_certificate,
    make_self_signed_cert,
    test_config,
)

DEBIAN_MODULES = Path("/usr/lib/nginx/modules")
STREAM_MODULE = "ngx_stream_module.so"


class _TLSEchoServer(_EchoServer):
    """The echo server, each accepted connection wrapped in TLS (handshake in its thread)."""

    def __init__(self, backend: EchoBackend, context: ssl.SSLContext, address: str, port: int):
        self.context = context
        super().__init__(backend, address, port)

    def get_request(self) -> tuple[Any, Any]:
        connection, peer = super().get_request()
        wrapped = self.context.wrap_socket(
            connection, server_side=True, do_handshake_on_connect=False
        )
        return wrapped, peer


class TLSEchoBackend(EchoBackend):
    """An echo backend speaking HTTPS with a fresh self-signed certificate for `hosts`."""

    def __init__(self, name: str, *hosts: str, address: str = LOOPBACK) -> None:
        super().__init__(name, address)
        pair = make_self_signed_cert(*hosts)
        self.certificate_pem = pair.cert_pem
        self._context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        with tempfile.TemporaryDirectory() as scratch:
            cert, key = Path(scratch, "tls.crt"), Path(scratch, "tls.key")
            cert.write_bytes(pair.cert_pem)
            key.write_bytes(pair.key_pem)
            self._context.load_cert_chain(cert, key)

    @property
    def certificate_der(self) -> bytes:
        """The certificate it presents, DER-encoded (what a client sees)."""
        return ssl.PEM_cert_to_DER_cert(self.certificate_pem.decode())

    def start(self) -> Self:
        """Bind and serve HTTPS in a background thread."""
        server = _TLSEchoServer(self, self._context, *self._bind)
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"tls-echo-{self.name}",
            daemon=True,
        )
        self._thread.start()
        return self


def https_request(
    port: int,
    host: str,
    *,
    sni: str | None = None,
    source: str = LOOPBACK,
    path: str = "/",
    timeout: float = 5.0,
) -> Response:
    """GET `path` over TLS to 127.0.0.1:`port` from address `source` (any 127.0.0.0/8 address
    works on Linux), SNI `sni` (default: `host`), without verifying the certificate."""
    import http.client

    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    raw = socket.create_connection((LOOPBACK, port), timeout=timeout, source_address=(source, 0))
    with context.wrap_socket(raw, server_hostname=sni or host) as tls:
        tls.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        der = tls.getpeercert(binary_form=True)
        certificate: PeerCertificate | None = _parse_certificate(der) if der else None
        answer = http.client.HTTPResponse(tls, method="GET")  # type: ignore[arg-type]
        answer.begin()
        body = answer.read()
        answer.close()
    return Response(answer.status, answer.reason, answer.msg, body, certificate)


@functools.cache
def stream_module_arguments(binary: str) -> tuple[list[str] | None, str]:
    """(``--stream-module`` arguments this nginx needs, "") when it can run a stream block
    with ssl_preread; (None, why not) otherwise."""
    built = subprocess.run([binary, "-V"], capture_output=True, text=True, check=False).stderr
    if "--with-stream_ssl_preread_module" not in built:
        return None, f"{binary} was built without the stream ssl_preread module"
    arguments: list[str] = []
    if "--with-stream=dynamic" in built:
        found = re.search(r"--modules-path=(\S+)", built)
        module = Path(found.group(1) if found else DEBIAN_MODULES) / STREAM_MODULE
        if not module.exists():
            return None, (
                f"the stream module of {binary} is dynamic and {module} is not installed"
                " (Debian: apt-get install libnginx-mod-stream; scripts/test.sh does)"
            )
        arguments = ["--stream-module", str(module)]
    elif not re.search(r"--with-stream(\s|$)", built):
        return None, f"{binary} was built without the stream module"
    load = f"load_module {arguments[1]};\n" if arguments else ""
    probe = load + "events {}\nstream { map $ssl_preread_server_name $x { default a; } }\n"
    accepted, output = test_config(probe, binary=binary)
    if not accepted:
        return None, f"{binary} cannot load the stream module: {output.strip()}"
    return arguments, ""
