"""Helpers for the authentication end-to-end tests: a CA, an HTTPS echo backend, an auth
service, Secrets, password hashes, and serving a config over HTTP and HTTPS.

nginx reads ``auth_basic_user_file`` in its worker processes at each request. Run as root
(as in CI containers), nginx's workers run as ``nobody``; ingress2nginx, run as root too,
gives those files to the workers' group by itself (workers.py), so nothing here touches the
files it wrote.
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import hashlib
import http.client
import json
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from e2e import Obj, Site, render
from harness import LOOPBACK, CertificatePair, EchoBackend, Nginx, free_port, make_prefix
from harness import _EchoServer as EchoServer  # the echo server, wrapped in TLS below

# --------------------------------------------------------------------------- certificates


class CertificateAuthority:
    """A test CA issuing server and client certificates (EC P-256)."""

    def __init__(self, name: str = "ingress2nginx test CA") -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        now = datetime.datetime.now(datetime.UTC)
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self.key, hashes.SHA256())
        )

    @property
    def pem(self) -> bytes:
        """The CA certificate (what goes into ``ca.crt``)."""
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    def issue(self, common_name: str, *names: str, client: bool = False) -> CertificatePair:
        """A certificate for `common_name` (and SAN `names`), for a server or a client."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        usage = ExtendedKeyUsageOID.CLIENT_AUTH if client else ExtendedKeyUsageOID.SERVER_AUTH
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
            .issuer_name(self.certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        )
        if not client:
            sans = [x509.DNSName(name) for name in (common_name, *names)]
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        certificate = builder.sign(self.key, hashes.SHA256())
        return CertificatePair(
            certificate.public_bytes(serialization.Encoding.PEM),
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
        )


# --------------------------------------------------------------------------- HTTPS echo


class _TlsEchoServer(EchoServer):
    """The harness's echo server, speaking TLS on every accepted connection."""

    def __init__(self, backend: EchoBackend, address: str, port: int, context: Any) -> None:
        self.context = context
        super().__init__(backend, address, port)

    def get_request(self) -> tuple[socket.socket, Any]:
        connection, peer = super().get_request()
        wrapped = self.context.wrap_socket(
            connection, server_side=True, do_handshake_on_connect=False
        )
        return wrapped, peer


class TlsEchoBackend(EchoBackend):
    """An ``EchoBackend`` over HTTPS with `certificate`; with `client_ca`, it asks for a
    client certificate signed by that CA and refuses the handshake without one."""

    def __init__(
        self, name: str, certificate: CertificatePair, client_ca: bytes | None = None
    ) -> None:
        super().__init__(name)
        self._scratch = Path(tempfile.mkdtemp(prefix="tls-echo-"))
        (self._scratch / "cert.pem").write_bytes(certificate.cert_pem)
        (self._scratch / "key.pem").write_bytes(certificate.key_pem)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self._scratch / "cert.pem", self._scratch / "key.pem")
        if client_ca is not None:
            context.load_verify_locations(cadata=client_ca.decode())
            context.verify_mode = ssl.CERT_REQUIRED
        self._context = context

    def start(self) -> TlsEchoBackend:
        self._server = _TlsEchoServer(self, *self._bind, self._context)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"tls-echo-{self.name}",
            daemon=True,
        )
        self._thread.start()
        return self

    def close(self) -> None:
        super().close()
        shutil.rmtree(self._scratch, ignore_errors=True)


# --------------------------------------------------------------------------- auth service


@dataclass
class AuthService:
    """An external auth service on loopback, answering by the request's ``X-Token``:
    ``good`` -> 200 with ``X-Auth-User``/``X-Auth-Email`` and a cookie (none under ``/cached``:
    nginx does not cache answers setting one); ``forbidden`` -> 403;
    anything else -> 401 with ``WWW-Authenticate: Bearer``. Every request is recorded."""

    requests: list[dict[str, Any]] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    def __enter__(self) -> AuthService:
        service = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def __getattr__(self, name: str) -> Any:
                if name.startswith("do_"):
                    return self.answer
                raise AttributeError(name)

            def answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {name.lower(): value for name, value in self.headers.items()}
                service.requests.append(
                    {"method": self.command, "path": self.path, "headers": headers, "body": body}
                )
                token = headers.get("x-token", "")
                status = {"good": 200, "forbidden": 403}.get(token, 401)
                self.send_response(status)
                if status == 200:
                    self.send_header("X-Auth-User", "alice")
                    self.send_header("X-Auth-Email", "alice@example.com")
                    if not self.path.startswith("/cached"):  # nginx caches no Set-Cookie
                        self.send_header("Set-Cookie", "auth_session=fresh; Path=/")
                if status == 401:
                    self.send_header("WWW-Authenticate", 'Bearer realm="test"')
                payload = json.dumps({"status": status}).encode()
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self._server = ThreadingHTTPServer((LOOPBACK, 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://{LOOPBACK}:{self._server.server_address[1]}"


# --------------------------------------------------------------------------- manifests


def secret(
    name: str, data: Mapping[str, bytes | str], namespace: str = "default", kind: str = "Opaque"
) -> Obj:
    """A Secret with `data` base64-encoded, as the API returns it."""
    encoded = {
        key: base64.b64encode(value.encode() if isinstance(value, str) else value).decode()
        for key, value in data.items()
    }
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace},
        "type": kind,
        "data": encoded,
    }


def basic_credentials(user: str, password: str) -> dict[str, str]:
    """The Authorization header of HTTP basic authentication."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def openssl_hash(kind: str, password: str) -> str:
    """``openssl passwd -<kind>`` (apr1, 1, 5, 6) of `password`."""
    done = subprocess.run(
        ["openssl", "passwd", f"-{kind}", "-stdin"],
        input=password,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def sha_hash(password: str) -> str:
    """nginx's ``{SHA}`` format: base64 of the SHA-1 digest."""
    return "{SHA}" + base64.b64encode(hashlib.sha1(password.encode()).digest()).decode()


def ssha_hash(password: str, salt: bytes = b"pepper!!") -> str:
    """nginx's ``{SSHA}`` format: base64 of SHA-1(password + salt) + salt."""
    digest = hashlib.sha1(password.encode() + salt).digest()
    return "{SSHA}" + base64.b64encode(digest + salt).decode()


def crypt_hash(password: str, salt: str) -> str | None:
    """The system crypt() of `password` with `salt` (bcrypt ``$2b$``, yescrypt ``$y$``...);
    None when Python or the C library cannot make one."""
    with contextlib.suppress(ImportError, OSError):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            import crypt

        found: str | None = crypt.crypt(password, salt)
        return found if found and found.startswith(salt[:3]) else None
    return None


# --------------------------------------------------------------------------- serving


@contextlib.contextmanager
def serving_readable(
    objects: Iterable[Obj],
    *args: str,
    binary: str,
    expected_code: int = 0,
    https_port: int | None = None,
) -> Iterator[Site]:
    """As ``e2e.serving``, and HTTPS on `https_port` when given."""
    prefix = make_prefix()
    port = free_port()
    try:
        listen = ["--listen-address", LOOPBACK, "--http-port", str(port)]
        if https_port is not None:
            listen += ["--https-port", str(https_port)]
        rendered = render(objects, *listen, "--runtime-dir", str(prefix), *args)
        if rendered.code != expected_code:
            pytest.fail(f"render exited {rendered.code}:\n{rendered.messages}", pytrace=False)
        ports = [port] if https_port is None else [port, https_port]
        with Nginx(rendered.config, ports, prefix=prefix, binary=binary) as nginx:
            yield Site(port, rendered, nginx)
    finally:
        shutil.rmtree(prefix, ignore_errors=True)


@dataclass(frozen=True)
class TlsAnswer:
    """An HTTPS response, as `tls_get` received it."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def tls_get(
    port: int,
    target: str,
    host: str,
    client: CertificatePair | None = None,
    headers: Mapping[str, str] | None = None,
) -> TlsAnswer:
    """GET over TLS to loopback with SNI `host`, presenting `client` when given (the server's
    certificate is not checked: the tests are about the client's)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with tempfile.TemporaryDirectory(prefix="tls-client-") as scratch:
        if client is not None:
            (Path(scratch) / "c.pem").write_bytes(client.cert_pem)
            (Path(scratch) / "k.pem").write_bytes(client.key_pem)
            context.load_cert_chain(Path(scratch) / "c.pem", Path(scratch) / "k.pem")
        with (
            socket.create_connection((LOOPBACK, port), timeout=5) as raw,
            context.wrap_socket(raw, server_hostname=host) as sock,
        ):
            fields = {"Host": host, "Connection": "close", **(headers or {})}
            head = f"GET {target} HTTP/1.1\r\n" + "".join(
                f"{name}: {value}\r\n" for name, value in fields.items()
            )
            sock.sendall(head.encode() + b"\r\n")
            answer = http.client.HTTPResponse(sock, method="GET")  # type: ignore[arg-type]
            answer.begin()
            body = answer.read()
    return TlsAnswer(answer.status, {k.lower(): v for k, v in answer.getheaders()}, body)
